/* routing_test.c - unit tests for common/routing.c. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "errors.h"
#include "routing.h"

#define C LSYS_SINK_CONSOLE
#define L LSYS_SINK_LOGBEACON
#define D LSYS_SINK_TG_DEVELOPER
#define U LSYS_SINK_TG_CUSTOMER

static void test_default_rows(void **state) {
  (void)state;
  static const struct {
    long level;
    const char *name;
    unsigned sinks;
  } want[] = {
      {0, "Debug", C},           {1, "Info", C | L},
      {9, "Error", C | L | D},   {11, "Info_CTG", C | L | U},
      {91, "Error_CTG", C | L | D | U}, {99, "Monitor", C},
  };
  lsys_route_table t;
  memset(&t, 0xab, sizeof t);
  lsys_routing_default(&t);
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    const lsys_route *r = lsys_routing_lookup(&t, want[i].level);
    assert_non_null(r);
    assert_int_equal(r->level, want[i].level);
    assert_string_equal(r->name, want[i].name);
    assert_int_equal(r->sinks, want[i].sinks);
    assert_string_equal(lsys_routing_level_name(want[i].level), want[i].name);
  }
}

static void test_unknown_levels(void **state) {
  (void)state;
  const long bad[] = {-1, 2, 8, 10, 12, 90, 92, 98, 100, 255, 256, 100000, LONG_MAX, LONG_MIN,
                      (long)INT_MAX, (long)INT_MIN};
  lsys_route_table t;
  lsys_routing_default(&t);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_null(lsys_routing_lookup(&t, bad[i]));
    assert_null(lsys_routing_level_name(bad[i]));
    assert_int_equal(lsys_routing_set(&t, bad[i], C), LSYS_EINVAL);
  }
}

static void test_set_override(void **state) {
  (void)state;
  lsys_route_table t;
  lsys_routing_default(&t);
  assert_int_equal(lsys_routing_set(&t, 9, C | L), LSYS_OK);
  assert_int_equal(lsys_routing_lookup(&t, 9)->sinks, C | L);
  assert_string_equal(lsys_routing_lookup(&t, 9)->name, "Error");
  assert_int_equal(lsys_routing_set(&t, 0, 0), LSYS_OK);
  assert_int_equal(lsys_routing_lookup(&t, 0)->sinks, 0);
  /* Other rows keep their defaults. */
  assert_int_equal(lsys_routing_lookup(&t, 91)->sinks, C | L | D | U);
  assert_int_equal(lsys_routing_lookup(&t, 1)->sinks, C | L);
  /* Unknown sink bits are refused and change nothing. */
  assert_int_equal(lsys_routing_set(&t, 1, 1u << 7), LSYS_EINVAL);
  assert_int_equal(lsys_routing_lookup(&t, 1)->sinks, C | L);
  /* A fresh default table is not affected by the override. */
  lsys_route_table d;
  lsys_routing_default(&d);
  assert_int_equal(lsys_routing_lookup(&d, 9)->sinks, C | L | D);
}

static void test_parse_sinks(void **state) {
  (void)state;
  static const struct {
    const char *spec;
    unsigned sinks;
  } ok[] = {
      {"console", C},
      {"logbeacon", L},
      {"tg_developer", D},
      {"tg_customer", U},
      {"console,logbeacon,tg_developer,tg_customer", C | L | D | U},
      {"tg_customer,console", C | U},
      {" console , tg_developer\t", C | D},
      {"\tlogbeacon\n", L},
      {"console,console", C},
      {"none", 0},
      {"  none ", 0},
  };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    unsigned s = 0xdead;
    assert_int_equal(lsys_routing_parse_sinks(ok[i].spec, &s), LSYS_OK);
    assert_int_equal(s, ok[i].sinks);
  }
}

static void test_parse_sinks_bad(void **state) {
  (void)state;
  const char *bad[] = {"", "   ", ",", "console,", ",console", "console,,logbeacon",
                       "Console", "consol", "consolex", "telegram", "none,console",
                       "console none", "console;logbeacon"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    unsigned s = 0xdead;
    assert_int_equal(lsys_routing_parse_sinks(bad[i], &s), LSYS_EINVAL);
    assert_int_equal(s, 0xdead); /* untouched on error */
  }
  unsigned s;
  assert_int_equal(lsys_routing_parse_sinks(NULL, &s), LSYS_EINVAL);
  assert_int_equal(lsys_routing_parse_sinks("console", NULL), LSYS_EINVAL);
}

static void test_format_round_trip(void **state) {
  (void)state;
  char buf[128];
  lsys_routing_format_sinks(0, buf, sizeof buf);
  assert_string_equal(buf, "none");
  lsys_routing_format_sinks(C | L | D | U, buf, sizeof buf);
  assert_string_equal(buf, "console,logbeacon,tg_developer,tg_customer");
  lsys_routing_format_sinks(U | C, buf, sizeof buf);
  assert_string_equal(buf, "console,tg_customer");
  for (unsigned m = 0; m < 16; m++) {
    unsigned back = 0xdead;
    lsys_routing_format_sinks(m, buf, sizeof buf);
    assert_int_equal(lsys_routing_parse_sinks(buf, &back), LSYS_OK);
    assert_int_equal(back, m);
  }
}

static void test_format_small_buffer(void **state) {
  (void)state;
  char buf[10];
  memset(buf, 'z', sizeof buf);
  lsys_routing_format_sinks(C | L, buf, sizeof buf);
  assert_non_null(memchr(buf, '\0', sizeof buf)); /* always terminated */
  assert_int_equal(strncmp(buf, "console", 7), 0);
  char one[1] = {'z'};
  lsys_routing_format_sinks(C, one, sizeof one);
  assert_int_equal(one[0], '\0');
  lsys_routing_format_sinks(C, NULL, 0); /* must not crash */
}

static void test_valid_levels_text(void **state) {
  (void)state;
  assert_string_equal(lsys_routing_valid_levels(),
                      "0 (Debug), 1 (Info), 9 (Error), 11 (Info_CTG), 91 (Error_CTG), 99 (Monitor)");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_default_rows),
      cmocka_unit_test(test_unknown_levels),
      cmocka_unit_test(test_set_override),
      cmocka_unit_test(test_parse_sinks),
      cmocka_unit_test(test_parse_sinks_bad),
      cmocka_unit_test(test_format_round_trip),
      cmocka_unit_test(test_format_small_buffer),
      cmocka_unit_test(test_valid_levels_text),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
