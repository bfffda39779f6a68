/* console_test.c - unit tests for common/console.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "console.h"
#include "errors.h"

/* capture is an in-memory FILE* and what has been flushed into it. */
typedef struct capture {
  FILE *fp;
  char *buf;
  size_t len;
} capture;

static int setup(void **state) {
  setenv("TZ", "UTC", 1);
  tzset();
  capture *cap = calloc(1, sizeof *cap);
  if (cap == NULL || (cap->fp = open_memstream(&cap->buf, &cap->len)) == NULL)
    return -1;
  *state = cap;
  return 0;
}

static int teardown(void **state) {
  capture *cap = *state;
  fclose(cap->fp);
  free(cap->buf);
  free(cap);
  return 0;
}

static lsys_record sample(int level, const char *name) {
  lsys_record r = {
      .level = level,
      .level_name = name,
      .program_name = "api_server",
      .def_name = "process_order",
      .message = "order 42 failed",
      .extra_info = "retry=3",
      .hash = "h-1",
      .log_id = "lid-1",
      .time_unix_ms = INT64_C(1764153000123), /* 2025-11-26 10:30:00 UTC */
  };
  return r;
}

/* print writes the records through a console in mode and returns the output. */
static const char *print(capture *cap, lsys_console_mode mode, const lsys_record *r, size_t n) {
  lsys_console *c = NULL;
  assert_int_equal(lsys_console_create(&c, mode, cap->fp, "example.com"), LSYS_OK);
  for (size_t i = 0; i < n; i++)
    lsys_console_write(c, &r[i]);
  lsys_console_flush(c);
  lsys_console_destroy(c);
  return cap->buf != NULL ? cap->buf : "";
}

static void test_plain(void **state) {
  capture *cap = *state;
  lsys_record r = sample(9, "Error");
  assert_string_equal(print(cap, LSYS_CONSOLE_PLAIN, &r, 1),
                      "2025-11-26 10:30:00 [Error] api_server process_order: order 42 failed | retry=3\n");
}

static void test_plain_without_extra(void **state) {
  capture *cap = *state;
  lsys_record r[2] = {sample(1, "Info"), sample(1, "Info")};
  r[0].extra_info = "";
  r[1].extra_info = NULL;
  assert_string_equal(print(cap, LSYS_CONSOLE_PLAIN, r, 2),
                      "2025-11-26 10:30:00 [Info] api_server process_order: order 42 failed\n"
                      "2025-11-26 10:30:00 [Info] api_server process_order: order 42 failed\n");
}

static void test_auto_on_a_non_tty_is_plain(void **state) {
  capture *cap = *state;
  lsys_record r = sample(91, "Error_CTG");
  const char *out = print(cap, LSYS_CONSOLE_AUTO, &r, 1);
  assert_null(strchr(out, '\x1b'));
  assert_string_equal(out, "2025-11-26 10:30:00 [Error_CTG] api_server process_order: order 42 failed"
                           " | retry=3\n");
}

static void test_color_per_level(void **state) {
  capture *cap = *state;
  static const struct {
    int level;
    const char *name, *color;
  } want[] = {
      {0, "Debug", "\x1b[36m"},  {1, "Info", "\x1b[32m"},      {9, "Error", "\x1b[31m"},
      {11, "Info_CTG", "\x1b[32m"}, {91, "Error_CTG", "\x1b[31m"}, {99, "Monitor", "\x1b[42m"},
  };
  size_t n = sizeof want / sizeof want[0];
  lsys_record r[6];
  for (size_t i = 0; i < n; i++)
    r[i] = sample(want[i].level, want[i].name);
  const char *out = print(cap, LSYS_CONSOLE_COLOR, r, n);
  char line[256];
  for (size_t i = 0; i < n; i++) {
    snprintf(line, sizeof line,
             "%s2025-11-26 10:30:00 [%s] api_server process_order: order 42 failed | retry=3\x1b[0m\n",
             want[i].color, want[i].name);
    assert_memory_equal(out, line, strlen(line));
    out += strlen(line);
  }
  assert_string_equal(out, "");
}

static void test_json(void **state) {
  capture *cap = *state;
  lsys_record r[2] = {sample(9, "Error"), sample(0, "Debug")};
  r[1].message = "two\nlines";
  const char *out = print(cap, LSYS_CONSOLE_JSON, r, 2);
  const char *want0 = "{\"domain\":\"example.com\",\"program_name\":\"api_server\",\"level\":\"Error\","
                      "\"def_name\":\"process_order\",\"message\":\"order 42 failed\","
                      "\"extra_info\":\"retry=3\",\"timestamp\":\"2025-11-26 10:30:00\","
                      "\"hash\":\"h-1\",\"log_id\":\"lid-1\",\"level_no\":9,"
                      "\"time_unix_ms\":1764153000123}\n";
  assert_memory_equal(out, want0, strlen(want0));
  const char *second = out + strlen(want0);
  const char *nl = strchr(second, '\n');
  assert_non_null(nl);
  assert_string_equal(nl, "\n"); /* exactly one line per record */
  cJSON *obj = cJSON_ParseWithLength(second, (size_t)(nl - second));
  assert_non_null(obj);
  assert_string_equal(cJSON_GetObjectItemCaseSensitive(obj, "message")->valuestring, "two\nlines");
  assert_string_equal(cJSON_GetObjectItemCaseSensitive(obj, "level")->valuestring, "Debug");
  cJSON_Delete(obj);
}

static void test_newlines_escaped(void **state) {
  capture *cap = *state;
  lsys_record r = sample(9, "Error");
  r.message = "first\nsecond\r\nthird\ttab";
  r.extra_info = "x\ny";
  r.def_name = "f\n";
  assert_string_equal(print(cap, LSYS_CONSOLE_PLAIN, &r, 1),
                      "2025-11-26 10:30:00 [Error] api_server f\\n: first\\nsecond\\r\\nthird\ttab"
                      " | x\\ny\n");
}

static void test_control_chars_escaped_in_color(void **state) {
  capture *cap = *state;
  lsys_record r = sample(1, "Info");
  r.message = "fake \x1b[31mred\x7f\x01 日誌";
  const char *out = print(cap, LSYS_CONSOLE_COLOR, &r, 1);
  assert_string_equal(out, "\x1b[32m2025-11-26 10:30:00 [Info] api_server process_order: "
                           "fake \\x1b[31mred\\x7f\\x01 日誌 | retry=3\x1b[0m\n");
}

static void test_off_prints_nothing(void **state) {
  capture *cap = *state;
  lsys_record r = sample(91, "Error_CTG");
  assert_string_equal(print(cap, LSYS_CONSOLE_OFF, &r, 1), "");
  assert_int_equal(cap->len, 0);
}

static void test_unknown_level_plain_in_color_mode(void **state) {
  capture *cap = *state;
  lsys_record r = sample(5, "Odd");
  assert_string_equal(print(cap, LSYS_CONSOLE_COLOR, &r, 1),
                      "2025-11-26 10:30:00 [Odd] api_server process_order: order 42 failed | retry=3\n");
}

static void test_create_errors(void **state) {
  capture *cap = *state;
  lsys_console *c = (lsys_console *)(uintptr_t)0x1;
  assert_int_equal(lsys_console_create(&c, LSYS_CONSOLE_PLAIN, NULL, "d"), LSYS_EINVAL);
  assert_int_equal(lsys_console_create(&c, (lsys_console_mode)42, cap->fp, "d"), LSYS_EINVAL);
  assert_int_equal(lsys_console_create(&c, (lsys_console_mode)-1, cap->fp, "d"), LSYS_EINVAL);
  assert_ptr_equal(c, (lsys_console *)(uintptr_t)0x1);
  assert_int_equal(lsys_console_create(NULL, LSYS_CONSOLE_PLAIN, cap->fp, "d"), LSYS_EINVAL);
  /* A NULL domain is allowed (JSON mode prints ""), and NULL objects are ignored. */
  assert_int_equal(lsys_console_create(&c, LSYS_CONSOLE_JSON, cap->fp, NULL), LSYS_OK);
  lsys_console_write(c, NULL);
  lsys_console_write(NULL, NULL);
  lsys_console_flush(NULL);
  lsys_console_destroy(c);
  lsys_console_destroy(NULL);
  assert_int_equal(cap->len, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_plain, setup, teardown),
      cmocka_unit_test_setup_teardown(test_plain_without_extra, setup, teardown),
      cmocka_unit_test_setup_teardown(test_auto_on_a_non_tty_is_plain, setup, teardown),
      cmocka_unit_test_setup_teardown(test_color_per_level, setup, teardown),
      cmocka_unit_test_setup_teardown(test_json, setup, teardown),
      cmocka_unit_test_setup_teardown(test_newlines_escaped, setup, teardown),
      cmocka_unit_test_setup_teardown(test_control_chars_escaped_in_color, setup, teardown),
      cmocka_unit_test_setup_teardown(test_off_prints_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unknown_level_plain_in_color_mode, setup, teardown),
      cmocka_unit_test_setup_teardown(test_create_errors, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
