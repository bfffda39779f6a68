/* notify_template_test.c - unit tests for common/notify_template.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "errors.h"
#include "notify_template.h"

static int use_utc(void **state) {
  (void)state;
  setenv("TZ", "UTC", 1);
  tzset();
  return 0;
}

static lsys_record sample(void) {
  lsys_record r = {
      .level = 91,
      .level_name = "Error_CTG",
      .program_name = "api_server",
      .def_name = "process_order",
      .message = "付款失敗 order 42",
      .extra_info = "retry=3",
      .hash = "h-0001",
      .log_id = "lid-7",
      .time_unix_ms = INT64_C(1764153000123), /* 2025-11-26 10:30:00 UTC */
  };
  return r;
}

/* render parses text and renders the sample record with it. */
static char *render(const char *text, const lsys_record *r) {
  lsys_template *t = NULL;
  char err[256] = "";
  char *out = NULL;
  assert_int_equal(lsys_template_create(&t, text, err, sizeof err), LSYS_OK);
  assert_non_null(t);
  assert_string_equal(err, "");
  assert_int_equal(lsys_template_render(t, r, "example.com", &out), LSYS_OK);
  assert_non_null(out);
  lsys_template_destroy(t);
  return out;
}

/* expect_error checks that text is refused and that err mentions needle. */
static void expect_error(const char *text, const char *needle) {
  lsys_template *t = (lsys_template *)(uintptr_t)0x1;
  char err[256] = "";
  assert_int_equal(lsys_template_create(&t, text, err, sizeof err), LSYS_EINVAL);
  assert_ptr_equal(t, (lsys_template *)(uintptr_t)0x1); /* untouched */
  if (strstr(err, needle) == NULL)
    fail_msg("error for \"%s\" is \"%s\", expected it to mention \"%s\"", text, err, needle);
}

static void test_default_render(void **state) {
  (void)state;
  lsys_record r = sample();
  char *out = render(LSYS_TEMPLATE_DEFAULT, &r);
  assert_string_equal(out, "時間: 2025-11-26 10:30:00\n"
                           "網域: example.com\n"
                           "程式: api_server\n"
                           "函式: process_order\n"
                           "訊息: 付款失敗 order 42\n"
                           "附加資訊: retry=3");
  free(out);
}

static void test_default_has_real_newlines(void **state) {
  (void)state;
  assert_non_null(strchr(LSYS_TEMPLATE_DEFAULT, '\n'));
  assert_null(strstr(LSYS_TEMPLATE_DEFAULT, "\\n"));
}

static void test_all_placeholders(void **state) {
  (void)state;
  lsys_record r = sample();
  char *out = render("{time}|{domain}|{program}|{level}|{def_name}|{message}|{extra_info}|{hash}|{log_id}", &r);
  assert_string_equal(out, "2025-11-26 10:30:00|example.com|api_server|Error_CTG|process_order|"
                           "付款失敗 order 42|retry=3|h-0001|lid-7");
  free(out);
}

static void test_custom_one_line_template(void **state) {
  (void)state;
  lsys_record r = sample();
  /* As it would appear in a KEY=value config line: backslash-n is a newline. */
  char *out = render("[{level}] {program}\\n{message}\\n--", &r);
  assert_string_equal(out, "[Error_CTG] api_server\n付款失敗 order 42\n--");
  free(out);
  /* Placeholders repeated, adjacent, at both ends. */
  out = render("{hash}{hash} x {log_id}", &r);
  assert_string_equal(out, "h-0001h-0001 x lid-7");
  free(out);
  /* No placeholders at all, and an empty template. */
  out = render("static text", &r);
  assert_string_equal(out, "static text");
  free(out);
  out = render("", &r);
  assert_string_equal(out, "");
  free(out);
}

static void test_literal_braces(void **state) {
  (void)state;
  lsys_record r = sample();
  char *out = render("{{time}} = {time}; {{}} {{{level}}}", &r);
  assert_string_equal(out, "{time} = 2025-11-26 10:30:00; {} {Error_CTG}");
  free(out);
  /* A lone backslash not followed by n stays as it is. */
  out = render("a\\tb\\", &r);
  assert_string_equal(out, "a\\tb\\");
  free(out);
}

static void test_null_fields_render_empty(void **state) {
  (void)state;
  lsys_record r = sample();
  r.extra_info = NULL;
  r.hash = NULL;
  lsys_template *t = NULL;
  char *out = NULL;
  assert_int_equal(lsys_template_create(&t, "<{extra_info}|{hash}|{domain}>", NULL, 0), LSYS_OK);
  assert_int_equal(lsys_template_render(t, &r, NULL, &out), LSYS_OK);
  assert_string_equal(out, "<||>");
  free(out);
  assert_int_equal(lsys_template_render(t, NULL, "d", &out), LSYS_EINVAL);
  lsys_template_destroy(t);
  lsys_template_destroy(NULL);
}

static void test_errors(void **state) {
  (void)state;
  expect_error("x {nope} y", "{nope}");
  expect_error("{Time}", "{Time}");
  expect_error("{ time }", "{ time }");
  expect_error("{}", "{}");
  expect_error("{time", "unclosed");
  expect_error("abc {time {domain}", "unclosed");
  expect_error("trailing {", "unclosed");
  expect_error("a } b", "'}'");
  expect_error("{time}}", "'}'");
  /* err may be NULL or tiny: still an error, no overflow. */
  lsys_template *t = NULL;
  assert_int_equal(lsys_template_create(&t, "{bad}", NULL, 0), LSYS_EINVAL);
  char tiny[4] = "xyz";
  assert_int_equal(lsys_template_create(&t, "{bad}", tiny, sizeof tiny), LSYS_EINVAL);
  assert_int_equal(strlen(tiny), 3);
  assert_null(t);
  assert_int_equal(lsys_template_create(&t, NULL, NULL, 0), LSYS_EINVAL);
  assert_int_equal(lsys_template_create(NULL, "x", NULL, 0), LSYS_EINVAL);
}

static void test_very_long_message(void **state) {
  (void)state;
  size_t len = 1u << 20;
  char *msg = malloc(len + 1);
  assert_non_null(msg);
  for (size_t i = 0; i < len; i++)
    msg[i] = (char)('a' + i % 26);
  msg[len] = '\0';
  lsys_record r = sample();
  r.message = msg;
  char *out = render(LSYS_TEMPLATE_DEFAULT, &r);
  const char *at = strstr(out, "訊息: ");
  assert_non_null(at);
  at += strlen("訊息: ");
  assert_memory_equal(at, msg, len);
  assert_string_equal(at + len, "\n附加資訊: retry=3");
  free(out);
  free(msg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_default_render),
      cmocka_unit_test(test_default_has_real_newlines),
      cmocka_unit_test(test_all_placeholders),
      cmocka_unit_test(test_custom_one_line_template),
      cmocka_unit_test(test_literal_braces),
      cmocka_unit_test(test_null_fields_render_empty),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_very_long_message),
  };
  return cmocka_run_group_tests(tests, use_utc, NULL);
}
