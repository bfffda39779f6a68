/* delivery_telegram_test.c - the deliverer (common/delivery.c) against an
 * in-process fake Bot API: sendMessage requests, missing credentials, long
 * texts in parts, resuming after a failed part, 429 retry_after waited out
 * (not before it), collapsing a burst into one summary, rate-limited messages
 * staying pending, and no token in any reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "delivery.h"
#include "errors.h"
#include "http_responder.h"
#include "tg_text.h"

#define TOKEN "4242:SeCrEt-ToKeN"
#define PATH "/bot" TOKEN "/sendMessage"
#define TOO_MANY                                                                                   \
  "{\"ok\":false,\"error_code\":429,\"description\":\"Too Many Requests: retry after 1\","       \
  "\"parameters\":{\"retry_after\":1}}"

typedef struct outcomes {
  int n;
  void *token[64];
  lsys_delivery_result r[64];
} outcomes;

static hr server;
static char base[128];
static lsys_config cfg;
static outcomes seen;

static void collect(void *arg, void *token, const lsys_delivery_result *r) {
  outcomes *o = arg;
  assert_true(o->n < 64);
  o->token[o->n] = token;
  o->r[o->n++] = *r;
  assert_null(strstr(r->reason, "SeCrEt")); /* never a token in a reason */
}

static int setup(void **state) {
  (void)state;
  hr_start(&server);
  snprintf(base, sizeof base, "http://127.0.0.1:%d", server.port);
  memset(&cfg, 0, sizeof cfg);
  memset(&seen, 0, sizeof seen);
  cfg.tg_api_base = base;
  cfg.tg_dev_token = TOKEN;
  cfg.tg_dev_chat_id = "-1001234567890";
  cfg.tg_bot_rate_per_s = 30;
  cfg.tg_chat_rate_per_min = 20;
  cfg.tg_collapse_window_s = 0;
  cfg.concurrency = 4;
  cfg.http_timeout_ms = 5000;
  return 0;
}

static int teardown(void **state) {
  (void)state;
  hr_stop(&server);
  return 0;
}

static lsys_deliverer *make(void) {
  lsys_deliverer *d = NULL;
  char err[256] = "";
  if (lsys_deliverer_create(&d, LSYS_SINK_KIND_TELEGRAM, &cfg, collect, &seen, err, sizeof err) != LSYS_OK)
    fail_msg("create: %s", err);
  return d;
}

/* submit_tg submits a developer message (extra: more JSON members or ""). */
static void submit_tg(lsys_deliverer *d, const char *text, const char *extra, void *token) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "type", "developer");
  cJSON_AddStringToObject(o, "notify_msg", text);
  cJSON_AddStringToObject(o, "timestamp", "2025-11-26 10:30:00");
  cJSON_AddStringToObject(o, "hash", "h");
  char *body = cJSON_PrintUnformatted(o), *full = malloc(strlen(body) + strlen(extra) + 2);
  if (*extra)
    sprintf(full, "%.*s,%s}", (int)strlen(body) - 1, body, extra);
  else
    strcpy(full, body);
  assert_int_equal(lsys_deliverer_submit(d, full, strlen(full), token), LSYS_OK);
  free(full);
  free(body);
  cJSON_Delete(o);
}

static int drive(lsys_deliverer *d, int want, int timeout_ms) {
  int64_t deadline = hr_now_ms() + timeout_ms;
  while (seen.n < want && hr_now_ms() < deadline)
    assert_int_equal(lsys_deliverer_poll(d, 50), LSYS_OK);
  return seen.n;
}

/* req_field returns field of request i's JSON body (static buffer, big enough for texts). */
static const char *req_field(int i, const char *field) {
  static char buf[65536];
  hr_request r = hr_get(&server, i);
  cJSON *o = cJSON_Parse(r.body);
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, field);
  assert_true(cJSON_IsString(v));
  snprintf(buf, sizeof buf, "%s", v->valuestring);
  cJSON_Delete(o);
  return buf;
}

static void test_send_message(void **state) {
  (void)state;
  lsys_deliverer *d = make();
  int tok;
  submit_tg(d, "<b>錯誤</b> & 'x'", "", &tok);
  assert_int_equal(drive(d, 1, 5000), 1);
  assert_ptr_equal(seen.token[0], &tok);
  assert_int_equal(seen.r[0].outcome, LSYS_OUTCOME_OK);
  hr_request r = hr_get(&server, 0);
  assert_string_equal(r.path, PATH);
  assert_string_equal(r.ctype, "application/json");
  assert_string_equal(req_field(0, "chat_id"), "-1001234567890"); /* a string, exact */
  assert_string_equal(req_field(0, "parse_mode"), "HTML");
  assert_string_equal(req_field(0, "text"), "&lt;b&gt;錯誤&lt;/b&gt; &amp; 'x'");
  lsys_deliverer_destroy(d);
}

static void test_missing_credentials(void **state) {
  (void)state;
  cfg.tg_dev_token = NULL;
  lsys_deliverer *d = make();
  submit_tg(d, "hello", "", NULL);
  assert_int_equal(drive(d, 1, 5000), 1);
  assert_int_equal(seen.r[0].outcome, LSYS_OUTCOME_PERMANENT);
  assert_string_equal(seen.r[0].reason, "no bot token configured for developer notifications");
  assert_int_equal(hr_wait(&server, 1, 0), 0);
  lsys_deliverer_destroy(d);
}

static void test_errors_never_show_the_token(void **state) {
  (void)state;
  lsys_deliverer *d = make();
  hr_push(&server, 400,
          "{\"ok\":false,\"error_code\":400,\"description\":\"Bad Request: chat not found\"}", 0,
          NULL);
  submit_tg(d, "hello", "", NULL);
  assert_int_equal(drive(d, 1, 5000), 1);
  assert_int_equal(seen.r[0].outcome, LSYS_OUTCOME_PERMANENT);
  assert_string_equal(seen.r[0].reason, "HTTP 400 from Telegram: Bad Request: chat not found");
  lsys_deliverer_destroy(d);

  char closed[128], want[256];
  snprintf(closed, sizeof closed, "http://127.0.0.1:%d", hr_closed_port());
  snprintf(want, sizeof want, "connection refused (%s/bot****/sendMessage)", closed);
  cfg.tg_api_base = closed;
  d = make();
  submit_tg(d, "hello", "", NULL);
  assert_int_equal(drive(d, 2, 5000), 2);
  assert_int_equal(seen.r[1].outcome, LSYS_OUTCOME_RETRY);
  assert_string_equal(seen.r[1].reason, want);
  lsys_deliverer_destroy(d);
}

static void test_429_is_waited_out(void **state) {
  (void)state;
  lsys_deliverer *d = make();
  hr_push(&server, 429, TOO_MANY, 0, NULL);
  submit_tg(d, "hello", "", NULL);
  assert_int_equal(drive(d, 1, 5000), 1);
  /* One outcome, OK: the 429 was neither reported nor counted as a failure. */
  assert_int_equal(seen.r[0].outcome, LSYS_OUTCOME_OK);
  assert_int_equal(hr_wait(&server, 2, 0), 2);
  hr_request first = hr_get(&server, 0), second = hr_get(&server, 1);
  assert_int_equal(first.status, 429);
  assert_true(second.t_ms - first.t_ms >= 1000); /* not before retry_after */
  assert_string_equal(req_field(1, "text"), "hello");
  lsys_delivery_stats st;
  lsys_deliverer_stats(d, &st);
  assert_int_equal(st.tg_429, 1);
  assert_int_equal(st.retry, 0);
  assert_int_equal(st.delivered, 1);
  assert_int_equal(st.requests, 2);
  lsys_deliverer_destroy(d);
}

/* long_text returns n characters mixing 1- to 4-byte ones (caller frees). */
static char *long_text(size_t n) {
  static const char *const pieces[] = {"a", "é", "日", "\xf0\x9f\x98\x80", "<", "&"};
  char *s = malloc(n * 4 + 1);
  size_t w = 0;
  for (size_t i = 0; i < n; i++) {
    const char *p = pieces[i % 6];
    memcpy(s + w, p, strlen(p));
    w += strlen(p);
  }
  s[w] = '\0';
  return s;
}

/* unescape undoes the HTML escaping of a part (in place). */
static void unescape(char *s) {
  char *w = s;
  while (*s) {
    if (strncmp(s, "&lt;", 4) == 0) {
      *w++ = '<';
      s += 4;
    } else if (strncmp(s, "&gt;", 4) == 0) {
      *w++ = '>';
      s += 4;
    } else if (strncmp(s, "&amp;", 5) == 0) {
      *w++ = '&';
      s += 5;
    } else {
      *w++ = *s++;
    }
  }
  *w = '\0';
}

static void test_long_text_in_parts_and_resume(void **state) {
  (void)state;
  lsys_deliverer *d = make();
  char *text = long_text(10000);
  char *joined = calloc(1, strlen(text) + 1);
  int parts;

  /* Part 2 fails: RETRY, naming the part. */
  hr_push(&server, 200, "{\"ok\":true}", 0, NULL);
  hr_push(&server, 500, "{\"ok\":false}", 0, NULL);
  submit_tg(d, text, "\"log_id\":\"L77\"", NULL);
  assert_int_equal(drive(d, 1, 5000), 1);
  assert_int_equal(seen.r[0].outcome, LSYS_OUTCOME_RETRY);
  assert_non_null(strstr(seen.r[0].reason, "part 2/"));
  assert_non_null(strstr(seen.r[0].reason, "HTTP 500 from Telegram"));
  assert_int_equal(hr_wait(&server, 2, 0), 2);

  /* The retry of the same log_id sends the parts not yet delivered. */
  submit_tg(d, text, "\"log_id\":\"L77\"", NULL);
  assert_int_equal(drive(d, 2, 5000), 2);
  assert_int_equal(seen.r[1].outcome, LSYS_OUTCOME_OK);
  parts = hr_wait(&server, 99, 0);
  assert_true(parts >= 4); /* part 1, failed part 2, then parts 2.. */
  char *t = strdup(req_field(0, "text"));
  unescape(t);
  strcat(joined, t);
  free(t);
  for (int i = 2; i < parts; i++) {
    t = strdup(req_field(i, "text"));
    unescape(t);
    assert_true(lsys_tg_text_units(t, strlen(t)) <= LSYS_TG_TEXT_MAX);
    strcat(joined, t);
    free(t);
  }
  assert_string_equal(joined, text); /* every character once, in order */
  free(joined);
  free(text);
  lsys_deliverer_destroy(d);
}

static void test_burst_is_collapsed(void **state) {
  (void)state;
  cfg.tg_collapse_window_s = 1;
  lsys_deliverer *d = make();
  int tok[4];
  submit_tg(d, "10:30:00 db down", "\"notify_key\":\"nk1\"", &tok[0]);
  assert_int_equal(drive(d, 1, 5000), 1); /* the first goes out at once */
  submit_tg(d, "10:30:00.2 db down", "\"notify_key\":\"nk1\"", &tok[1]);
  submit_tg(d, "10:30:00.4 db down", "\"notify_key\":\"nk1\"", &tok[2]);
  submit_tg(d, "something else", "\"notify_key\":\"nk2\"", &tok[3]);
  assert_int_equal(drive(d, 4, 5000), 4);
  for (int i = 0; i < 4; i++)
    assert_int_equal(seen.r[i].outcome, LSYS_OUTCOME_OK);
  assert_ptr_equal(seen.token[1], &tok[3]); /* another notification is not held */
  /* Three requests: the first, the other one, one summary for two repeats. */
  assert_int_equal(hr_wait(&server, 99, 0), 3);
  assert_string_equal(req_field(0, "text"), "10:30:00 db down");
  assert_string_equal(req_field(1, "text"), "something else");
  assert_string_equal(req_field(2, "text"), "10:30:00.2 db down\n\n（過去 1 秒內重複 2 次）");
  assert_true(hr_get(&server, 2).t_ms - hr_get(&server, 0).t_ms >= 500); /* at the window's end */
  assert_non_null(strstr(seen.r[2].reason, "collapsed"));
  lsys_delivery_stats st;
  lsys_deliverer_stats(d, &st);
  assert_int_equal(st.collapsed, 2);
  assert_int_equal(st.delivered, 4);
  lsys_deliverer_destroy(d);
}

static void test_rate_limited_message_stays_pending(void **state) {
  (void)state;
  cfg.tg_chat_rate_per_min = 2;
  lsys_deliverer *d = make();
  submit_tg(d, "one", "", NULL);
  submit_tg(d, "two", "", NULL);
  submit_tg(d, "three", "", NULL);
  assert_int_equal(drive(d, 2, 5000), 2);
  /* The third waits for the chat's window: pending, not an error. */
  for (int i = 0; i < 5; i++)
    lsys_deliverer_poll(d, 20);
  assert_int_equal(seen.n, 2);
  assert_int_equal(lsys_deliverer_pending(d), 1);
  assert_int_equal(hr_wait(&server, 3, 0), 2);
  lsys_delivery_stats st;
  lsys_deliverer_stats(d, &st);
  assert_int_equal(st.rate_limited_waits, 1); /* counted once, not once per poll */
  lsys_deliverer_destroy(d);
  assert_int_equal(seen.n, 3);
  assert_int_equal(seen.r[2].outcome, LSYS_OUTCOME_RETRY);
  assert_string_equal(seen.r[2].reason, "shutting down");
}

static void test_held_messages_reported_on_shutdown(void **state) {
  (void)state;
  cfg.tg_collapse_window_s = 60;
  lsys_deliverer *d = make();
  submit_tg(d, "x", "\"notify_key\":\"k\"", NULL);
  assert_int_equal(drive(d, 1, 5000), 1);
  submit_tg(d, "x", "\"notify_key\":\"k\"", NULL);
  submit_tg(d, "x", "\"notify_key\":\"k\"", NULL);
  lsys_deliverer_poll(d, 20);
  assert_int_equal(lsys_deliverer_pending(d), 2);
  lsys_deliverer_destroy(d);
  assert_int_equal(seen.n, 3);
  assert_int_equal(seen.r[1].outcome, LSYS_OUTCOME_RETRY);
  assert_int_equal(seen.r[2].outcome, LSYS_OUTCOME_RETRY);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_send_message, setup, teardown),
      cmocka_unit_test_setup_teardown(test_missing_credentials, setup, teardown),
      cmocka_unit_test_setup_teardown(test_errors_never_show_the_token, setup, teardown),
      cmocka_unit_test_setup_teardown(test_429_is_waited_out, setup, teardown),
      cmocka_unit_test_setup_teardown(test_long_text_in_parts_and_resume, setup, teardown),
      cmocka_unit_test_setup_teardown(test_burst_is_collapsed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rate_limited_message_stays_pending, setup, teardown),
      cmocka_unit_test_setup_teardown(test_held_messages_reported_on_shutdown, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
