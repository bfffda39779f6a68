/* http_multi_test.c - unit tests for common/http_multi.c: the outcome
 * classification table, and transfers that fail without a server
 * (connection refused, shutdown with transfers in flight, the in-flight bound). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "errors.h"
#include "http_multi.h"

#define URL "http://127.0.0.1:1234/ingest"

typedef struct row {
  int curl_code;
  int os_errno;
  long status;
  long retry_after_s;
  lsys_outcome want;
  const char *reason; /* exact */
} row;

static void test_classification_table(void **state) {
  (void)state;
  const row rows[] = {
      {0, 0, 200, -1, LSYS_OUTCOME_OK, "HTTP 200 from LogBeacon"},
      {0, 0, 201, -1, LSYS_OUTCOME_OK, "HTTP 201 from LogBeacon"},
      {0, 0, 204, -1, LSYS_OUTCOME_OK, "HTTP 204 from LogBeacon"},
      {0, 0, 299, -1, LSYS_OUTCOME_OK, "HTTP 299 from LogBeacon"},
      {0, 0, 301, -1, LSYS_OUTCOME_PERMANENT, "HTTP 301 from LogBeacon (redirects are not followed)"},
      {0, 0, 400, -1, LSYS_OUTCOME_PERMANENT, "HTTP 400 from LogBeacon"},
      {0, 0, 401, -1, LSYS_OUTCOME_PERMANENT, "HTTP 401 from LogBeacon"},
      {0, 0, 403, -1, LSYS_OUTCOME_PERMANENT, "HTTP 403 from LogBeacon"},
      {0, 0, 404, -1, LSYS_OUTCOME_PERMANENT, "HTTP 404 from LogBeacon"},
      {0, 0, 408, -1, LSYS_OUTCOME_PERMANENT, "HTTP 408 from LogBeacon"},
      {0, 0, 413, -1, LSYS_OUTCOME_PERMANENT, "HTTP 413 from LogBeacon"},
      {0, 0, 429, -1, LSYS_OUTCOME_RETRY, "HTTP 429 from LogBeacon"},
      {0, 0, 429, 7, LSYS_OUTCOME_RETRY, "HTTP 429 from LogBeacon, retry after 7 s"},
      {0, 0, 499, -1, LSYS_OUTCOME_PERMANENT, "HTTP 499 from LogBeacon"},
      {0, 0, 500, -1, LSYS_OUTCOME_RETRY, "HTTP 500 from LogBeacon"},
      {0, 0, 502, -1, LSYS_OUTCOME_RETRY, "HTTP 502 from LogBeacon"},
      {0, 0, 503, 30, LSYS_OUTCOME_RETRY, "HTTP 503 from LogBeacon"},
      {0, 0, 504, -1, LSYS_OUTCOME_RETRY, "HTTP 504 from LogBeacon"},
      {0, 0, 599, -1, LSYS_OUTCOME_RETRY, "HTTP 599 from LogBeacon"},
      {0, 0, 101, -1, LSYS_OUTCOME_RETRY, "unexpected HTTP 101 from LogBeacon"},
      {0, 0, 0, -1, LSYS_OUTCOME_RETRY, "no HTTP status (" URL ")"},
      {CURLE_COULDNT_CONNECT, ECONNREFUSED, 0, -1, LSYS_OUTCOME_RETRY, "connection refused (" URL ")"},
      {CURLE_COULDNT_CONNECT, EHOSTUNREACH, 0, -1, LSYS_OUTCOME_RETRY,
       "cannot connect: No route to host (" URL ")"},
      {CURLE_COULDNT_CONNECT, 0, 0, -1, LSYS_OUTCOME_RETRY, "cannot connect (" URL ")"},
      {CURLE_OPERATION_TIMEDOUT, 0, 0, -1, LSYS_OUTCOME_RETRY, "timeout after 10000 ms"},
      {CURLE_COULDNT_RESOLVE_HOST, 0, 0, -1, LSYS_OUTCOME_RETRY, "cannot resolve host (" URL ")"},
      {CURLE_GOT_NOTHING, 0, 0, -1, LSYS_OUTCOME_RETRY, "empty reply (" URL ")"},
      {CURLE_RECV_ERROR, ECONNRESET, 0, -1, LSYS_OUTCOME_RETRY,
       "connection lost: Connection reset by peer (" URL ")"},
      {CURLE_SEND_ERROR, EPIPE, 0, -1, LSYS_OUTCOME_RETRY, "connection lost: Broken pipe (" URL ")"},
      {CURLE_URL_MALFORMAT, 0, 0, -1, LSYS_OUTCOME_PERMANENT, "invalid URL (" URL ")"},
      {CURLE_UNSUPPORTED_PROTOCOL, 0, 0, -1, LSYS_OUTCOME_PERMANENT, "invalid URL (" URL ")"},
      {CURLE_ABORTED_BY_CALLBACK, 0, 0, -1, LSYS_OUTCOME_RETRY, "shutting down"},
      {CURLE_OUT_OF_MEMORY, 0, 0, -1, LSYS_OUTCOME_RETRY, "Out of memory (" URL ")"},
      /* An HTTP status with a transport error (e.g. body cut off) is no answer. */
      {CURLE_PARTIAL_FILE, 0, 200, -1, LSYS_OUTCOME_RETRY,
       "Transferred a partial file (" URL ")"},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    lsys_http_response r = {.curl_code = rows[i].curl_code,
                            .os_errno = rows[i].os_errno,
                            .status = rows[i].status,
                            .body = "",
                            .retry_after_s = rows[i].retry_after_s};
    lsys_delivery_result out;
    memset(&out, 0x55, sizeof out);
    lsys_http_multi_classify(&r, "LogBeacon", URL, 10000, &out);
    if (out.outcome != rows[i].want || strcmp(out.reason, rows[i].reason) != 0)
      fail_msg("row %zu: got %d \"%s\", want %d \"%s\"", i, out.outcome, out.reason, rows[i].want,
               rows[i].reason);
    assert_int_equal(out.http_status, rows[i].curl_code == 0 ? rows[i].status : 0);
  }
}

static void test_classify_without_url(void **state) {
  (void)state;
  lsys_http_response r = {.curl_code = CURLE_COULDNT_CONNECT, .os_errno = ECONNREFUSED, .body = ""};
  lsys_delivery_result out;
  lsys_http_multi_classify(&r, "Telegram", NULL, 500, &out);
  assert_string_equal(out.reason, "connection refused");
}

typedef struct seen {
  int n;
  void *tokens[8];
  lsys_http_response last;
} seen;

static void on_done(void *arg, void *token, const lsys_http_response *r) {
  seen *s = arg;
  assert_true(s->n < 8);
  s->tokens[s->n++] = token;
  s->last = *r;
  s->last.body = NULL; /* only valid during the callback */
}

/* closed_port returns a local TCP port nothing listens on. */
static int closed_port(void) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  close(fd);
  return ntohs(a.sin_port);
}

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_connection_refused_and_bound(void **state) {
  (void)state;
  lsys_http_multi *m = NULL;
  seen s = {0};
  char url[64];
  int tok1, tok2, tok3;
  snprintf(url, sizeof url, "http://127.0.0.1:%d/x", closed_port());

  assert_int_equal(lsys_http_multi_create(&m, 2, 2000, on_done, &s), LSYS_OK);
  assert_int_equal(lsys_http_multi_post(m, url, "{}", 2, &tok1), LSYS_OK);
  assert_int_equal(lsys_http_multi_post(m, url, "{}", 2, &tok2), LSYS_OK);
  assert_int_equal(lsys_http_multi_post(m, url, "{}", 2, &tok3), LSYS_EFULL);
  assert_int_equal(lsys_http_multi_in_flight(m), 2);
  int64_t deadline = mono_ms() + 5000;
  while (s.n < 2 && mono_ms() < deadline)
    lsys_http_multi_run(m, 100);
  assert_int_equal(s.n, 2);
  assert_int_equal(s.last.curl_code, CURLE_COULDNT_CONNECT);
  assert_int_equal(s.last.os_errno, ECONNREFUSED);
  assert_int_equal(s.last.status, 0);
  assert_int_equal(lsys_http_multi_in_flight(m), 0);
  /* Slots are reused. */
  assert_int_equal(lsys_http_multi_post(m, url, "{}", 2, &tok3), LSYS_OK);
  lsys_http_multi_destroy(m); /* reports tok3 as aborted */
  assert_int_equal(s.n, 3);
  assert_ptr_equal(s.tokens[2], &tok3);
  assert_int_equal(s.last.curl_code, CURLE_ABORTED_BY_CALLBACK);
  lsys_http_multi_destroy(NULL);
}

static void test_run_honours_timeout(void **state) {
  (void)state;
  lsys_http_multi *m = NULL;
  seen s = {0};
  assert_int_equal(lsys_http_multi_create(&m, 1, 1000, on_done, &s), LSYS_OK);
  int64_t t0 = mono_ms();
  assert_int_equal(lsys_http_multi_run(m, 100), 0); /* nothing to do: waits, then returns */
  int64_t took = mono_ms() - t0;
  assert_true(took >= 90 && took < 1000);
  t0 = mono_ms();
  lsys_http_multi_run(m, 0);
  assert_true(mono_ms() - t0 < 50);
  lsys_http_multi_destroy(m);
}

static void test_create_rejects_nonsense(void **state) {
  (void)state;
  lsys_http_multi *m = (lsys_http_multi *)0x1;
  seen s = {0};
  assert_int_equal(lsys_http_multi_create(&m, 0, 1000, on_done, &s), LSYS_EINVAL);
  assert_int_equal(lsys_http_multi_create(&m, 1, 0, on_done, &s), LSYS_EINVAL);
  assert_int_equal(lsys_http_multi_create(&m, 1, 1000, NULL, &s), LSYS_EINVAL);
  assert_ptr_equal(m, (lsys_http_multi *)0x1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_classification_table),
      cmocka_unit_test(test_classify_without_url),
      cmocka_unit_test(test_connection_refused_and_bound),
      cmocka_unit_test(test_run_honours_timeout),
      cmocka_unit_test(test_create_rejects_nonsense),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
