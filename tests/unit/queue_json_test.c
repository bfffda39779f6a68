/* queue_json_test.c - unit tests for common/queue_json.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "errors.h"
#include "queue_json.h"

/* 2025-11-26 10:30:00.123 UTC */
#define T_MS INT64_C(1764153000123)

static int use_utc(void **state) {
  (void)state;
  setenv("TZ", "UTC", 1);
  tzset();
  return 0;
}

static lsys_record sample(void) {
  lsys_record r = {
      .level = 9,
      .level_name = "Error",
      .program_name = "api_server",
      .def_name = "process_order",
      .message = "order 42 failed",
      .extra_info = "retry=3",
      .hash = "h-0001",
      .log_id = "01JDZ5Q4M7Y3",
      .time_unix_ms = T_MS,
  };
  return r;
}

/* parse parses text (n bytes) and checks it is one JSON object. */
static cJSON *parse(const char *text, size_t n) {
  assert_int_equal(strlen(text), n);
  cJSON *obj = cJSON_ParseWithLength(text, n);
  assert_non_null(obj);
  assert_true(cJSON_IsObject(obj));
  return obj;
}

/* expect_keys checks that obj has exactly the keys in order. */
static void expect_keys(const cJSON *obj, const char *const *keys, size_t n) {
  const cJSON *it = obj->child;
  for (size_t i = 0; i < n; i++, it = it->next) {
    assert_non_null(it);
    assert_string_equal(it->string, keys[i]);
  }
  assert_null(it);
}

static void expect_str(const cJSON *obj, const char *key, const char *want) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  assert_non_null(v);
  assert_true(cJSON_IsString(v));
  assert_string_equal(v->valuestring, want);
}

static void test_timestamp_utc(void **state) {
  (void)state;
  char buf[20];
  lsys_qjson_timestamp(T_MS, buf);
  assert_string_equal(buf, "2025-11-26 10:30:00");
  lsys_qjson_timestamp(0, buf);
  assert_string_equal(buf, "1970-01-01 00:00:00");
  lsys_qjson_timestamp(999, buf);
  assert_string_equal(buf, "1970-01-01 00:00:00");
  lsys_qjson_timestamp(-1, buf); /* floors to the earlier second */
  assert_string_equal(buf, "1969-12-31 23:59:59");
  lsys_qjson_timestamp(INT64_MAX, buf); /* out of range keeps the shape */
  assert_int_equal(strlen(buf), 19);
}

static void test_timestamp_local_time(void **state) {
  (void)state;
  char buf[20];
  setenv("TZ", "CST-8", 1); /* POSIX form of UTC+8 (Taipei), needs no zone database */
  tzset();
  lsys_qjson_timestamp(T_MS, buf);
  setenv("TZ", "UTC", 1);
  tzset();
  assert_string_equal(buf, "2025-11-26 18:30:00");
}

static void test_logbeacon_keys_and_values(void **state) {
  (void)state;
  lsys_record r = sample();
  char *out = NULL;
  size_t n = 0;
  assert_int_equal(lsys_qjson_logbeacon(&r, "example.com", &out, &n), LSYS_OK);
  cJSON *obj = parse(out, n);
  static const char *const keys[] = {"domain",    "program_name", "level",  "def_name",
                                     "message",   "extra_info",   "timestamp", "hash",
                                     "log_id",    "level_no",     "time_unix_ms"};
  expect_keys(obj, keys, sizeof keys / sizeof keys[0]);
  expect_str(obj, "domain", "example.com");
  expect_str(obj, "program_name", "api_server");
  expect_str(obj, "level", "Error");
  expect_str(obj, "def_name", "process_order");
  expect_str(obj, "message", "order 42 failed");
  expect_str(obj, "extra_info", "retry=3");
  expect_str(obj, "timestamp", "2025-11-26 10:30:00");
  expect_str(obj, "hash", "h-0001");
  expect_str(obj, "log_id", "01JDZ5Q4M7Y3");
  const cJSON *lv = cJSON_GetObjectItemCaseSensitive(obj, "level_no");
  assert_true(cJSON_IsNumber(lv));
  assert_int_equal(lv->valueint, 9);
  const cJSON *ms = cJSON_GetObjectItemCaseSensitive(obj, "time_unix_ms");
  assert_true(cJSON_IsNumber(ms));
  assert_true(ms->valuedouble == (double)T_MS);
  /* Exact digits in the text, no exponent form. */
  assert_non_null(strstr(out, "\"time_unix_ms\":1764153000123}"));
  assert_non_null(strstr(out, "\"level_no\":9,"));
  cJSON_Delete(obj);
  free(out);
}

static void test_logbeacon_escaping(void **state) {
  (void)state;
  lsys_record r = sample();
  r.message = "say \"hi\" \\ path C:\\x\nline2\tcol\x01 end";
  r.extra_info = "日誌 \xf0\x9f\x9a\x80 測試";
  r.def_name = "</script>";
  char *out = NULL;
  size_t n = 0;
  assert_int_equal(lsys_qjson_logbeacon(&r, "例子.tw", &out, &n), LSYS_OK);
  /* The raw text has no raw control characters. */
  for (size_t i = 0; i < n; i++)
    assert_true((unsigned char)out[i] >= 0x20);
  assert_non_null(strstr(out, "\\\"hi\\\""));
  assert_non_null(strstr(out, "\\n"));
  assert_non_null(strstr(out, "\\t"));
  assert_non_null(strstr(out, "\\u0001"));
  /* UTF-8 passes through unescaped. */
  assert_non_null(strstr(out, "日誌 \xf0\x9f\x9a\x80 測試"));
  cJSON *obj = parse(out, n);
  expect_str(obj, "message", r.message);
  expect_str(obj, "extra_info", r.extra_info);
  expect_str(obj, "def_name", "</script>");
  expect_str(obj, "domain", "例子.tw");
  cJSON_Delete(obj);
  free(out);
}

static void test_logbeacon_null_fields(void **state) {
  (void)state;
  lsys_record r = sample();
  r.extra_info = NULL;
  r.hash = NULL;
  char *out = NULL;
  size_t n = 0;
  assert_int_equal(lsys_qjson_logbeacon(&r, NULL, &out, &n), LSYS_OK);
  cJSON *obj = parse(out, n);
  expect_str(obj, "extra_info", "");
  expect_str(obj, "hash", "");
  expect_str(obj, "domain", "");
  cJSON_Delete(obj);
  free(out);
  assert_int_equal(lsys_qjson_logbeacon(NULL, "d", &out, &n), LSYS_EINVAL);
  assert_int_equal(lsys_qjson_logbeacon(&r, "d", NULL, &n), LSYS_EINVAL);
}

static void test_tg_without_credentials(void **state) {
  (void)state;
  lsys_record r = sample();
  char *out = NULL;
  size_t n = 0;
  const char *msg = "時間: 2025-11-26 10:30:00\n訊息: \"boom\" <b>&";
  assert_int_equal(lsys_qjson_tg(&r, "developer", msg, NULL, NULL, &out, &n), LSYS_OK);
  cJSON *obj = parse(out, n);
  static const char *const keys[] = {"type", "notify_msg", "timestamp", "hash", "log_id",
                                     "notify_key"};
  expect_keys(obj, keys, 6);
  expect_str(obj, "type", "developer");
  expect_str(obj, "notify_msg", msg);
  expect_str(obj, "timestamp", "2025-11-26 10:30:00");
  expect_str(obj, "hash", "h-0001");
  expect_str(obj, "log_id", "01JDZ5Q4M7Y3");
  cJSON_Delete(obj);
  free(out);

  /* Only one of the two credentials: still none embedded. */
  assert_int_equal(lsys_qjson_tg(&r, "customer", msg, "123:ABC", NULL, &out, &n), LSYS_OK);
  assert_null(strstr(out, "tg_token"));
  assert_null(strstr(out, "123:ABC"));
  free(out);
  assert_int_equal(lsys_qjson_tg(&r, "customer", msg, NULL, "-100", &out, &n), LSYS_OK);
  assert_null(strstr(out, "tg_chatid"));
  free(out);
}

static void test_tg_with_credentials(void **state) {
  (void)state;
  lsys_record r = sample();
  char *out = NULL;
  size_t n = 0;
  assert_int_equal(
      lsys_qjson_tg(&r, "customer", "m", "123456:ABC-def", "-1001234567890123", &out, &n), LSYS_OK);
  cJSON *obj = parse(out, n);
  static const char *const keys[] = {"type", "notify_msg", "timestamp", "hash",
                                     "log_id", "notify_key", "tg_token", "tg_chatid"};
  expect_keys(obj, keys, 8);
  expect_str(obj, "type", "customer");
  expect_str(obj, "tg_token", "123456:ABC-def");
  /* The chat id stays a string: no digits lost to a double. */
  expect_str(obj, "tg_chatid", "-1001234567890123");
  cJSON_Delete(obj);
  free(out);
  assert_int_equal(lsys_qjson_tg(&r, NULL, "m", NULL, NULL, &out, &n), LSYS_EINVAL);
}

static void test_queue_name(void **state) {
  (void)state;
  char buf[300];
  assert_int_equal(lsys_qjson_queue_name("example.com", "logbeacon", buf, sizeof buf), LSYS_OK);
  assert_string_equal(buf, "example.com_logbeacon");
  assert_int_equal(lsys_qjson_queue_name("example.com", "tg", buf, sizeof buf), LSYS_OK);
  assert_string_equal(buf, "example.com_tg");

  /* The buffer bound: exactly enough, then one byte short. */
  char small[15];
  assert_int_equal(lsys_qjson_queue_name("example.com", "tg", small, 15), LSYS_OK);
  assert_string_equal(small, "example.com_tg");
  memset(small, 'z', sizeof small);
  assert_int_equal(lsys_qjson_queue_name("example.com", "tg", small, 14), LSYS_EINVAL);
  assert_int_equal(small[0], 'z');

  /* The AMQP bound: 255 bytes is fine, 256 is not. */
  char dom[300];
  memset(dom, 'd', sizeof dom);
  dom[252] = '\0'; /* 252 + 1 + 2 = 255 */
  assert_int_equal(lsys_qjson_queue_name(dom, "tg", buf, sizeof buf), LSYS_OK);
  assert_int_equal(strlen(buf), 255);
  dom[252] = 'd';
  dom[253] = '\0';
  assert_int_equal(lsys_qjson_queue_name(dom, "tg", buf, sizeof buf), LSYS_EINVAL);
  dom[253] = 'd';
  dom[255] = '\0';
  assert_int_equal(lsys_qjson_queue_name(dom, "x", buf, sizeof buf), LSYS_EINVAL);

  assert_int_equal(lsys_qjson_queue_name("", "tg", buf, sizeof buf), LSYS_EINVAL);
  assert_int_equal(lsys_qjson_queue_name(NULL, "tg", buf, sizeof buf), LSYS_EINVAL);
  assert_int_equal(lsys_qjson_queue_name("d", NULL, buf, sizeof buf), LSYS_EINVAL);
  assert_int_equal(lsys_qjson_queue_name("d", "tg", NULL, 0), LSYS_EINVAL);
}

static void test_notify_key(void **state) {
  (void)state;
  lsys_record a = sample(), b = sample();
  char ka[17], kb[17];
  b.time_unix_ms += 5000; /* a repeat later on: same key */
  b.log_id = "other";
  b.hash = "other";
  lsys_qjson_notify_key(&a, ka);
  lsys_qjson_notify_key(&b, kb);
  assert_int_equal(strlen(ka), 16);
  assert_string_equal(ka, kb);
  b.message = "a different message";
  lsys_qjson_notify_key(&b, kb);
  assert_string_not_equal(ka, kb);
  /* Field boundaries matter: ("ab","c") is not ("a","bc"). */
  a.def_name = "ab";
  a.message = "c";
  b = a;
  b.def_name = "a";
  b.message = "bc";
  lsys_qjson_notify_key(&a, ka);
  lsys_qjson_notify_key(&b, kb);
  assert_string_not_equal(ka, kb);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_timestamp_utc),
      cmocka_unit_test(test_timestamp_local_time),
      cmocka_unit_test(test_logbeacon_keys_and_values),
      cmocka_unit_test(test_notify_key),
      cmocka_unit_test(test_logbeacon_escaping),
      cmocka_unit_test(test_logbeacon_null_fields),
      cmocka_unit_test(test_tg_without_credentials),
      cmocka_unit_test(test_tg_with_credentials),
      cmocka_unit_test(test_queue_name),
  };
  return cmocka_run_group_tests(tests, use_utc, NULL);
}
