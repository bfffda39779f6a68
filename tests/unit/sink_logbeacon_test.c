/* sink_logbeacon_test.c - unit tests for common/sink_logbeacon.c without a
 * network: message validation, the api_key in request bodies, and responses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <curl/curl.h>

#include "errors.h"
#include "sink_logbeacon.h"

#define MSG                                                                                        \
  "{\"domain\":\"example.com\",\"program_name\":\"api_server\",\"level\":\"Error\","             \
  "\"def_name\":\"f\",\"message\":\"m\",\"extra_info\":\"x\",\"timestamp\":\"2025-11-26 "        \
  "10:30:00\",\"hash\":\"h1\",\"log_id\":\"L1\",\"time_unix_ms\":12345678901234567890}"

static lsys_config base_cfg(const char *key_dir) {
  lsys_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.logbeacon_url = "http://user:pw@127.0.0.1:1/ingest";
  cfg.logbeacon_key_dir = (char *)key_dir;
  cfg.http_timeout_ms = 1000;
  cfg.concurrency = 4;
  return cfg;
}

static lsys_http_response answer(long status, const char *body) {
  lsys_http_response r = {.status = status, .body = body, .body_len = strlen(body), .retry_after_s = -1};
  return r;
}

static void test_create_needs_url(void **state) {
  (void)state;
  lsys_config cfg = base_cfg(NULL);
  lsys_sink_logbeacon *s = (lsys_sink_logbeacon *)0x1;
  char err[256] = "";
  cfg.logbeacon_url = NULL;
  assert_int_equal(lsys_sink_logbeacon_create(&s, &cfg, err, sizeof err), LSYS_ECONFIG);
  assert_ptr_equal(s, (lsys_sink_logbeacon *)0x1);
  assert_non_null(strstr(err, "LOGSYS_LOGBEACON_URL"));
}

static void test_validation(void **state) {
  (void)state;
  lsys_config cfg = base_cfg(NULL);
  lsys_sink_logbeacon *s = NULL;
  char err[256];
  const struct {
    const char *body, *reason;
  } bad[] = {
      {"not json", "message is not a JSON object"},
      {"[1,2]", "message is not a JSON object"},
      {"", "message is not a JSON object"},
      {"{\"domain\":\"d\",\"program_name\":\"p\",\"level\":\"Info\",\"def_name\":\"f\",\"message\":\"m\","
       "\"extra_info\":\"\",\"timestamp\":\"t\"}",
       "message lacks hash"},
      {"{\"domain\":\"d\",\"program_name\":\"p\",\"message\":\"m\",\"extra_info\":\"\",\"timestamp\":\"t\"}",
       "message lacks level, def_name, hash"},
      {"{}", "message lacks domain, program_name, level, def_name, message, extra_info, timestamp, hash"},
      {"{\"domain\":1,\"program_name\":\"p\",\"level\":\"Info\",\"def_name\":\"f\",\"message\":\"m\","
       "\"extra_info\":\"\",\"timestamp\":\"t\",\"hash\":\"h\"}",
       "message's domain is not a string"},
      {"{\"domain\":\"d\",\"program_name\":null,\"level\":\"Info\",\"def_name\":\"f\",\"message\":\"m\","
       "\"extra_info\":\"\",\"timestamp\":\"t\",\"hash\":\"h\"}",
       "message's program_name is not a string"},
  };
  assert_int_equal(lsys_sink_logbeacon_create(&s, &cfg, err, sizeof err), LSYS_OK);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    lsys_lb_msg *m = (lsys_lb_msg *)0x1;
    lsys_delivery_result r;
    assert_int_equal(lsys_sink_logbeacon_parse(s, bad[i].body, strlen(bad[i].body), &m, &r), LSYS_EINVAL);
    assert_ptr_equal(m, (lsys_lb_msg *)0x1);
    assert_int_equal(r.outcome, LSYS_OUTCOME_PERMANENT);
    assert_string_equal(r.reason, bad[i].reason);
  }
  lsys_sink_logbeacon_destroy(s);
}

/* request_json returns the request body of m parsed (caller deletes). */
static cJSON *request_json(lsys_sink_logbeacon *s, lsys_lb_msg *m, const char **raw) {
  const char *url = NULL, *body = NULL;
  size_t len = 0;
  assert_int_equal(lsys_sink_logbeacon_request(s, m, &url, &body, &len), LSYS_OK);
  assert_string_equal(url, "http://user:pw@127.0.0.1:1/ingest");
  assert_int_equal(strlen(body), len);
  *raw = body;
  cJSON *obj = cJSON_ParseWithLength(body, len);
  assert_non_null(obj);
  return obj;
}

static void test_api_key_round_trip(void **state) {
  (void)state;
  char dir[] = "/tmp/lsys_sink_lb_test_XXXXXX";
  assert_non_null(mkdtemp(dir));
  lsys_config cfg = base_cfg(dir);
  lsys_sink_logbeacon *s = NULL;
  lsys_lb_msg *m = NULL;
  lsys_delivery_result r;
  const char *raw;
  char err[256];

  assert_int_equal(lsys_sink_logbeacon_create(&s, &cfg, err, sizeof err), LSYS_OK);
  assert_int_equal(lsys_sink_logbeacon_parse(s, MSG, strlen(MSG), &m, &r), LSYS_OK);

  /* No key yet: the body goes out exactly as it came. */
  cJSON *obj = request_json(s, m, &raw);
  assert_string_equal(raw, MSG);
  cJSON_Delete(obj);

  lsys_http_response a = answer(200, "{\"ok\":true,\"api_key\":\"k1\"}");
  assert_int_equal(lsys_sink_logbeacon_response(s, m, &a, &r), LSYS_OK);
  assert_int_equal(r.outcome, LSYS_OUTCOME_OK);
  assert_null(strstr(r.reason, "k1"));

  /* Now the key is added, everything else untouched (the big number too). */
  obj = request_json(s, m, &raw);
  assert_string_equal(cJSON_GetObjectItemCaseSensitive(obj, "api_key")->valuestring, "k1");
  assert_non_null(strstr(raw, "\"time_unix_ms\":12345678901234567890"));
  assert_int_equal(strncmp(raw, MSG, strlen(MSG) - 1), 0);
  cJSON_Delete(obj);

  /* A rotated key replaces it. */
  a = answer(200, "{\"ok\":true,\"api_key\":\"k2\"}");
  assert_int_equal(lsys_sink_logbeacon_response(s, m, &a, &r), LSYS_OK);
  obj = request_json(s, m, &raw);
  assert_string_equal(cJSON_GetObjectItemCaseSensitive(obj, "api_key")->valuestring, "k2");
  cJSON_Delete(obj);
  lsys_sink_logbeacon_msg_free(m);
  lsys_sink_logbeacon_destroy(s);

  /* A new sink (restart) loads it from the key directory. */
  s = NULL;
  m = NULL;
  assert_int_equal(lsys_sink_logbeacon_create(&s, &cfg, err, sizeof err), LSYS_OK);
  const char *own = "{\"domain\":\"example.com\",\"program_name\":\"api_server\",\"level\":\"Info\","
                    "\"def_name\":\"f\",\"message\":\"m\",\"extra_info\":\"\",\"timestamp\":\"t\","
                    "\"hash\":\"h\",\"api_key\":\"stale\"}";
  assert_int_equal(lsys_sink_logbeacon_parse(s, own, strlen(own), &m, &r), LSYS_OK);
  obj = request_json(s, m, &raw);
  /* The message's own api_key is replaced, not duplicated. */
  assert_string_equal(cJSON_GetObjectItemCaseSensitive(obj, "api_key")->valuestring, "k2");
  assert_null(strstr(raw, "stale"));
  cJSON_Delete(obj);

  /* A key that cannot be written: counted (EIO), said without the key. */
  char path[512];
  snprintf(path, sizeof path, "%s/api_key-example.com-api_server-logbeacon.txt", dir);
  assert_int_equal(unlink(path), 0);
  assert_int_equal(mkdir(path, 0700), 0);
  a = answer(200, "{\"ok\":true,\"api_key\":\"SeCrEt3\"}");
  assert_int_equal(lsys_sink_logbeacon_response(s, m, &a, &r), LSYS_EIO);
  assert_int_equal(r.outcome, LSYS_OUTCOME_OK);
  assert_non_null(strstr(r.reason, "api_key not stored"));
  assert_null(strstr(r.reason, "SeCrEt3"));
  rmdir(path);
  lsys_sink_logbeacon_msg_free(m);
  lsys_sink_logbeacon_destroy(s);
  rmdir(dir);
}

static void test_response_reasons(void **state) {
  (void)state;
  lsys_config cfg = base_cfg(NULL);
  lsys_sink_logbeacon *s = NULL;
  lsys_lb_msg *m = NULL;
  lsys_delivery_result r;
  char err[256];

  assert_int_equal(lsys_sink_logbeacon_create(&s, &cfg, err, sizeof err), LSYS_OK);
  assert_int_equal(lsys_sink_logbeacon_parse(s, MSG, strlen(MSG), &m, &r), LSYS_OK);

  lsys_http_response a = answer(400, "{\"ok\":false,\"error\":\"level must be\\na known name\"}");
  lsys_sink_logbeacon_response(s, m, &a, &r);
  assert_int_equal(r.outcome, LSYS_OUTCOME_PERMANENT);
  assert_int_equal(r.http_status, 400);
  assert_string_equal(r.reason, "HTTP 400 from LogBeacon: level must be a known name");

  a = answer(500, "<html>oops</html>");
  lsys_sink_logbeacon_response(s, m, &a, &r);
  assert_int_equal(r.outcome, LSYS_OUTCOME_RETRY);
  assert_string_equal(r.reason, "HTTP 500 from LogBeacon");

  /* An error text that repeats the key is left out. */
  a = answer(200, "{\"ok\":true,\"api_key\":\"k7\"}");
  lsys_sink_logbeacon_response(s, m, &a, &r);
  a = answer(401, "{\"error\":\"api_key k7 revoked\"}");
  lsys_sink_logbeacon_response(s, m, &a, &r);
  assert_string_equal(r.reason, "HTTP 401 from LogBeacon");

  /* The URL in a reason has its password masked. */
  lsys_http_response refused = {.curl_code = CURLE_COULDNT_CONNECT, .os_errno = ECONNREFUSED, .body = ""};
  lsys_sink_logbeacon_response(s, m, &refused, &r);
  assert_int_equal(r.outcome, LSYS_OUTCOME_RETRY);
  assert_non_null(strstr(r.reason, "connection refused (http://user:****@127.0.0.1:1/ingest)"));
  assert_null(strstr(r.reason, "pw"));
  lsys_sink_logbeacon_msg_free(m);
  lsys_sink_logbeacon_destroy(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_create_needs_url),
      cmocka_unit_test(test_validation),
      cmocka_unit_test(test_api_key_round_trip),
      cmocka_unit_test(test_response_reasons),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
