/* delivery_test.c - the deliverer (common/delivery.c) against an in-process
 * HTTP responder, LogBeacon side and what both sinks share: outcome
 * classification end to end (200/500/400/429/stall/refused), invalid
 * messages, api_key round trip, concurrency and keep-alive, the hold bound,
 * shutdown. Telegram behaviour is in delivery_telegram_test.c. */
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

#define MSG(n)                                                                                     \
  "{\"domain\":\"example.com\",\"program_name\":\"api_server\",\"level\":\"Error\","             \
  "\"def_name\":\"f\",\"message\":\"m" #n "\",\"extra_info\":\"x\",\"timestamp\":\"2025-11-26 "  \
  "10:30:00\",\"hash\":\"h\",\"log_id\":\"L" #n "\"}"

typedef struct outcomes {
  int n;
  void *token[64];
  lsys_delivery_result r[64];
} outcomes;

static hr server;
static char url[128];
static lsys_config cfg;
static outcomes seen;

static void collect(void *arg, void *token, const lsys_delivery_result *r) {
  outcomes *o = arg;
  assert_true(o->n < 64);
  o->token[o->n] = token;
  o->r[o->n++] = *r;
}

static int setup(void **state) {
  (void)state;
  hr_start(&server);
  snprintf(url, sizeof url, "http://127.0.0.1:%d/ingest", server.port);
  memset(&cfg, 0, sizeof cfg);
  memset(&seen, 0, sizeof seen);
  cfg.logbeacon_url = url;
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
  int rc = lsys_deliverer_create(&d, LSYS_SINK_KIND_LOGBEACON, &cfg, collect, &seen, err, sizeof err);
  if (rc != LSYS_OK)
    fail_msg("create: %s", err);
  return d;
}

static void submit(lsys_deliverer *d, const char *body, void *token) {
  assert_int_equal(lsys_deliverer_submit(d, body, strlen(body), token), LSYS_OK);
}

/* drive polls d until want outcomes were reported or timeout_ms passed. */
static int drive(lsys_deliverer *d, int want, int timeout_ms) {
  int64_t deadline = hr_now_ms() + timeout_ms;
  while (seen.n < want && hr_now_ms() < deadline)
    assert_int_equal(lsys_deliverer_poll(d, 50), LSYS_OK);
  return seen.n;
}

/* pump polls d until the server has seen n requests (transfers only move
 * while the owner polls); returns how many it saw. */
static int pump(lsys_deliverer *d, int n, int timeout_ms) {
  int64_t deadline = hr_now_ms() + timeout_ms;
  while (hr_wait(&server, n, 0) < n && hr_now_ms() < deadline)
    lsys_deliverer_poll(d, 20);
  return hr_wait(&server, n, 0);
}

static void test_create_needs_url(void **state) {
  (void)state;
  lsys_deliverer *d = (lsys_deliverer *)0x1;
  char err[256] = "";
  cfg.logbeacon_url = NULL;
  assert_int_equal(lsys_deliverer_create(&d, LSYS_SINK_KIND_LOGBEACON, &cfg, collect, &seen, err, sizeof err),
                   LSYS_ECONFIG);
  assert_ptr_equal(d, (lsys_deliverer *)0x1);
  assert_non_null(strstr(err, "LOGSYS_LOGBEACON_URL"));
  lsys_deliverer_destroy(NULL);
}

static void test_ok_sends_body_as_is(void **state) {
  (void)state;
  lsys_deliverer *d = make();
  int tok;
  submit(d, MSG(1), &tok);
  assert_int_equal(lsys_deliverer_pending(d), 1);
  assert_int_equal(drive(d, 1, 5000), 1);
  assert_ptr_equal(seen.token[0], &tok);
  assert_int_equal(seen.r[0].outcome, LSYS_OUTCOME_OK);
  assert_int_equal(seen.r[0].http_status, 200);
  assert_int_equal(lsys_deliverer_pending(d), 0);
  hr_request r = hr_get(&server, 0);
  assert_string_equal(r.path, "/ingest");
  assert_string_equal(r.ctype, "application/json");
  assert_string_equal(r.body, MSG(1));
  lsys_delivery_stats st;
  lsys_deliverer_stats(d, &st);
  assert_int_equal(st.delivered, 1);
  assert_int_equal(st.requests, 1);
  lsys_deliverer_destroy(d);
}

static void test_outcome_classes(void **state) {
  (void)state;
  const struct {
    int status;
    const char *headers;
    lsys_outcome want;
    const char *reason;
  } rows[] = {
      {500, NULL, LSYS_OUTCOME_RETRY, "HTTP 500 from LogBeacon"},
      {503, NULL, LSYS_OUTCOME_RETRY, "HTTP 503 from LogBeacon"},
      {429, "Retry-After: 3\r\n", LSYS_OUTCOME_RETRY, "HTTP 429 from LogBeacon, retry after 3 s"},
      {400, NULL, LSYS_OUTCOME_PERMANENT, "HTTP 400 from LogBeacon"},
      {404, NULL, LSYS_OUTCOME_PERMANENT, "HTTP 404 from LogBeacon"},
      {204, NULL, LSYS_OUTCOME_OK, "HTTP 204 from LogBeacon"},
  };
  lsys_deliverer *d = make();
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
    hr_push(&server, rows[i].status, rows[i].status == 204 ? "" : "{}", 0, rows[i].headers);
  /* One at a time, so each meets its scripted reply. */
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    submit(d, MSG(2), NULL);
    assert_int_equal(drive(d, (int)i + 1, 5000), (int)i + 1);
    const lsys_delivery_result *r = &seen.r[i];
    if (r->outcome != rows[i].want || (rows[i].reason && strcmp(r->reason, rows[i].reason) != 0))
      fail_msg("row %zu: got %d \"%s\"", i, r->outcome, r->reason);
    assert_int_equal(r->http_status, rows[i].status);
  }
  lsys_delivery_stats st;
  lsys_deliverer_stats(d, &st);
  assert_int_equal(st.delivered, 1);
  assert_int_equal(st.retry, 3);
  assert_int_equal(st.permanent, 2);
  lsys_deliverer_destroy(d);
}

static void test_no_answer(void **state) {
  (void)state;
  lsys_deliverer *d = make(); /* a fresh connection: curl does not resend on it */
  hr_push(&server, 0, NULL, 0, NULL);
  submit(d, MSG(2), NULL);
  assert_int_equal(drive(d, 1, 5000), 1);
  assert_int_equal(seen.r[0].outcome, LSYS_OUTCOME_RETRY);
  char want[200];
  snprintf(want, sizeof want, "empty reply (%s)", url);
  assert_string_equal(seen.r[0].reason, want);
  assert_int_equal(seen.r[0].http_status, 0);
  lsys_deliverer_destroy(d);
}

static void test_stalled_sink_times_out_without_blocking(void **state) {
  (void)state;
  cfg.http_timeout_ms = 1500;
  lsys_deliverer *d = make();
  hr_push(&server, 200, "{}", 10000, NULL);
  submit(d, MSG(3), NULL);
  assert_int_equal(pump(d, 1, 5000), 1);
  /* Each poll returns in about its own timeout although the sink stalls
   * (the bound is far below the HTTP timeout, and far above 50 ms). */
  for (int i = 0; i < 3; i++) {
    int64_t t0 = hr_now_ms();
    lsys_deliverer_poll(d, 50);
    assert_true(hr_now_ms() - t0 < 750);
  }
  assert_int_equal(seen.n, 0);
  assert_int_equal(drive(d, 1, 5000), 1);
  assert_int_equal(seen.r[0].outcome, LSYS_OUTCOME_RETRY);
  assert_string_equal(seen.r[0].reason, "timeout after 1500 ms");
  assert_int_equal(seen.r[0].http_status, 0);
  lsys_deliverer_destroy(d);
}

static void test_connection_refused(void **state) {
  (void)state;
  char closed[128], want[200];
  snprintf(closed, sizeof closed, "http://127.0.0.1:%d/ingest", hr_closed_port());
  snprintf(want, sizeof want, "connection refused (%s)", closed);
  cfg.logbeacon_url = closed;
  lsys_deliverer *d = make();
  submit(d, MSG(4), NULL);
  assert_int_equal(drive(d, 1, 5000), 1);
  assert_int_equal(seen.r[0].outcome, LSYS_OUTCOME_RETRY);
  assert_string_equal(seen.r[0].reason, want);
  lsys_deliverer_destroy(d);
}

static void test_invalid_messages_are_permanent(void **state) {
  (void)state;
  lsys_deliverer *d = make();
  int a, b;
  submit(d, "{not json", &a);
  submit(d, "{\"domain\":\"d\",\"program_name\":\"p\"}", &b);
  assert_int_equal(drive(d, 2, 5000), 2);
  assert_ptr_equal(seen.token[0], &a);
  assert_int_equal(seen.r[0].outcome, LSYS_OUTCOME_PERMANENT);
  assert_string_equal(seen.r[0].reason, "message is not a JSON object");
  assert_ptr_equal(seen.token[1], &b);
  assert_int_equal(seen.r[1].outcome, LSYS_OUTCOME_PERMANENT);
  assert_string_equal(seen.r[1].reason,
                      "message lacks level, def_name, message, extra_info, timestamp, hash");
  assert_int_equal(hr_wait(&server, 1, 0), 0); /* nothing was sent */
  lsys_deliverer_destroy(d);
}

/* body_key returns the api_key of request i's body, or NULL (static buffer). */
static const char *body_key(int i) {
  static char key[64];
  hr_request r = hr_get(&server, i);
  cJSON *o = cJSON_Parse(r.body);
  const cJSON *k = cJSON_GetObjectItemCaseSensitive(o, "api_key");
  const char *out = NULL;
  if (cJSON_IsString(k)) {
    snprintf(key, sizeof key, "%s", k->valuestring);
    out = key;
  }
  cJSON_Delete(o);
  return out;
}

static void test_api_key_round_trip(void **state) {
  (void)state;
  char dir[] = "/tmp/lsys_delivery_test_XXXXXX", path[256], buf[64] = "";
  assert_non_null(mkdtemp(dir));
  cfg.logbeacon_key_dir = dir;
  lsys_deliverer *d = make();

  hr_push(&server, 200, "{\"ok\":true,\"api_key\":\"KeY-1\"}", 0, NULL);
  submit(d, MSG(5), NULL);
  assert_int_equal(drive(d, 1, 5000), 1);
  assert_null(body_key(0));
  submit(d, MSG(6), NULL);
  assert_int_equal(drive(d, 2, 5000), 2);
  assert_string_equal(body_key(1), "KeY-1");

  /* Rotation: the newer key is used from then on. */
  hr_push(&server, 200, "{\"ok\":true,\"api_key\":\"KeY-2\"}", 0, NULL);
  submit(d, MSG(7), NULL);
  assert_int_equal(drive(d, 3, 5000), 3);
  submit(d, MSG(8), NULL);
  assert_int_equal(drive(d, 4, 5000), 4);
  assert_string_equal(body_key(3), "KeY-2");
  lsys_deliverer_destroy(d);

  snprintf(path, sizeof path, "%s/api_key-example.com-api_server-logbeacon.txt", dir);
  FILE *fp = fopen(path, "r");
  assert_non_null(fp);
  assert_non_null(fgets(buf, sizeof buf, fp));
  fclose(fp);
  assert_string_equal(buf, "KeY-2");

  /* A restarted deliverer sends the stored key at once. */
  d = make();
  submit(d, MSG(9), NULL);
  assert_int_equal(drive(d, 5, 5000), 5);
  assert_string_equal(body_key(4), "KeY-2");
  for (int i = 0; i < seen.n; i++)
    assert_null(strstr(seen.r[i].reason, "KeY"));
  lsys_deliverer_destroy(d);
  unlink(path);
  rmdir(dir);
}

static void test_concurrency_and_keep_alive(void **state) {
  (void)state;
  cfg.concurrency = 2;
  lsys_deliverer *d = make();
  hr_set_default(&server, 200, "{\"ok\":true}", 100);
  for (int i = 0; i < 8; i++)
    submit(d, MSG(10), NULL);
  assert_int_equal(lsys_deliverer_submit(d, MSG(10), strlen(MSG(10)), NULL), LSYS_EFULL);
  assert_int_equal(drive(d, 8, 10000), 8);
  for (int i = 0; i < 8; i++)
    assert_int_equal(seen.r[i].outcome, LSYS_OUTCOME_OK);
  pthread_mutex_lock(&server.mu);
  int max_active = server.max_active, conns = server.nconn;
  pthread_mutex_unlock(&server.mu);
  assert_true(max_active <= 2); /* never more than LOGSYS_CONCURRENCY in flight */
  assert_int_equal(max_active, 2); /* and it did use both */
  assert_true(conns <= 2);         /* connections were kept alive and reused */
  lsys_deliverer_destroy(d);
}

static void test_hold_bound_and_shutdown(void **state) {
  (void)state;
  cfg.concurrency = 1;
  lsys_deliverer *d = make();
  int tokens[LSYS_DELIVERER_HOLD_FACTOR];
  hr_set_default(&server, 200, "{}", 10000);
  for (int i = 0; i < LSYS_DELIVERER_HOLD_FACTOR; i++)
    submit(d, MSG(11), &tokens[i]);
  assert_int_equal(lsys_deliverer_submit(d, MSG(11), strlen(MSG(11)), NULL), LSYS_EFULL);
  assert_int_equal(lsys_deliverer_pending(d), LSYS_DELIVERER_HOLD_FACTOR);
  assert_int_equal(pump(d, 1, 5000), 1); /* one in flight, stalled */
  lsys_deliverer_destroy(d);
  /* Everyone hears back, in flight or queued. */
  assert_int_equal(seen.n, LSYS_DELIVERER_HOLD_FACTOR);
  for (int i = 0; i < seen.n; i++) {
    assert_int_equal(seen.r[i].outcome, LSYS_OUTCOME_RETRY);
    assert_string_equal(seen.r[i].reason, "shutting down");
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_create_needs_url, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ok_sends_body_as_is, setup, teardown),
      cmocka_unit_test_setup_teardown(test_outcome_classes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_no_answer, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stalled_sink_times_out_without_blocking, setup, teardown),
      cmocka_unit_test_setup_teardown(test_connection_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_invalid_messages_are_permanent, setup, teardown),
      cmocka_unit_test_setup_teardown(test_api_key_round_trip, setup, teardown),
      cmocka_unit_test_setup_teardown(test_concurrency_and_keep_alive, setup, teardown),
      cmocka_unit_test_setup_teardown(test_hold_bound_and_shutdown, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
