/* client_drops_test.c - client drop totals become counter increments once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "client_drops.h"

static lsys_client_drops t;

static void increments_per_client(void **state) {
  (void)state;
  memset(&t, 0, sizeof t);
  assert_int_equal(lsys_client_drops_update(&t, "aaaaaaaaaaaaaaaa", 0), 0);
  assert_int_equal(lsys_client_drops_update(&t, "aaaaaaaaaaaaaaaa", 5), 5);
  assert_int_equal(lsys_client_drops_update(&t, "aaaaaaaaaaaaaaaa", 5), 0); /* resent total */
  assert_int_equal(lsys_client_drops_update(&t, "aaaaaaaaaaaaaaaa", 7), 2);
  assert_int_equal(lsys_client_drops_update(&t, "bbbbbbbbbbbbbbbb", 3), 3); /* another client */
  assert_int_equal(lsys_client_drops_update(&t, "aaaaaaaaaaaaaaaa", 6), 0); /* never backwards */
  assert_int_equal(lsys_client_drops_update(&t, "", 9), 0);
  assert_int_equal(lsys_client_drops_update(&t, NULL, 9), 0);
}

static void bounded_table(void **state) {
  (void)state;
  char id[17];
  uint64_t total = 0;
  memset(&t, 0, sizeof t);
  /* Many more clients than slots: memory stays fixed, every first report counts. */
  for (int i = 0; i < 10 * LSYS_CLIENT_DROPS_SLOTS; i++) {
    snprintf(id, sizeof id, "%016x", i);
    total += lsys_client_drops_update(&t, id, 1);
  }
  assert_int_equal(total, 10 * LSYS_CLIENT_DROPS_SLOTS);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(increments_per_client),
      cmocka_unit_test(bounded_table),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
