/* backoff_test.c - the shared backoff schedule grows, caps and jitters within bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "backoff.h"

static void grows_then_caps(void **state) {
  (void)state;
  /* rnd 0: no jitter, the exact schedule. */
  assert_int_equal(lsys_backoff_ms(100, 5000, 1, 0), 100);
  assert_int_equal(lsys_backoff_ms(100, 5000, 2, 0), 200);
  assert_int_equal(lsys_backoff_ms(100, 5000, 6, 0), 3200);
  assert_int_equal(lsys_backoff_ms(100, 5000, 7, 0), 5000);
  assert_int_equal(lsys_backoff_ms(100, 5000, 1000000, 0), 5000); /* no overflow */
  assert_int_equal(lsys_backoff_ms(100, 5000, 0, 0), 100);        /* attempt < 1 counts as 1 */
  assert_int_equal(lsys_backoff_ms(0, 0, 3, 0), 1);               /* nonsense settings stay sane */
}

static void jitter_within_a_quarter(void **state) {
  (void)state;
  for (int attempt = 1; attempt <= 12; attempt++) {
    long lo = 1L << 30, hi = 0;
    for (uint32_t r = 0; r < 4000; r++) {
      long d = lsys_backoff_ms(1000, 300000, attempt, r * 1073741u + 12345u);
      lo = d < lo ? d : lo;
      hi = d > hi ? d : hi;
    }
    long full = lsys_backoff_ms(1000, 300000, attempt, 0);
    assert_true(hi <= full);
    assert_true(lo >= full - full / 4);
    assert_true(lo < hi); /* it does jitter */
    if (attempt > 1 && full < 300000) /* successive ranges do not overlap below the cap */
      assert_true(lo > lsys_backoff_ms(1000, 300000, attempt - 1, 0));
  }
  assert_true(lsys_backoff_ms(1000, 300000, 3, UINT32_MAX) >= 3000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(grows_then_caps),
      cmocka_unit_test(jitter_within_a_quarter),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
