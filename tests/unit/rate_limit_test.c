/* rate_limit_test.c - unit tests for common/rate_limit.c, driven by a
 * hand-held clock (every call takes the time). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "errors.h"
#include "rate_limit.h"

static void test_create_rejects_nonsense(void **state) {
  (void)state;
  lsys_rate_limit *rl = (lsys_rate_limit *)0x1;
  assert_int_equal(lsys_rate_limit_create(&rl, 0, 1000), LSYS_EINVAL);
  assert_int_equal(lsys_rate_limit_create(&rl, 3, 0), LSYS_EINVAL);
  assert_int_equal(lsys_rate_limit_create(NULL, 3, 1000), LSYS_EINVAL);
  assert_ptr_equal(rl, (lsys_rate_limit *)0x1); /* untouched on failure */
  lsys_rate_limit_destroy(NULL);
}

static void test_burst_then_window(void **state) {
  (void)state;
  lsys_rate_limit *rl = NULL;
  assert_int_equal(lsys_rate_limit_create(&rl, 3, 1000), LSYS_OK);
  int64_t t = 10000;

  /* A burst of N goes at once. */
  for (int i = 0; i < 3; i++) {
    assert_int_equal(lsys_rate_limit_wait(rl, t), 0);
    lsys_rate_limit_take(rl, t);
  }
  /* The fourth waits until the first leaves the window. */
  assert_int_equal(lsys_rate_limit_wait(rl, t), 1000);
  assert_int_equal(lsys_rate_limit_wait(rl, t + 400), 600);
  assert_int_equal(lsys_rate_limit_wait(rl, t + 999), 1);
  assert_int_equal(lsys_rate_limit_wait(rl, t + 1000), 0);
  lsys_rate_limit_take(rl, t + 1000);
  /* The other two of the burst still count until t + 1000 as well. */
  assert_int_equal(lsys_rate_limit_wait(rl, t + 1000), 0);
  lsys_rate_limit_take(rl, t + 1000);
  lsys_rate_limit_take(rl, t + 1000);
  assert_int_equal(lsys_rate_limit_wait(rl, t + 1000), 1000);
  lsys_rate_limit_destroy(rl);
}

/* A continuously refilled bucket lets 2N through in some window; this one
 * never lets more than N through in any window of P. Drive it greedily with
 * an uneven clock and check every window. */
static void test_never_more_than_n_in_any_window(void **state) {
  (void)state;
  enum { N = 5, P = 1000, EVENTS = 200 };
  lsys_rate_limit *rl = NULL;
  int64_t times[EVENTS];
  int64_t t = 0;
  int got = 0;
  assert_int_equal(lsys_rate_limit_create(&rl, N, P), LSYS_OK);
  while (got < EVENTS) {
    int64_t w = lsys_rate_limit_wait(rl, t);
    if (w == 0) {
      lsys_rate_limit_take(rl, t);
      times[got++] = t;
    } else {
      t += (got % 3 == 0) ? w : 1 + (w / 2); /* sometimes exactly, sometimes early */
    }
  }
  for (int i = 0; i < EVENTS; i++) {
    int in_window = 0;
    for (int k = i; k < EVENTS && times[k] < times[i] + P; k++)
      in_window++;
    assert_true(in_window <= N);
  }
  /* And it is not stingy: 200 events at 5/s take about 40 s, not more. */
  assert_true(times[EVENTS - 1] <= (EVENTS / N) * P);
  lsys_rate_limit_destroy(rl);
}

static void test_block_for_retry_after(void **state) {
  (void)state;
  lsys_rate_limit *rl = NULL;
  assert_int_equal(lsys_rate_limit_create(&rl, 30, 1000), LSYS_OK);
  assert_true(lsys_rate_limit_idle(rl, 0));
  lsys_rate_limit_block(rl, 5000);
  assert_false(lsys_rate_limit_idle(rl, 1000));
  assert_int_equal(lsys_rate_limit_wait(rl, 1000), 4000);
  lsys_rate_limit_block(rl, 3000); /* an earlier block does not shorten it */
  assert_int_equal(lsys_rate_limit_wait(rl, 1000), 4000);
  lsys_rate_limit_block(rl, 7000); /* a later one extends it */
  assert_int_equal(lsys_rate_limit_wait(rl, 1000), 6000);
  assert_int_equal(lsys_rate_limit_wait(rl, 7000), 0);
  assert_true(lsys_rate_limit_idle(rl, 7000));
  lsys_rate_limit_destroy(rl);
}

static void test_block_and_window_combine(void **state) {
  (void)state;
  lsys_rate_limit *rl = NULL;
  assert_int_equal(lsys_rate_limit_create(&rl, 1, 60000), LSYS_OK);
  lsys_rate_limit_take(rl, 1000);
  assert_false(lsys_rate_limit_idle(rl, 60999));
  assert_true(lsys_rate_limit_idle(rl, 61000));
  lsys_rate_limit_block(rl, 2000);
  assert_int_equal(lsys_rate_limit_wait(rl, 1500), 59500); /* the window is longer */
  lsys_rate_limit_block(rl, 90000);
  assert_int_equal(lsys_rate_limit_wait(rl, 1500), 88500); /* the block is longer */
  lsys_rate_limit_destroy(rl);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_create_rejects_nonsense),
      cmocka_unit_test(test_burst_then_window),
      cmocka_unit_test(test_never_more_than_n_in_any_window),
      cmocka_unit_test(test_block_for_retry_after),
      cmocka_unit_test(test_block_and_window_combine),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
