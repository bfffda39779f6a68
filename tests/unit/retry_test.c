/* retry_test.c - unit tests for workers/retry.c: the backoff schedule and the
 * headers of retried, dead-lettered and replayed messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backoff.h"
#include "retry.h"

/* field returns the field of h with key, or NULL. */
static const lsys_amqp_field *field(const lsys_retry_headers *h, const char *key) {
  for (size_t i = 0; i < h->n; i++)
    if (strcmp(h->fields[i].key, key) == 0)
      return &h->fields[i];
  return NULL;
}

static void test_backoff_doubles_without_jitter(void **state) {
  (void)state;
  /* rnd 0: no jitter, so the plain schedule base * 2^(n-1). */
  assert_int_equal(lsys_backoff_ms(1000, 300000, 1, 0), 1000);
  assert_int_equal(lsys_backoff_ms(1000, 300000, 2, 0), 2000);
  assert_int_equal(lsys_backoff_ms(1000, 300000, 3, 0), 4000);
  assert_int_equal(lsys_backoff_ms(1000, 300000, 9, 0), 256000);
  assert_int_equal(lsys_backoff_ms(1000, 300000, 10, 0), 300000); /* capped */
  assert_int_equal(lsys_backoff_ms(1000, 300000, 0, 0), 1000);   /* attempt < 1: as 1 */
}

static void test_backoff_capped_for_any_attempt(void **state) {
  (void)state;
  const uint32_t rnds[] = {0, 1, 12345, 0x80000000u, UINT32_MAX};
  for (int a = 1; a <= 100; a++) {
    for (size_t i = 0; i < sizeof rnds / sizeof rnds[0]; i++) {
      long d = lsys_backoff_ms(1000, 300000, a, rnds[i]);
      assert_true(d <= 300000);
      assert_true(d > 0);
    }
  }
  /* No overflow with huge values either. */
  assert_int_equal(lsys_backoff_ms(3600000, 86400000, 1000000, 0), 86400000);
  /* A base above the cap is cut to the cap. */
  assert_int_equal(lsys_backoff_ms(5000, 1000, 1, 0), 1000);
}

static void test_backoff_jitter_bounds(void **state) {
  (void)state;
  for (int a = 1; a <= 12; a++) {
    long plain = lsys_backoff_ms(200, 60000, a, 0);
    long most = lsys_backoff_ms(200, 60000, a, UINT32_MAX);
    /* jitter takes off at most a quarter */
    assert_true(most <= plain);
    assert_true(most >= plain - plain / 4);
    assert_true(most < plain); /* and it does take something off at the top */
    for (uint32_t r = 0; r < 1000; r++) {
      long d = lsys_backoff_ms(200, 60000, a, r * 4294967u);
      assert_in_range(d, plain - plain / 4, plain);
    }
  }
}

static void test_backoff_monotonic(void **state) {
  (void)state;
  /* Until the cap, the smallest delay of attempt n+1 is above the largest of n. */
  for (int a = 1; a < 20; a++) {
    long worst_next = lsys_backoff_ms(100, 300000, a + 1, UINT32_MAX);
    long best_this = lsys_backoff_ms(100, 300000, a, 0);
    long plain_next = lsys_backoff_ms(100, 300000, a + 1, 0);
    assert_true(plain_next >= best_this);
    if (plain_next < 300000)
      assert_true(worst_next > best_this);
  }
}

static void test_attempt_numbers(void **state) {
  (void)state;
  assert_int_equal(lsys_retry_attempt(0, 0), 1);
  assert_int_equal(lsys_retry_attempt(0, 7), 1); /* no header: value ignored */
  assert_int_equal(lsys_retry_attempt(1, 0), 1);
  assert_int_equal(lsys_retry_attempt(1, 1), 2);
  assert_int_equal(lsys_retry_attempt(1, 4), 5);
  assert_int_equal(lsys_retry_attempt(1, -3), 1);
  assert_int_equal(lsys_retry_attempt(1, 1LL << 40), 1000000);
  /* LOGSYS_MAX_ATTEMPTS=5: attempts 1..4 retry, the 5th goes to the DLQ. */
  assert_true(lsys_retry_should_retry(1, 5));
  assert_true(lsys_retry_should_retry(4, 5));
  assert_false(lsys_retry_should_retry(5, 5));
  assert_false(lsys_retry_should_retry(9, 5));
  assert_false(lsys_retry_should_retry(1, 1));
}

static void test_retry_headers(void **state) {
  (void)state;
  lsys_retry_headers h;
  lsys_retry_headers_retry(&h, 3, "HTTP 503 from LogBeacon", 4000);
  assert_string_equal(h.expiration, "4000");
  assert_int_equal(h.n, 2);
  const lsys_amqp_field *f = field(&h, "x-attempts");
  assert_non_null(f);
  assert_int_equal(f->kind, LSYS_AMQP_FIELD_INT);
  assert_int_equal(f->num, 3);
  f = field(&h, "x-last-reason");
  assert_non_null(f);
  assert_int_equal(f->kind, LSYS_AMQP_FIELD_STR);
  assert_string_equal(f->str, "HTTP 503 from LogBeacon");
  /* An empty reason still says something. */
  lsys_retry_headers_retry(&h, 1, "", 10);
  assert_string_equal(field(&h, "x-last-reason")->str, "unknown");
  lsys_retry_headers_retry(&h, 1, NULL, -5);
  assert_string_equal(h.expiration, "0");
}

static void test_dlq_headers(void **state) {
  (void)state;
  lsys_retry_headers h;
  lsys_retry_headers_dlq(&h, 5, "HTTP 400: Bad Request", "example.com_logbeacon",
                         (time_t)1764153000); /* 2025-11-26 10:30:00 UTC */
  assert_string_equal(h.expiration, "");
  assert_int_equal(h.n, 4);
  assert_string_equal(field(&h, "x-reason")->str, "HTTP 400: Bad Request");
  assert_int_equal(field(&h, "x-attempts")->num, 5);
  assert_string_equal(field(&h, "x-original-queue")->str, "example.com_logbeacon");
  assert_string_equal(field(&h, "x-failed-at")->str, "2025-11-26T10:30:00Z");
}

static void test_reason_cut_at_character(void **state) {
  (void)state;
  char reason[600];
  lsys_retry_headers h;
  /* 299 x "é" (2 bytes each): the cut must not split one. */
  size_t n = 0;
  for (int i = 0; i < 299; i++) {
    reason[n++] = (char)0xc3;
    reason[n++] = (char)0xa9;
  }
  reason[n] = '\0';
  lsys_retry_headers_dlq(&h, 1, reason, "q", 0);
  const char *r = field(&h, "x-reason")->str;
  size_t len = strlen(r);
  assert_true(len < LSYS_RETRY_REASON_MAX);
  assert_int_equal(len % 2, 0);
  assert_int_equal((unsigned char)r[len - 1], 0xa9);
}

static void test_replay_headers(void **state) {
  (void)state;
  lsys_retry_headers h;
  lsys_retry_headers_replay(&h);
  const char *keys[] = {"x-attempts", "x-last-reason", "x-reason", "x-original-queue",
                        "x-failed-at"};
  assert_int_equal(h.n, 5);
  for (size_t i = 0; i < 5; i++) {
    const lsys_amqp_field *f = field(&h, keys[i]);
    assert_non_null(f);
    assert_int_equal(f->kind, LSYS_AMQP_FIELD_DEL);
  }
  assert_string_equal(h.expiration, "");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_backoff_doubles_without_jitter),
      cmocka_unit_test(test_backoff_capped_for_any_attempt),
      cmocka_unit_test(test_backoff_jitter_bounds),
      cmocka_unit_test(test_backoff_monotonic),
      cmocka_unit_test(test_attempt_numbers),
      cmocka_unit_test(test_retry_headers),
      cmocka_unit_test(test_dlq_headers),
      cmocka_unit_test(test_reason_cut_at_character),
      cmocka_unit_test(test_replay_headers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
