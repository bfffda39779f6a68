/* utf8_test.c - unit tests for common/utf8.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "errors.h"
#include "utf8.h"

#define MARKER LSYS_TRUNCATION_MARKER
#define MLEN (sizeof(MARKER) - 1)
#define FFFD "\xef\xbf\xbd"
#define BIG ((size_t)1 << 20)

/* sanitize runs lsys_utf8_sanitize on a literal and checks the invariants
 * every result must keep; the caller frees the result. */
static char *sanitize(const char *s, size_t len, size_t max, size_t *out_len, unsigned *flags) {
  char *out = NULL;
  size_t n = 12345;
  unsigned f = 77;
  assert_int_equal(lsys_utf8_sanitize(s, len, max, &out, &n, &f), LSYS_OK);
  assert_non_null(out);
  assert_int_equal(strlen(out), n);
  assert_true(n <= max);
  assert_true(lsys_utf8_valid(out, n));
  if (out_len != NULL)
    *out_len = n;
  if (flags != NULL)
    *flags = f;
  return out;
}

/* expect_sanitized checks that in (len bytes) sanitizes to want with flags. */
static void expect_sanitized(const char *in, size_t len, const char *want, unsigned want_flags) {
  unsigned f;
  size_t n;
  char *out = sanitize(in, len, BIG, &n, &f);
  assert_string_equal(out, want);
  assert_int_equal(f, want_flags);
  free(out);
}

static void test_marker_is_the_old_one(void **state) {
  (void)state;
  assert_string_equal(MARKER, "...(已截斷)");
  assert_int_equal(MLEN, 14);
}

static void test_valid_multibyte(void **state) {
  (void)state;
  const char *ok[] = {
      "",
      "plain ascii",
      "caf\xc3\xa9",                  /* 2-byte */
      "日誌系統 測試",                /* CJK, 3-byte */
      "\xf0\x9f\x98\x80 \xf0\x9f\x9a\x80", /* emoji, 4-byte */
      "\xed\x9f\xbf",                 /* U+D7FF, just below surrogates */
      "\xee\x80\x80",                 /* U+E000, just above surrogates */
      "\xf4\x8f\xbf\xbf",             /* U+10FFFF */
      "\xe0\xa0\x80",                 /* U+0800, smallest 3-byte */
      "\xf0\x90\x80\x80",             /* U+10000, smallest 4-byte */
      "\xc2\x80\xdf\xbf",             /* U+0080 and U+07FF */
  };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    size_t len = strlen(ok[i]);
    assert_true(lsys_utf8_valid(ok[i], len));
    expect_sanitized(ok[i], len, ok[i], 0);
  }
  /* NUL is valid UTF-8 for lsys_utf8_valid. */
  assert_true(lsys_utf8_valid("a\0b", 3));
  assert_true(lsys_utf8_valid(NULL, 0));
}

static void test_invalid_classes(void **state) {
  (void)state;
  const char *bad[] = {
      "\xc0\xaf",                 /* overlong '/' */
      "\xc1\xbf",                 /* overlong */
      "\xe0\x80\xaf",             /* overlong 3-byte */
      "\xf0\x80\x80\xaf",         /* overlong 4-byte */
      "\xed\xa0\x80",             /* U+D800 surrogate */
      "\xed\xbf\xbf",             /* U+DFFF surrogate */
      "\xf4\x90\x80\x80",         /* U+110000 */
      "\xf5\x80\x80\x80",         /* F5 lead */
      "\xff",                     /* never valid */
      "\x80",                     /* lone continuation */
      "\xc3",                     /* truncated 2-byte */
      "\xe6\x97",                 /* truncated 3-byte */
      "\xf0\x9f\x98",             /* truncated 4-byte */
      "abc\xe6\x97",              /* truncated at the end after ASCII */
      "abcdefghijklmnop\xc3xyz",  /* after the 8-byte fast path */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_false(lsys_utf8_valid(bad[i], strlen(bad[i])));
}

static void test_maximal_subparts(void **state) {
  (void)state;
  const unsigned R = LSYS_TEXT_REPAIRED;
  /* Unicode 15 Table 3-8: 61 F1 80 80 E1 80 C2 62 80 63 80 BF 64 */
  expect_sanitized("\x61\xf1\x80\x80\xe1\x80\xc2\x62\x80\x63\x80\xbf\x64", 13,
                   "a" FFFD FFFD FFFD "b" FFFD "c" FFFD FFFD "d", R);
  /* Overlong: C0 and C1 are never leads, so each byte is its own subpart. */
  expect_sanitized("\xc0\xaf", 2, FFFD FFFD, R);
  expect_sanitized("\xe0\x80\xaf", 3, FFFD FFFD FFFD, R);
  /* Surrogate: ED A0 is not a valid prefix, so three replacements. */
  expect_sanitized("\xed\xa0\x80", 3, FFFD FFFD FFFD, R);
  /* Above U+10FFFF and F5+. */
  expect_sanitized("\xf4\x90\x80\x80", 4, FFFD FFFD FFFD FFFD, R);
  expect_sanitized("\xf5", 1, FFFD, R);
  /* Truncated sequences are one replacement each. */
  expect_sanitized("x\xf0\x9f\x98", 4, "x" FFFD, R);
  expect_sanitized("\xe6\x97y", 3, FFFD "y", R);
  expect_sanitized("\xe6\x97\xe6\x97\xa5", 5, FFFD "日", R);
  /* NUL bytes become U+FFFD too. */
  expect_sanitized("a\0b", 3, "a" FFFD "b", R);
  expect_sanitized("\0\0", 2, FFFD FFFD, R);
  /* NUL inside an all-ASCII 8-byte word (the fast path). */
  expect_sanitized("0123\0" "567890123456789", 20, "0123" FFFD "567890123456789", R);
  expect_sanitized("01234567890123456789\0", 21, "01234567890123456789" FFFD, R);
  /* A long valid run around one bad byte, through the fast path. */
  expect_sanitized("0123456789abcdef\xff" "0123456789abcdef", 33,
                   "0123456789abcdef" FFFD "0123456789abcdef", R);
}

static void test_empty_input(void **state) {
  (void)state;
  char *out = NULL;
  size_t n = 99;
  unsigned f = 99;
  assert_int_equal(lsys_utf8_sanitize("", 0, 64, &out, &n, &f), LSYS_OK);
  assert_string_equal(out, "");
  assert_int_equal(n, 0);
  assert_int_equal(f, 0);
  free(out);
  out = NULL;
  assert_int_equal(lsys_utf8_sanitize(NULL, 0, 64, &out, &n, &f), LSYS_OK);
  assert_string_equal(out, "");
  free(out);
}

static void test_bad_arguments(void **state) {
  (void)state;
  char *out = (char *)"untouched";
  size_t n = 7;
  unsigned f = 7;
  assert_int_equal(lsys_utf8_sanitize("abc", 3, MLEN, &out, &n, &f), LSYS_EINVAL);
  assert_int_equal(lsys_utf8_sanitize("abc", 3, 0, &out, &n, &f), LSYS_EINVAL);
  assert_int_equal(lsys_utf8_sanitize("abc", 3, 5, &out, &n, &f), LSYS_EINVAL);
  assert_int_equal(lsys_utf8_sanitize(NULL, 3, 64, &out, &n, &f), LSYS_EINVAL);
  assert_int_equal(lsys_utf8_sanitize("abc", 3, 64, NULL, &n, &f), LSYS_EINVAL);
  assert_string_equal(out, "untouched");
  assert_int_equal(n, 7);
  assert_int_equal(f, 7);
  /* The smallest legal limit works. */
  out = sanitize("abcdefghijklmnopqrstuvwxyz", 26, MLEN + 1, &n, &f);
  assert_string_equal(out, "a" MARKER);
  assert_int_equal(f, LSYS_TEXT_TRUNCATED);
  free(out);
}

static void test_exact_boundary_untouched(void **state) {
  (void)state;
  const char *s = "日誌系統日誌系統"; /* 24 bytes */
  size_t n;
  unsigned f;
  char *out = sanitize(s, 24, 24, &n, &f);
  assert_string_equal(out, s);
  assert_int_equal(f, 0);
  free(out);
  /* One byte less: cut, marker appended, within the limit. */
  out = sanitize(s, 24, 23, &n, &f);
  assert_string_equal(out, "日誌系" MARKER); /* 9 + 14 = 23 <= 23, 12 + 14 > 23 */
  assert_int_equal(f, LSYS_TEXT_TRUNCATED);
  free(out);
}

static void test_truncation_keeps_prefix(void **state) {
  (void)state;
  char in[100];
  memset(in, 'x', sizeof in);
  size_t n;
  unsigned f;
  char *out = sanitize(in, sizeof in, 50, &n, &f);
  assert_int_equal(n, 50);
  assert_int_equal(f, LSYS_TEXT_TRUNCATED);
  assert_memory_equal(out, in, 50 - MLEN);
  assert_string_equal(out + 50 - MLEN, MARKER);
  free(out);
}

static void test_truncation_and_repair_flags(void **state) {
  (void)state;
  size_t n;
  unsigned f;
  /* The repair is kept: both flags. */
  char *out = sanitize("\xff" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 31, 20, &n, &f);
  assert_string_equal(out, FFFD "aaa" MARKER);
  assert_int_equal(f, LSYS_TEXT_TRUNCATED | LSYS_TEXT_REPAIRED);
  free(out);
  /* The repair falls in the part that was cut off: only truncated. */
  out = sanitize("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xff", 31, 20, &n, &f);
  assert_string_equal(out, "aaaaaa" MARKER);
  assert_int_equal(f, LSYS_TEXT_TRUNCATED);
  free(out);
  /* A replacement straddling the cut point is dropped whole. */
  out = sanitize("aaaaa\xff\xff\xff", 8, 20, &n, &f);
  assert_string_equal(out, "aaaaa" FFFD FFFD FFFD); /* 14 bytes, fits */
  assert_int_equal(f, LSYS_TEXT_REPAIRED);
  free(out);
  out = sanitize("aaaaaaa\xff\xff\xff\xff\xff\xff", 13, 20, &n, &f);
  assert_string_equal(out, "aaaaaa" MARKER);
  assert_int_equal(f, LSYS_TEXT_TRUNCATED);
  free(out);
}

/* check_cuts sanitizes in (len bytes) at every limit from just above the
 * marker to past the full length, asserting the result is valid, within the
 * limit, and (when cut) a character-boundary prefix of the full result. */
static void check_cuts(const char *in, size_t len) {
  size_t full_len;
  unsigned full_flags;
  char *full = sanitize(in, len, BIG, &full_len, &full_flags);
  assert_false(full_flags & LSYS_TEXT_TRUNCATED);

  for (size_t max = MLEN + 1; max <= full_len + 8; max++) {
    size_t n;
    unsigned f;
    char *out = sanitize(in, len, max, &n, &f);
    if (full_len <= max) {
      assert_int_equal(n, full_len);
      assert_memory_equal(out, full, full_len);
      assert_false(f & LSYS_TEXT_TRUNCATED);
    } else {
      assert_true(f & LSYS_TEXT_TRUNCATED);
      size_t keep = n - MLEN;
      assert_string_equal(out + keep, MARKER);
      assert_memory_equal(out, full, keep);
      /* keep is a boundary of full, and the longest one that fits. */
      assert_true(keep == full_len || ((unsigned char)full[keep] & 0xc0) != 0x80);
      assert_true(lsys_utf8_cut_len(full, full_len, max - MLEN) == keep);
      size_t next = keep + 1;
      while (next < full_len && ((unsigned char)full[next] & 0xc0) == 0x80)
        next++;
      assert_true(next + MLEN > max);
    }
    free(out);
  }
  free(full);
}

static void test_cut_never_splits_a_character(void **state) {
  (void)state;
  const char *mixed = "a日b\xf0\x9f\x98\x80" "c\xc3\xa9" "d誌\xf4\x8f\xbf\xbf" "系統"
                      "\xf0\x9f\x9a\x80\xf0\x9f\x9a\x80xyz測試測試";
  check_cuts(mixed, strlen(mixed));
  static const char broken[] = "日\xff誌\xe6\x97系\0統\xf0\x9f\x98 end 測試\xed\xa0\x80測試";
  check_cuts(broken, sizeof broken - 1);

  /* Pseudo-random mixes of 1-4 byte characters and garbage. */
  static const char *pieces[] = {"a", "\xc3\xa9", "日", "\xf0\x9f\x98\x80", "\xff", "\xe6\x97", "\0"};
  uint32_t seed = 12345;
  char buf[256];
  for (int round = 0; round < 40; round++) {
    size_t len = 0;
    while (len < sizeof buf - 4) {
      seed = seed * 1103515245u + 12345u;
      const char *p = pieces[(seed >> 16) % 7];
      size_t pl = (p[0] == '\0') ? 1 : strlen(p);
      memcpy(buf + len, p, pl);
      len += pl;
      if ((seed >> 8) % 23 == 0)
        break;
    }
    check_cuts(buf, len);
  }
}

static void test_cut_len(void **state) {
  (void)state;
  const char *s = "a日\xf0\x9f\x98\x80"; /* 1 + 3 + 4 = 8 bytes */
  assert_int_equal(lsys_utf8_cut_len(s, 8, 100), 8);
  assert_int_equal(lsys_utf8_cut_len(s, 8, 8), 8);
  assert_int_equal(lsys_utf8_cut_len(s, 8, 7), 4);
  assert_int_equal(lsys_utf8_cut_len(s, 8, 4), 4);
  assert_int_equal(lsys_utf8_cut_len(s, 8, 3), 1);
  assert_int_equal(lsys_utf8_cut_len(s, 8, 1), 1);
  assert_int_equal(lsys_utf8_cut_len(s, 8, 0), 0);
}

static void test_large_ascii(void **state) {
  (void)state;
  size_t len = 200000;
  char *in = malloc(len);
  assert_non_null(in);
  memset(in, 'q', len);
  assert_true(lsys_utf8_valid(in, len));
  size_t n;
  unsigned f;
  char *out = sanitize(in, len, len, &n, &f);
  assert_int_equal(n, len);
  assert_int_equal(f, 0);
  free(out);
  out = sanitize(in, len, 65536, &n, &f);
  assert_int_equal(n, 65536);
  assert_int_equal(f, LSYS_TEXT_TRUNCATED);
  free(out);
  in[len - 1] = '\x80';
  assert_false(lsys_utf8_valid(in, len));
  free(in);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_marker_is_the_old_one),
      cmocka_unit_test(test_valid_multibyte),
      cmocka_unit_test(test_invalid_classes),
      cmocka_unit_test(test_maximal_subparts),
      cmocka_unit_test(test_empty_input),
      cmocka_unit_test(test_bad_arguments),
      cmocka_unit_test(test_exact_boundary_untouched),
      cmocka_unit_test(test_truncation_keeps_prefix),
      cmocka_unit_test(test_truncation_and_repair_flags),
      cmocka_unit_test(test_cut_never_splits_a_character),
      cmocka_unit_test(test_cut_len),
      cmocka_unit_test(test_large_ascii),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
