/* confirm_window_test.c - every published tag is settled exactly once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "confirm_window.h"
#include "errors.h"

typedef struct tally {
  int acked[64], nacked[64];
} tally;

static void count(void *arg, void *owner, size_t item, int ack) {
  tally *t = arg;
  assert_ptr_equal(owner, t);
  if (ack)
    t->acked[item]++;
  else
    t->nacked[item]++;
}

static void multiple_single_and_full(void **state) {
  (void)state;
  lsys_confirms *c = NULL;
  tally t;
  memset(&t, 0, sizeof t);
  assert_int_equal(lsys_confirms_create(&c, 8), LSYS_OK);
  for (uint64_t tag = 1; tag <= 8; tag++)
    assert_int_equal(lsys_confirms_add(c, tag, &t, tag), LSYS_OK);
  assert_true(lsys_confirms_full(c));
  assert_int_equal(lsys_confirms_add(c, 9, &t, 9), LSYS_EFULL);
  assert_int_equal(lsys_confirms_add(c, 7, &t, 7), LSYS_EINVAL); /* not the next tag */

  lsys_confirms_settle(c, 5, 0, 1, count, &t); /* single, out of order */
  assert_int_equal(t.acked[5], 1);
  assert_true(lsys_confirms_full(c)); /* tag 1 still holds the window's base */
  lsys_confirms_settle(c, 6, 1, 1, count, &t); /* multiple: 1..6, 5 not twice */
  for (int i = 1; i <= 6; i++)
    assert_int_equal(t.acked[i], 1);
  assert_int_equal(lsys_confirms_inflight(c), 2);
  assert_false(lsys_confirms_full(c));
  lsys_confirms_settle(c, 7, 0, 0, count, &t); /* nack */
  assert_int_equal(t.nacked[7], 1);
  lsys_confirms_settle(c, 6, 1, 1, count, &t); /* repeated: ignored */
  lsys_confirms_settle(c, 99, 1, 1, count, &t); /* beyond what was published: ignored */
  assert_int_equal(t.acked[8], 0);

  /* Wrap around the ring many times. */
  for (uint64_t tag = 9; tag < 1000; tag++) {
    assert_int_equal(lsys_confirms_add(c, tag, &t, tag % 64), LSYS_OK);
    if (tag % 3 == 0)
      lsys_confirms_settle(c, tag, 1, 1, count, &t);
  }
  lsys_confirms_settle(c, 999, 1, 1, count, &t);
  assert_int_equal(lsys_confirms_inflight(c), 0);
  lsys_confirms_destroy(c);
}

static void abandon_settles_the_rest_as_not_confirmed(void **state) {
  (void)state;
  lsys_confirms *c = NULL;
  tally t;
  memset(&t, 0, sizeof t);
  assert_int_equal(lsys_confirms_create(&c, 16), LSYS_OK);
  for (uint64_t tag = 1; tag <= 10; tag++)
    lsys_confirms_add(c, tag, &t, tag);
  lsys_confirms_settle(c, 4, 1, 1, count, &t);
  lsys_confirms_abandon(c, count, &t);
  for (int i = 1; i <= 4; i++)
    assert_int_equal(t.acked[i] + t.nacked[i] * 10, 1);
  for (int i = 5; i <= 10; i++)
    assert_int_equal(t.nacked[i], 1);
  assert_int_equal(lsys_confirms_inflight(c), 0);
  /* A new channel starts at tag 1 again. */
  assert_int_equal(lsys_confirms_add(c, 1, &t, 1), LSYS_OK);
  lsys_confirms_destroy(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(multiple_single_and_full),
      cmocka_unit_test(abandon_settles_the_rest_as_not_confirmed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
