/* sink_telegram_test.c - unit tests for common/sink_telegram.c without a
 * network: validation, credentials, request bodies, parts, rate limits,
 * 429 handling, resuming, summaries and secrets in reasons. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <curl/curl.h>

#include "errors.h"
#include "sink_telegram.h"
#include "tg_text.h"

#define TOKEN "123456:SeCrEtToKeN"
#define URL "http://tg.example/bot" TOKEN "/sendMessage"
#define SHOWN "http://tg.example/bot****/sendMessage"

static lsys_config cfg;

static int setup(void **state) {
  (void)state;
  memset(&cfg, 0, sizeof cfg);
  cfg.tg_api_base = "http://tg.example//";
  cfg.tg_dev_token = TOKEN;
  cfg.tg_dev_chat_id = "-100123";
  cfg.tg_bot_rate_per_s = 30;
  cfg.tg_chat_rate_per_min = 20;
  cfg.http_timeout_ms = 1000;
  cfg.concurrency = 4;
  return 0;
}

static lsys_sink_telegram *make(void) {
  lsys_sink_telegram *s = NULL;
  char err[256];
  assert_int_equal(lsys_sink_telegram_create(&s, &cfg, err, sizeof err), LSYS_OK);
  return s;
}

/* tg_body renders a {domain}_tg message (extra: more members, "" for none). */
static char *tg_body(const char *type, const char *text, const char *extra) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "type", type);
  cJSON_AddStringToObject(o, "notify_msg", text);
  cJSON_AddStringToObject(o, "timestamp", "2025-11-26 10:30:00");
  cJSON_AddStringToObject(o, "hash", "h");
  char *body = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  if (*extra != '\0') { /* splice extra members before the closing brace */
    char *more = malloc(strlen(body) + strlen(extra) + 2);
    sprintf(more, "%.*s,%s}", (int)strlen(body) - 1, body, extra);
    free(body);
    body = more;
  }
  return body;
}

static lsys_tg_msg *parse_ok(lsys_sink_telegram *s, const char *body) {
  lsys_tg_msg *m = NULL;
  lsys_delivery_result r;
  int rc = lsys_sink_telegram_parse(s, body, strlen(body), &m, &r);
  if (rc != LSYS_OK)
    fail_msg("parse failed: %s", r.reason);
  return m;
}

static lsys_http_response answer(long status, const char *body) {
  lsys_http_response r = {.status = status, .body = body, .body_len = strlen(body), .retry_after_s = -1};
  return r;
}

/* request returns m's next request body parsed (caller deletes it) after
 * checking URL, chat_id and parse_mode; *text is its (escaped) text. */
static cJSON *request(lsys_sink_telegram *s, lsys_tg_msg *m, const char **text) {
  const char *url = NULL, *body = NULL;
  size_t len = 0;
  assert_int_equal(lsys_sink_telegram_request(s, m, &url, &body, &len), LSYS_OK);
  assert_string_equal(url, URL);
  cJSON *o = cJSON_ParseWithLength(body, len);
  assert_non_null(o);
  assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "chat_id")));
  assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "parse_mode")->valuestring, "HTML");
  *text = cJSON_GetObjectItemCaseSensitive(o, "text")->valuestring;
  return o;
}

static void test_validation(void **state) {
  (void)state;
  lsys_sink_telegram *s = make();
  const struct {
    const char *body, *reason;
  } bad[] = {
      {"nope", "message is not a JSON object"},
      {"{}", "message lacks type, notify_msg"},
      {"{\"type\":\"developer\"}", "message lacks notify_msg"},
      {"{\"notify_msg\":\"x\"}", "message lacks type"},
      {"{\"type\":\"admin\",\"notify_msg\":\"x\"}", "message's type must be developer or customer"},
      {"{\"type\":7,\"notify_msg\":\"x\"}", "message's type must be developer or customer"},
      {"{\"type\":\"developer\",\"notify_msg\":[1]}", "message's notify_msg is not a string"},
      {"{\"type\":\"developer\",\"notify_msg\":\" \\n \"}", "message's notify_msg is empty"},
      {"{\"type\":\"customer\",\"notify_msg\":\"x\"}", "no bot token configured for customer notifications"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    lsys_tg_msg *m = (lsys_tg_msg *)0x1;
    lsys_delivery_result r;
    assert_int_equal(lsys_sink_telegram_parse(s, bad[i].body, strlen(bad[i].body), &m, &r), LSYS_EINVAL);
    assert_ptr_equal(m, (lsys_tg_msg *)0x1);
    assert_int_equal(r.outcome, LSYS_OUTCOME_PERMANENT);
    assert_string_equal(r.reason, bad[i].reason);
  }
  lsys_sink_telegram_destroy(s);

  cfg.tg_customer_token = "9:X";
  s = make();
  lsys_tg_msg *m = NULL;
  lsys_delivery_result r;
  const char *b = "{\"type\":\"customer\",\"notify_msg\":\"x\"}";
  assert_int_equal(lsys_sink_telegram_parse(s, b, strlen(b), &m, &r), LSYS_EINVAL);
  assert_string_equal(r.reason, "no chat id configured for customer notifications");
  lsys_sink_telegram_destroy(s);
}

static void test_request_body(void **state) {
  (void)state;
  lsys_sink_telegram *s = make();
  char *body = tg_body("developer", "<b>訂單</b> & \"x\" \xff!", "");
  lsys_tg_msg *m = parse_ok(s, body);
  const char *text;
  int64_t wake;

  assert_int_equal(lsys_sink_telegram_acquire(s, m, 0, 1, &wake), LSYS_TG_GO);
  cJSON *o = request(s, m, &text);
  assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "chat_id")->valuestring, "-100123");
  /* Escaped for HTML; the invalid byte repaired to U+FFFD. */
  assert_string_equal(text, "&lt;b&gt;訂單&lt;/b&gt; &amp; \"x\" \xef\xbf\xbd!");
  cJSON_Delete(o);

  lsys_http_response a = answer(200, "{\"ok\":true,\"result\":{\"message_id\":1}}");
  lsys_delivery_result r;
  assert_int_equal(lsys_sink_telegram_response(s, m, &a, 10, &r), LSYS_TG_DONE);
  assert_int_equal(r.outcome, LSYS_OUTCOME_OK);
  assert_string_equal(r.reason, "HTTP 200 from Telegram");
  lsys_sink_telegram_msg_free(s, m);
  free(body);
  lsys_sink_telegram_destroy(s);
}

static void test_message_credentials(void **state) {
  (void)state;
  const char *extra = "\"tg_token\":\"777:MsgTok\",\"tg_chatid\":-1001234567890";
  char *body = tg_body("developer", "hi", extra);
  const char *url, *req;
  size_t len;
  int64_t wake;

  /* Not accepted by default: the configured bot and chat are used. */
  lsys_sink_telegram *s = make();
  lsys_tg_msg *m = parse_ok(s, body);
  assert_int_equal(lsys_sink_telegram_request(s, m, &url, &req, &len), LSYS_OK);
  assert_string_equal(url, URL);
  assert_non_null(strstr(req, "\"chat_id\":\"-100123\""));
  lsys_sink_telegram_msg_free(s, m);
  lsys_sink_telegram_destroy(s);

  /* Accepted: the message's, with a numeric chat id kept exact as a string. */
  cfg.tg_accept_message_credentials = 1;
  s = make();
  m = parse_ok(s, body);
  assert_int_equal(lsys_sink_telegram_acquire(s, m, 0, 1, &wake), LSYS_TG_GO);
  assert_int_equal(lsys_sink_telegram_request(s, m, &url, &req, &len), LSYS_OK);
  assert_string_equal(url, "http://tg.example/bot777:MsgTok/sendMessage");
  assert_non_null(strstr(req, "\"chat_id\":\"-1001234567890\""));
  lsys_sink_telegram_msg_free(s, m);
  free(body);

  /* A token that could change the URL is refused, and not repeated. */
  body = tg_body("developer", "hi", "\"tg_token\":\"1:a/../../x?\",\"tg_chatid\":\"5\"");
  lsys_delivery_result r;
  m = NULL;
  assert_int_equal(lsys_sink_telegram_parse(s, body, strlen(body), &m, &r), LSYS_EINVAL);
  assert_string_equal(r.reason, "message's tg_token is not a valid bot token");
  free(body);
  body = tg_body("developer", "hi", "\"tg_token\":\"1:a\",\"tg_chatid\":1.5");
  assert_int_equal(lsys_sink_telegram_parse(s, body, strlen(body), &m, &r), LSYS_EINVAL);
  assert_string_equal(r.reason, "message's tg_chatid is not a valid chat id");
  free(body);
  lsys_sink_telegram_destroy(s);
}

static void test_long_text_in_parts(void **state) {
  (void)state;
  lsys_sink_telegram *s = make();
  size_t n = 10000;
  char *text = malloc(n * 3 + 1), *joined = calloc(1, n * 3 + 1);
  for (size_t i = 0; i < n; i++)
    memcpy(text + 3 * i, "日", 3);
  text[n * 3] = '\0';
  char *body = tg_body("developer", text, "");
  lsys_tg_msg *m = parse_ok(s, body);
  size_t next = 99;
  assert_int_equal(lsys_sink_telegram_parts(m, &next), 3);
  assert_int_equal(next, 0);

  lsys_delivery_result r;
  int64_t now = 0, wake;
  for (size_t part = 0; part < 3; part++) {
    const char *t;
    assert_int_equal(lsys_sink_telegram_acquire(s, m, now, part + 1, &wake), LSYS_TG_GO);
    cJSON *o = request(s, m, &t);
    assert_true(lsys_tg_text_units(t, strlen(t)) <= LSYS_TG_TEXT_MAX);
    strcat(joined, t);
    cJSON_Delete(o);
    lsys_http_response a = answer(200, "{\"ok\":true}");
    int rc = lsys_sink_telegram_response(s, m, &a, now, &r);
    assert_int_equal(rc, part < 2 ? LSYS_TG_NEXT : LSYS_TG_DONE);
    now += 100;
  }
  assert_string_equal(joined, text); /* in order, nothing lost */
  assert_int_equal(r.outcome, LSYS_OUTCOME_OK);
  assert_string_equal(r.reason, "3 parts: HTTP 200 from Telegram");
  lsys_sink_telegram_msg_free(s, m);
  free(body);
  free(joined);
  free(text);

  /* A text of more than LSYS_TG_MAX_PARTS parts is cut and marked. */
  now = 100000; /* the chat's window (20 per minute) is empty again */
  n = (LSYS_TG_MAX_PARTS + 5) * LSYS_TG_TEXT_MAX;
  text = malloc(n + 1);
  memset(text, 'a', n);
  text[n] = '\0';
  body = tg_body("developer", text, "");
  m = parse_ok(s, body);
  assert_int_equal(lsys_sink_telegram_parts(m, NULL), LSYS_TG_MAX_PARTS);
  for (size_t part = 0; part < LSYS_TG_MAX_PARTS; part++) {
    const char *t;
    assert_int_equal(lsys_sink_telegram_acquire(s, m, now, 100 + part, &wake), LSYS_TG_GO);
    cJSON *o = request(s, m, &t);
    assert_true(lsys_tg_text_units(t, strlen(t)) <= LSYS_TG_TEXT_MAX);
    if (part + 1 == LSYS_TG_MAX_PARTS)
      assert_non_null(strstr(t, "...(已截斷)"));
    cJSON_Delete(o);
    lsys_http_response a = answer(200, "{\"ok\":true}");
    lsys_sink_telegram_response(s, m, &a, now, &r);
    now += 3100; /* within 20 per minute per chat */
  }
  assert_int_equal(r.outcome, LSYS_OUTCOME_OK);
  lsys_sink_telegram_msg_free(s, m);
  free(body);
  free(text);
  lsys_sink_telegram_destroy(s);
}

static void test_429_waits_then_gives_up(void **state) {
  (void)state;
  lsys_sink_telegram *s = make();
  char *body = tg_body("developer", "hello", "");
  lsys_tg_msg *m = parse_ok(s, body);
  lsys_delivery_result r;
  int64_t wake = 0;
  const char *too_many =
      "{\"ok\":false,\"error_code\":429,\"description\":\"Too Many Requests: retry after 5\","
      "\"parameters\":{\"retry_after\":5}}";

  assert_int_equal(lsys_sink_telegram_acquire(s, m, 1000, 1, &wake), LSYS_TG_GO);
  lsys_http_response a = answer(429, too_many);
  assert_int_equal(lsys_sink_telegram_response(s, m, &a, 1200, &r), LSYS_TG_WAIT);
  assert_int_equal(r.http_status, 429);
  /* Not before retry_after has passed. */
  assert_int_equal(lsys_sink_telegram_acquire(s, m, 6199, 2, &wake), LSYS_TG_LIMITED);
  assert_int_equal(wake, 6200);
  assert_int_equal(lsys_sink_telegram_acquire(s, m, 6200, 3, &wake), LSYS_TG_GO);

  /* The Retry-After header when the body has no parameters. */
  a = answer(429, "not json");
  a.retry_after_s = 2;
  assert_int_equal(lsys_sink_telegram_response(s, m, &a, 6300, &r), LSYS_TG_WAIT);
  assert_int_equal(lsys_sink_telegram_acquire(s, m, 8299, 4, &wake), LSYS_TG_LIMITED);
  assert_int_equal(lsys_sink_telegram_acquire(s, m, 8300, 5, &wake), LSYS_TG_GO);

  /* More than LSYS_TG_MAX_RETRY_AFTER_S: left to the retry queue. */
  a = answer(429, "{\"ok\":false,\"parameters\":{\"retry_after\":301}}");
  assert_int_equal(lsys_sink_telegram_response(s, m, &a, 8400, &r), LSYS_TG_DONE);
  assert_int_equal(r.outcome, LSYS_OUTCOME_RETRY);
  assert_string_equal(r.reason, "HTTP 429 from Telegram, retry after 301 s");
  lsys_sink_telegram_msg_free(s, m);

  /* So are many short waits that add up to more. */
  m = parse_ok(s, body);
  int64_t t = 100000;
  int waits = 0, rc;
  a = answer(429, "{\"ok\":false,\"parameters\":{\"retry_after\":100}}");
  do {
    assert_int_equal(lsys_sink_telegram_acquire(s, m, t, 10 + (uint64_t)waits, &wake), LSYS_TG_GO);
    rc = lsys_sink_telegram_response(s, m, &a, t, &r);
    t += 100000;
    waits++;
  } while (rc == LSYS_TG_WAIT && waits < 10);
  assert_int_equal(rc, LSYS_TG_DONE);
  assert_int_equal(waits, 4); /* 3 waits of 100 s, then no more */
  assert_int_equal(r.outcome, LSYS_OUTCOME_RETRY);
  lsys_sink_telegram_msg_free(s, m);
  free(body);
  lsys_sink_telegram_destroy(s);
}

static void test_reasons_hide_the_token(void **state) {
  (void)state;
  lsys_sink_telegram *s = make();
  char *body = tg_body("developer", "hello", "");
  lsys_tg_msg *m = parse_ok(s, body);
  lsys_delivery_result r;
  int64_t wake;

  lsys_http_response refused = {.curl_code = CURLE_COULDNT_CONNECT, .os_errno = ECONNREFUSED, .body = ""};
  assert_int_equal(lsys_sink_telegram_acquire(s, m, 0, 1, &wake), LSYS_TG_GO);
  assert_int_equal(lsys_sink_telegram_response(s, m, &refused, 0, &r), LSYS_TG_DONE);
  assert_int_equal(r.outcome, LSYS_OUTCOME_RETRY);
  assert_string_equal(r.reason, "connection refused (" SHOWN ")");

  lsys_http_response a =
      answer(400, "{\"ok\":false,\"error_code\":400,\"description\":\"Bad Request: chat not found\"}");
  lsys_sink_telegram_response(s, m, &a, 0, &r);
  assert_int_equal(r.outcome, LSYS_OUTCOME_PERMANENT);
  assert_string_equal(r.reason, "HTTP 400 from Telegram: Bad Request: chat not found");

  a = answer(401, "{\"ok\":false,\"description\":\"Unauthorized: bot " TOKEN " is unknown\"}");
  lsys_sink_telegram_response(s, m, &a, 0, &r);
  assert_int_equal(r.outcome, LSYS_OUTCOME_PERMANENT);
  assert_null(strstr(r.reason, "SeCrEt"));
  assert_string_equal(r.reason, "HTTP 401 from Telegram: Unauthorized: bot **** is unknown");
  lsys_sink_telegram_msg_free(s, m);
  free(body);
  lsys_sink_telegram_destroy(s);
}

static void test_chat_order_and_limits(void **state) {
  (void)state;
  cfg.tg_chat_rate_per_min = 2;
  cfg.tg_bot_rate_per_s = 3;
  cfg.tg_customer_token = TOKEN; /* same bot, another chat */
  cfg.tg_customer_chat_id = "@other";
  lsys_sink_telegram *s = make();
  char *b1 = tg_body("developer", "one", ""), *b2 = tg_body("developer", "two", "");
  char *b3 = tg_body("developer", "three", ""), *b4 = tg_body("customer", "four", "");
  lsys_tg_msg *m1 = parse_ok(s, b1), *m2 = parse_ok(s, b2), *m3 = parse_ok(s, b3), *m4 = parse_ok(s, b4);
  lsys_http_response ok = answer(200, "{\"ok\":true}");
  lsys_delivery_result r;
  int64_t wake = 0;

  /* One send per chat in flight; the other chat is free. */
  assert_int_equal(lsys_sink_telegram_acquire(s, m1, 0, 1, &wake), LSYS_TG_GO);
  assert_int_equal(lsys_sink_telegram_acquire(s, m2, 0, 1, &wake), LSYS_TG_BUSY);
  assert_int_equal(lsys_sink_telegram_acquire(s, m4, 0, 1, &wake), LSYS_TG_GO);
  lsys_sink_telegram_response(s, m1, &ok, 10, &r);
  lsys_sink_telegram_response(s, m4, &ok, 10, &r);
  assert_int_equal(lsys_sink_telegram_acquire(s, m2, 20, 2, &wake), LSYS_TG_GO);
  lsys_sink_telegram_response(s, m2, &ok, 30, &r);
  /* The chat's window (2 per minute) is full: wait, and keep order within the pass. */
  assert_int_equal(lsys_sink_telegram_acquire(s, m3, 40, 3, &wake), LSYS_TG_LIMITED);
  assert_int_equal(wake, 60000);
  /* The bot's window (3 per second) is full too, for the other chat. */
  assert_int_equal(lsys_sink_telegram_acquire(s, m4, 40, 3, &wake), LSYS_TG_LIMITED);
  assert_int_equal(wake, 1000);
  assert_int_equal(lsys_sink_telegram_acquire(s, m4, 1000, 4, &wake), LSYS_TG_GO);
  lsys_sink_telegram_cancel(s, m4);
  assert_int_equal(lsys_sink_telegram_acquire(s, m3, 59999, 5, &wake), LSYS_TG_LIMITED);
  assert_int_equal(lsys_sink_telegram_acquire(s, m3, 60000, 6, &wake), LSYS_TG_GO);
  lsys_sink_telegram_response(s, m3, &ok, 60010, &r);
  assert_int_equal(r.outcome, LSYS_OUTCOME_OK);

  /* Within one pass, a later message of a chat whose earlier one had to wait
   * does not overtake it, even if it could start. */
  lsys_tg_msg *m5 = parse_ok(s, b1);
  assert_int_equal(lsys_sink_telegram_acquire(s, m5, 60015, 7, &wake), LSYS_TG_LIMITED);
  assert_int_equal(lsys_sink_telegram_acquire(s, m5, 200000, 7, &wake), LSYS_TG_BUSY);
  assert_int_equal(lsys_sink_telegram_acquire(s, m5, 200000, 8, &wake), LSYS_TG_GO);
  lsys_sink_telegram_cancel(s, m5);
  lsys_sink_telegram_msg_free(s, m5);
  lsys_sink_telegram_msg_free(s, m1);
  lsys_sink_telegram_msg_free(s, m2);
  lsys_sink_telegram_msg_free(s, m3);
  lsys_sink_telegram_msg_free(s, m4);
  free(b1);
  free(b2);
  free(b3);
  free(b4);
  lsys_sink_telegram_destroy(s);
}

static void test_resume_after_partial_failure(void **state) {
  (void)state;
  lsys_sink_telegram *s = make();
  size_t n = 3 * LSYS_TG_TEXT_MAX - 10;
  char *text = malloc(n + 1);
  memset(text, 'x', n);
  text[n] = '\0';
  char *body = tg_body("developer", text, "\"log_id\":\"L42\",\"notify_key\":\"nk\"");
  lsys_tg_msg *m = parse_ok(s, body);
  lsys_http_response ok = answer(200, "{}"), fail = answer(500, "{}");
  lsys_delivery_result r;
  int64_t wake;
  size_t next;

  assert_non_null(lsys_sink_telegram_collapse_key(m));
  assert_int_equal(lsys_sink_telegram_acquire(s, m, 0, 1, &wake), LSYS_TG_GO);
  assert_int_equal(lsys_sink_telegram_response(s, m, &ok, 0, &r), LSYS_TG_NEXT);
  assert_int_equal(lsys_sink_telegram_acquire(s, m, 0, 2, &wake), LSYS_TG_GO);
  assert_int_equal(lsys_sink_telegram_response(s, m, &fail, 0, &r), LSYS_TG_DONE);
  assert_int_equal(r.outcome, LSYS_OUTCOME_RETRY);
  assert_string_equal(r.reason, "part 2/3: HTTP 500 from Telegram");
  lsys_sink_telegram_msg_free(s, m);

  /* The same message again starts at part 2 and is not collapsed. */
  m = parse_ok(s, body);
  assert_int_equal(lsys_sink_telegram_parts(m, &next), 3);
  assert_int_equal(next, 1);
  assert_null(lsys_sink_telegram_collapse_key(m));
  assert_int_equal(lsys_sink_telegram_acquire(s, m, 0, 3, &wake), LSYS_TG_GO);
  assert_int_equal(lsys_sink_telegram_response(s, m, &ok, 0, &r), LSYS_TG_NEXT);
  assert_int_equal(lsys_sink_telegram_acquire(s, m, 0, 4, &wake), LSYS_TG_GO);
  assert_int_equal(lsys_sink_telegram_response(s, m, &ok, 0, &r), LSYS_TG_DONE);
  assert_int_equal(r.outcome, LSYS_OUTCOME_OK);
  lsys_sink_telegram_msg_free(s, m);

  /* Delivered: forgotten, a later copy starts from the beginning. */
  m = parse_ok(s, body);
  lsys_sink_telegram_parts(m, &next);
  assert_int_equal(next, 0);
  lsys_sink_telegram_msg_free(s, m);
  free(body);

  /* Same log_id, other text: not resumed. */
  body = tg_body("developer", "short", "\"log_id\":\"L42\"");
  m = parse_ok(s, body);
  lsys_sink_telegram_parts(m, &next);
  assert_int_equal(next, 0);
  lsys_sink_telegram_msg_free(s, m);
  free(body);
  free(text);
  lsys_sink_telegram_destroy(s);
}

static void test_collapse_keys_and_summary(void **state) {
  (void)state;
  lsys_sink_telegram *s = make();
  char *a = tg_body("developer", "at 10:00 boom", "\"notify_key\":\"k1\"");
  char *b = tg_body("developer", "at 10:01 boom", "\"notify_key\":\"k1\"");
  char *c = tg_body("developer", "at 10:01 boom", "\"notify_key\":\"k2\"");
  char *old1 = tg_body("developer", "same text", ""), *old2 = tg_body("developer", "same text", "");
  lsys_tg_msg *ma = parse_ok(s, a), *mb = parse_ok(s, b), *mc = parse_ok(s, c);
  lsys_tg_msg *mo1 = parse_ok(s, old1), *mo2 = parse_ok(s, old2);

  assert_string_equal(lsys_sink_telegram_collapse_key(ma), lsys_sink_telegram_collapse_key(mb));
  assert_string_not_equal(lsys_sink_telegram_collapse_key(ma), lsys_sink_telegram_collapse_key(mc));
  /* Old messages without notify_key collapse on notify_msg. */
  assert_string_equal(lsys_sink_telegram_collapse_key(mo1), lsys_sink_telegram_collapse_key(mo2));
  assert_null(strstr(lsys_sink_telegram_collapse_key(ma), TOKEN)); /* no secret in keys */

  lsys_tg_msg *sum = NULL;
  const char *text;
  int64_t wake;
  assert_int_equal(lsys_sink_telegram_summary(s, mb, 3, 10, &sum), LSYS_OK);
  assert_int_equal(lsys_sink_telegram_acquire(s, sum, 0, 1, &wake), LSYS_TG_GO);
  cJSON *o = request(s, sum, &text);
  assert_string_equal(text, "at 10:01 boom\n\n（過去 10 秒內重複 3 次）");
  cJSON_Delete(o);
  lsys_sink_telegram_msg_free(s, sum);
  lsys_sink_telegram_msg_free(s, ma);
  lsys_sink_telegram_msg_free(s, mb);
  lsys_sink_telegram_msg_free(s, mc);
  lsys_sink_telegram_msg_free(s, mo1);
  lsys_sink_telegram_msg_free(s, mo2);
  free(a);
  free(b);
  free(c);
  free(old1);
  free(old2);
  lsys_sink_telegram_destroy(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_validation, setup),
      cmocka_unit_test_setup(test_request_body, setup),
      cmocka_unit_test_setup(test_message_credentials, setup),
      cmocka_unit_test_setup(test_long_text_in_parts, setup),
      cmocka_unit_test_setup(test_429_waits_then_gives_up, setup),
      cmocka_unit_test_setup(test_reasons_hide_the_token, setup),
      cmocka_unit_test_setup(test_chat_order_and_limits, setup),
      cmocka_unit_test_setup(test_resume_after_partial_failure, setup),
      cmocka_unit_test_setup(test_collapse_keys_and_summary, setup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
