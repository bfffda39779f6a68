/* tg_text_test.c - unit tests for common/tg_text.c: HTML escaping, unit
 * counting and splitting into Telegram-sized parts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "errors.h"
#include "tg_text.h"
#include "utf8.h"

#define EMOJI "\xf0\x9f\x98\x80" /* U+1F600, 2 UTF-16 units */
#define ACUTE "\xcc\x81"         /* U+0301 combining acute accent */

/* escape_str escapes a C string; the caller frees the result. */
static char *escape_str(const char *s) {
  char *out = NULL;
  size_t n = 0;
  assert_int_equal(lsys_tg_text_escape(s, strlen(s), &out, &n), LSYS_OK);
  assert_int_equal(strlen(out), n);
  return out;
}

/* unescape undoes lsys_tg_text_escape the way Telegram parses entities,
 * failing the test on a '&' that does not start a whole entity (a split one). */
static char *unescape(const char *s) {
  char *out = malloc(strlen(s) + 1), *w = out;
  assert_non_null(out);
  while (*s) {
    if (*s != '&') {
      *w++ = *s++;
      continue;
    }
    if (strncmp(s, "&amp;", 5) == 0) {
      *w++ = '&';
      s += 5;
    } else if (strncmp(s, "&lt;", 4) == 0) {
      *w++ = '<';
      s += 4;
    } else if (strncmp(s, "&gt;", 4) == 0) {
      *w++ = '>';
      s += 4;
    } else {
      fail_msg("broken entity at \"%.8s\"", s);
    }
  }
  *w = '\0';
  return out;
}

static void test_escape(void **state) {
  (void)state;
  const struct {
    const char *in, *want;
  } cases[] = {
      {"", ""},
      {"plain", "plain"},
      {"a<b>&c", "a&lt;b&gt;&amp;c"},
      {"&amp;", "&amp;amp;"}, /* an entity in the text is text: escaped, once */
      {"<b>bold</b>", "&lt;b&gt;bold&lt;/b&gt;"},
      {"\"quotes\" 'stay'", "\"quotes\" 'stay'"},
      {"日誌 <錯誤> & 警告", "日誌 &lt;錯誤&gt; &amp; 警告"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *got = escape_str(cases[i].in);
    assert_string_equal(got, cases[i].want);
    char *back = unescape(got);
    assert_string_equal(back, cases[i].in);
    free(back);
    free(got);
  }
}

static void test_units(void **state) {
  (void)state;
  assert_int_equal(lsys_tg_text_units("", 0), 0);
  assert_int_equal(lsys_tg_text_units("abc", 3), 3);
  assert_int_equal(lsys_tg_text_units("caf\xc3\xa9", 5), 4);
  assert_int_equal(lsys_tg_text_units("日誌", 6), 2);
  assert_int_equal(lsys_tg_text_units(EMOJI, 4), 2);
  assert_int_equal(lsys_tg_text_units("a" EMOJI "b", 6), 4);
}

/* big_text builds a text of chars characters cycling through 1-, 2-, 3- and
 * 4-byte characters, HTML specials and (every 997th) a newline. */
static char *big_text(size_t chars, size_t *len) {
  static const char *const pieces[] = {"a", "\xc3\xa9", "日", EMOJI, "<", "&", ">", "z", "誌", " "};
  char *s = malloc(chars * 4 + 1);
  size_t n = 0;
  assert_non_null(s);
  for (size_t i = 0; i < chars; i++) {
    const char *p = (i % 997 == 996) ? "\n" : pieces[i % (sizeof pieces / sizeof pieces[0])];
    memcpy(s + n, p, strlen(p));
    n += strlen(p);
  }
  s[n] = '\0';
  *len = n;
  return s;
}

static void test_split_10000_characters(void **state) {
  (void)state;
  size_t len, count = 0;
  char *text = big_text(10000, &len);
  lsys_tg_span *parts = NULL;
  assert_true(lsys_utf8_valid(text, len));
  assert_int_equal(lsys_tg_text_split(text, len, LSYS_TG_TEXT_MAX, &parts, &count), LSYS_OK);
  assert_true(count >= 3); /* 10,000 characters, some of 2 units: at least 3 parts */
  assert_true(count <= 4);

  char *joined = malloc(len + 1);
  size_t at = 0;
  assert_non_null(joined);
  for (size_t i = 0; i < count; i++) {
    const char *p = text + parts[i].off;
    assert_int_equal(parts[i].off, at); /* contiguous, in order */
    assert_true(parts[i].len > 0);
    assert_true(lsys_utf8_valid(p, parts[i].len)); /* no character split */
    assert_true(lsys_tg_text_units(p, parts[i].len) <= LSYS_TG_TEXT_MAX);
    if (i + 1 < count) /* not a tiny part: at least half full */
      assert_true(lsys_tg_text_units(p, parts[i].len) >= LSYS_TG_TEXT_MAX / 2);

    /* The escaped part parses back to exactly this part: no entity split,
     * and its length after entity parsing is within the limit. */
    char *esc = NULL;
    size_t elen = 0;
    assert_int_equal(lsys_tg_text_escape(p, parts[i].len, &esc, &elen), LSYS_OK);
    char *back = unescape(esc);
    assert_int_equal(strlen(back), parts[i].len);
    assert_memory_equal(back, p, parts[i].len);
    assert_true(lsys_tg_text_units(back, strlen(back)) <= LSYS_TG_TEXT_MAX);
    free(back);
    free(esc);

    memcpy(joined + at, p, parts[i].len);
    at += parts[i].len;
  }
  assert_int_equal(at, len);
  assert_memory_equal(joined, text, len); /* reassembles to the original */
  free(joined);
  free(parts);
  free(text);
}

/* filled returns n copies of c followed by tail (caller frees). */
static char *filled(char c, size_t n, const char *tail) {
  char *s = malloc(n + strlen(tail) + 1);
  assert_non_null(s);
  memset(s, c, n);
  strcpy(s + n, tail);
  return s;
}

static void test_cut_rules(void **state) {
  (void)state;
  /* Fits: whole. Exactly at the limit: whole. */
  char *s = filled('a', LSYS_TG_TEXT_MAX, "");
  assert_int_equal(lsys_tg_text_cut(s, strlen(s), LSYS_TG_TEXT_MAX), LSYS_TG_TEXT_MAX);
  free(s);

  /* No newline or blank: hard cut at the limit. */
  s = filled('a', 5000, "");
  assert_int_equal(lsys_tg_text_cut(s, 5000, LSYS_TG_TEXT_MAX), LSYS_TG_TEXT_MAX);

  /* A newline in the second half wins: cut just after it. */
  s[3000] = '\n';
  assert_int_equal(lsys_tg_text_cut(s, 5000, LSYS_TG_TEXT_MAX), 3001);
  /* A blank later than the newline does not beat the newline. */
  s[3500] = ' ';
  assert_int_equal(lsys_tg_text_cut(s, 5000, LSYS_TG_TEXT_MAX), 3001);
  /* A newline in the first half is not used (no tiny parts); the blank is. */
  s[3000] = 'a';
  s[1000] = '\n';
  assert_int_equal(lsys_tg_text_cut(s, 5000, LSYS_TG_TEXT_MAX), 3501);
  free(s);

  /* A 2-unit character that would end at 4097 goes to the next part. */
  s = filled('a', LSYS_TG_TEXT_MAX - 1, EMOJI "tail");
  assert_int_equal(lsys_tg_text_cut(s, strlen(s), LSYS_TG_TEXT_MAX), LSYS_TG_TEXT_MAX - 1);
  free(s);

  /* A combining accent stays with its letter: cut before the 'e'. */
  s = filled('a', LSYS_TG_TEXT_MAX - 1, "e" ACUTE "more");
  assert_int_equal(lsys_tg_text_cut(s, strlen(s), LSYS_TG_TEXT_MAX), LSYS_TG_TEXT_MAX - 1);
  free(s);

  /* Small limits still make progress, one character at a time. */
  assert_int_equal(lsys_tg_text_cut(EMOJI EMOJI, 8, 2), 4);
  assert_int_equal(lsys_tg_text_cut("日誌", 6, 2), 6);
  assert_int_equal(lsys_tg_text_cut("日誌x", 7, 2), 6);
}

static void test_split_edges(void **state) {
  (void)state;
  lsys_tg_span *parts = NULL;
  size_t count = 0;

  assert_int_equal(lsys_tg_text_split("", 0, LSYS_TG_TEXT_MAX, &parts, &count), LSYS_OK);
  assert_int_equal(count, 1);
  assert_int_equal(parts[0].len, 0);
  free(parts);

  assert_int_equal(lsys_tg_text_split("abc", 3, 1, &parts, &count), LSYS_EINVAL);

  /* Many combining marks in a row: still split (no endless back-off). */
  size_t n = 3 * 3000;
  char *s = malloc(n + 2);
  assert_non_null(s);
  s[0] = 'e';
  for (size_t i = 0; i < 3000; i++)
    memcpy(s + 1 + 2 * i, ACUTE, 2);
  n = 1 + 2 * 3000;
  s[n] = '\0';
  assert_int_equal(lsys_tg_text_split(s, n, 1000, &parts, &count), LSYS_OK);
  assert_int_equal(count, 4); /* 3001 characters of 1 unit, 1000 per part */
  for (size_t i = 0; i < count; i++)
    assert_true(lsys_utf8_valid(s + parts[i].off, parts[i].len));
  free(parts);
  free(s);
}

static void test_is_blank(void **state) {
  (void)state;
  assert_true(lsys_tg_text_is_blank("", 0));
  assert_true(lsys_tg_text_is_blank(" \n\t\r ", 5));
  assert_false(lsys_tg_text_is_blank(" x ", 3));
  assert_false(lsys_tg_text_is_blank("\0", 1));
  assert_false(lsys_tg_text_is_blank("日", 3));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_escape),
      cmocka_unit_test(test_units),
      cmocka_unit_test(test_split_10000_characters),
      cmocka_unit_test(test_cut_rules),
      cmocka_unit_test(test_split_edges),
      cmocka_unit_test(test_is_blank),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
