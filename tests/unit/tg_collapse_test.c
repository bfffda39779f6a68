/* tg_collapse_test.c - unit tests for common/tg_collapse.c with a hand-held
 * clock: leaders, holding, windows, early summaries, failures, idle keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "errors.h"
#include "tg_collapse.h"

#define W 10000 /* window, ms */

static int items[16]; /* stand-ins for the owner's messages */
#define ITEM(i) ((void *)&items[i])

/* count_item counts drained items and checks they are ours. */
static void count_item(void *arg, void *item) {
  int *n = arg;
  assert_true(item >= (void *)&items[0] && item <= (void *)&items[15]);
  (*n)++;
}

static lsys_tg_collapse *make(size_t max_held) {
  lsys_tg_collapse *c = NULL;
  assert_int_equal(lsys_tg_collapse_create(&c, W, max_held), LSYS_OK);
  return c;
}

static void test_create_rejects_nonsense(void **state) {
  (void)state;
  lsys_tg_collapse *c = (lsys_tg_collapse *)0x1;
  assert_int_equal(lsys_tg_collapse_create(&c, 0, 4), LSYS_EINVAL);
  assert_int_equal(lsys_tg_collapse_create(&c, W, 0), LSYS_EINVAL);
  assert_ptr_equal(c, (lsys_tg_collapse *)0x1);
  lsys_tg_collapse_destroy(NULL);
}

static void test_burst_becomes_one_summary(void **state) {
  (void)state;
  lsys_tg_collapse *c = make(100);
  const char *key = NULL;
  void *first = NULL, **taken = NULL;
  unsigned span = 0;
  int64_t t = 1000000;

  assert_int_equal(lsys_tg_collapse_admit(c, "k", t, ITEM(0)), LSYS_TG_COLLAPSE_SEND);
  /* Held while the leader has not even started (it may wait for a rate limit). */
  assert_int_equal(lsys_tg_collapse_admit(c, "k", t + 5, ITEM(1)), LSYS_TG_COLLAPSE_HOLD);
  assert_int_equal(lsys_tg_collapse_next_due(c, t + 5), INT64_MAX); /* leader not sent yet */
  lsys_tg_collapse_started(c, "k", t + 100);
  assert_int_equal(lsys_tg_collapse_admit(c, "k", t + 200, ITEM(2)), LSYS_TG_COLLAPSE_HOLD);
  assert_int_equal(lsys_tg_collapse_admit(c, "k", t + 9000, ITEM(3)), LSYS_TG_COLLAPSE_HOLD);
  assert_int_equal(lsys_tg_collapse_held(c), 3);
  /* Another key is independent. */
  assert_int_equal(lsys_tg_collapse_admit(c, "other", t + 200, ITEM(9)), LSYS_TG_COLLAPSE_SEND);

  assert_int_equal(lsys_tg_collapse_next_due(c, t + 300), t + 100 + W);
  assert_int_equal(lsys_tg_collapse_due(c, t + 100 + W - 1, &key, &first), 0);
  assert_int_equal(lsys_tg_collapse_due(c, t + 100 + W, &key, &first), 1);
  assert_string_equal(key, "k");
  assert_ptr_equal(first, ITEM(1));
  assert_int_equal(lsys_tg_collapse_due(c, t + 100 + W, &key, &first), 0); /* queued once */
  assert_int_equal(lsys_tg_collapse_next_due(c, t + 100 + W), INT64_MAX);

  /* The queued summary keeps absorbing its key until it starts. */
  assert_int_equal(lsys_tg_collapse_admit(c, "k", t + 100 + W + 50, ITEM(4)), LSYS_TG_COLLAPSE_HOLD);
  assert_int_equal(lsys_tg_collapse_take(c, "k", t + 100 + W + 500, &taken, &span), 4);
  assert_ptr_equal(taken[0], ITEM(1));
  assert_ptr_equal(taken[1], ITEM(2));
  assert_ptr_equal(taken[2], ITEM(3));
  assert_ptr_equal(taken[3], ITEM(4));
  assert_int_equal(span, 11); /* 10.5 s since the leader's send, to the nearest second */
  assert_int_equal(lsys_tg_collapse_held(c), 0);
  free(taken);

  /* The summary is a send of the key: the window starts again. */
  lsys_tg_collapse_started(c, "k", t + 100 + W + 500);
  assert_int_equal(lsys_tg_collapse_admit(c, "k", t + 100 + W + 600, ITEM(5)), LSYS_TG_COLLAPSE_HOLD);
  assert_int_equal(lsys_tg_collapse_next_due(c, t + 100 + W + 600), t + 100 + 2 * W + 500);
  int n = 0;
  lsys_tg_collapse_drain(c, count_item, &n);
  assert_int_equal(n, 1);
  lsys_tg_collapse_destroy(c);
}

static void test_quiet_key_is_sent_again(void **state) {
  (void)state;
  lsys_tg_collapse *c = make(100);
  const char *key;
  void *first;

  assert_int_equal(lsys_tg_collapse_admit(c, "k", 0 + 1, ITEM(0)), LSYS_TG_COLLAPSE_SEND);
  lsys_tg_collapse_started(c, "k", 10);
  /* Nothing held: after the window the key is forgotten and leads again. */
  assert_int_equal(lsys_tg_collapse_due(c, 10 + W, &key, &first), 0);
  assert_int_equal(lsys_tg_collapse_admit(c, "k", 10 + W, ITEM(1)), LSYS_TG_COLLAPSE_SEND);
  lsys_tg_collapse_destroy(c);
}

static void test_bound_sends_summary_early(void **state) {
  (void)state;
  lsys_tg_collapse *c = make(3);
  const char *key;
  void *first, **taken = NULL;
  unsigned span;

  assert_int_equal(lsys_tg_collapse_admit(c, "k", 0, ITEM(0)), LSYS_TG_COLLAPSE_SEND);
  lsys_tg_collapse_started(c, "k", 100);
  assert_int_equal(lsys_tg_collapse_admit(c, "k", 200, ITEM(1)), LSYS_TG_COLLAPSE_HOLD);
  assert_int_equal(lsys_tg_collapse_admit(c, "k", 300, ITEM(2)), LSYS_TG_COLLAPSE_HOLD);
  assert_int_equal(lsys_tg_collapse_due(c, 300, &key, &first), 0); /* window still open */
  assert_int_equal(lsys_tg_collapse_admit(c, "k", 400, ITEM(3)), LSYS_TG_COLLAPSE_HOLD);
  assert_int_equal(lsys_tg_collapse_next_due(c, 400), 400); /* bound reached: due now */
  assert_int_equal(lsys_tg_collapse_due(c, 400, &key, &first), 1);
  assert_int_equal(lsys_tg_collapse_take(c, "k", 450, &taken, &span), 3);
  assert_int_equal(span, 1);
  free(taken);
  lsys_tg_collapse_destroy(c);
}

static void test_failed_send_releases_held(void **state) {
  (void)state;
  lsys_tg_collapse *c = make(100);
  const char *key;
  void *first;

  assert_int_equal(lsys_tg_collapse_admit(c, "k", 0, ITEM(0)), LSYS_TG_COLLAPSE_SEND);
  lsys_tg_collapse_started(c, "k", 100);
  assert_int_equal(lsys_tg_collapse_admit(c, "k", 200, ITEM(1)), LSYS_TG_COLLAPSE_HOLD);
  lsys_tg_collapse_failed(c, "k");
  /* The held message does not wait for a window opened by a failed send. */
  assert_int_equal(lsys_tg_collapse_due(c, 300, &key, &first), 1);
  assert_ptr_equal(first, ITEM(1));
  lsys_tg_collapse_failed(c, "unknown"); /* harmless */
  lsys_tg_collapse_destroy(c); /* ITEM(1) still held: destroy does not touch items */
}

static void test_drain(void **state) {
  (void)state;
  lsys_tg_collapse *c = make(100);
  int n = 0;

  for (int i = 0; i < 5; i++)
    lsys_tg_collapse_admit(c, i < 3 ? "a" : "b", i, ITEM(i));
  assert_int_equal(lsys_tg_collapse_held(c), 3); /* a: 1 lead + 2 held; b: 1 lead + 1 held */
  lsys_tg_collapse_drain(c, count_item, &n);
  assert_int_equal(n, 3);
  assert_int_equal(lsys_tg_collapse_held(c), 0);
  assert_int_equal(lsys_tg_collapse_next_due(c, 0), INT64_MAX);
  lsys_tg_collapse_destroy(c);
}

static void test_many_keys(void **state) {
  (void)state;
  lsys_tg_collapse *c = make(10000);
  char key[32];
  for (int i = 0; i < 2000; i++) {
    snprintf(key, sizeof key, "key-%d", i);
    assert_int_equal(lsys_tg_collapse_admit(c, key, 0, ITEM(0)), LSYS_TG_COLLAPSE_SEND);
    lsys_tg_collapse_started(c, key, 1);
  }
  for (int i = 0; i < 2000; i++) {
    snprintf(key, sizeof key, "key-%d", i);
    assert_int_equal(lsys_tg_collapse_admit(c, key, 2, ITEM(1)), LSYS_TG_COLLAPSE_HOLD);
  }
  assert_int_equal(lsys_tg_collapse_held(c), 2000);
  int n = 0;
  lsys_tg_collapse_drain(c, count_item, &n);
  assert_int_equal(n, 2000);
  lsys_tg_collapse_destroy(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_create_rejects_nonsense),
      cmocka_unit_test(test_burst_becomes_one_summary),
      cmocka_unit_test(test_quiet_key_is_sent_again),
      cmocka_unit_test(test_bound_sends_summary_early),
      cmocka_unit_test(test_failed_send_releases_held),
      cmocka_unit_test(test_drain),
      cmocka_unit_test(test_many_keys),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
