/* utf8.c - strict UTF-8 validation, repair with U+FFFD and bounded cuts.
 *
 * This runs on every field of every record, so the common case (plain ASCII,
 * or valid text that fits) is a word-at-a-time scan and one memcpy. Repair
 * follows the Unicode "substitution of maximal subparts" practice (Unicode
 * 15, section 3.9, U+FFFD substitution): each maximal prefix of a
 * well-formed sequence that cannot be completed becomes one U+FFFD, and any
 * byte that cannot start a sequence becomes one U+FFFD on its own. */
#include "utf8.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"

#define MARKER_LEN (sizeof(LSYS_TRUNCATION_MARKER) - 1)
#define HIGH_BITS UINT64_C(0x8080808080808080)
#define LOW_BITS UINT64_C(0x0101010101010101)

static const char replacement[3] = {'\xef', '\xbf', '\xbd'}; /* U+FFFD */

/* seq_len looks at the sequence starting at p (n >= 1 bytes available).
 * When it is a well-formed character it returns its length and sets *ok;
 * otherwise it returns the length of the maximal invalid subpart (>= 1) and
 * clears *ok. The ranges are those of Unicode Table 3-7, which exclude
 * overlongs, surrogates and code points above U+10FFFF. */
static size_t seq_len(const unsigned char *p, size_t n, int *ok) {
  unsigned c = p[0];
  unsigned lo = 0x80, hi = 0xbf;
  size_t need;

  if (c < 0x80) {
    *ok = 1;
    return 1;
  }
  if (c >= 0xc2 && c <= 0xdf) {
    need = 1;
  } else if (c >= 0xe0 && c <= 0xef) {
    need = 2;
    if (c == 0xe0)
      lo = 0xa0; /* overlong below U+0800 */
    else if (c == 0xed)
      hi = 0x9f; /* surrogates D800-DFFF */
  } else if (c >= 0xf0 && c <= 0xf4) {
    need = 3;
    if (c == 0xf0)
      lo = 0x90; /* overlong below U+10000 */
    else if (c == 0xf4)
      hi = 0x8f; /* above U+10FFFF */
  } else {
    *ok = 0; /* 80-C1 (continuation, overlong lead) or F5-FF */
    return 1;
  }
  for (size_t i = 1; i <= need; i++) {
    if (i >= n || p[i] < lo || p[i] > hi) {
      *ok = 0;
      return i;
    }
    lo = 0x80;
    hi = 0xbf;
  }
  *ok = 1;
  return need + 1;
}

/* has_zero_byte reports whether any byte of v is zero (the classic
 * "haszero" bit trick, exact when no byte has its high bit set). */
static int has_zero_byte(uint64_t v) {
  return ((v - LOW_BITS) & ~v & HIGH_BITS) != 0;
}

/* valid_run returns the length of the longest prefix of p (n bytes) made of
 * whole valid characters; NUL counts as invalid unless allow_nul. */
static size_t valid_run(const unsigned char *p, size_t n, int allow_nul) {
  size_t i = 0;

  while (i < n) {
    /* ASCII fast path: eight bytes at a time while none has the high bit. */
    while (n - i >= 8) {
      uint64_t v;
      memcpy(&v, p + i, sizeof v);
      if ((v & HIGH_BITS) != 0 || (!allow_nul && has_zero_byte(v)))
        break;
      i += 8;
    }
    if (i >= n)
      break;
    if (p[i] < 0x80) {
      if (p[i] == 0 && !allow_nul)
        return i;
      i++;
      continue;
    }
    int ok;
    size_t k = seq_len(p + i, n - i, &ok);
    if (!ok)
      return i;
    i += k;
  }
  return i;
}

int lsys_utf8_valid(const char *s, size_t len) {
  if (len == 0)
    return 1;
  if (s == NULL)
    return 0;
  return valid_run((const unsigned char *)s, len, 1) == len;
}

size_t lsys_utf8_cut_len(const char *s, size_t len, size_t max) {
  if (max >= len)
    return len;
  size_t n = max;
  /* s[n] starts the first character not kept; step back over continuation
   * bytes so that we never keep part of a character. */
  while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
    n--;
  return n;
}

/* out_buf collects the sanitized text, up to max bytes. */
typedef struct out_buf {
  char *buf;
  size_t len;
  size_t max;
  int cut; /* set once the text overflowed max and the marker was appended */
} out_buf;

/* emit appends piece (whole characters) to o. When it does not fit, it keeps
 * the longest prefix that ends on a character boundary and leaves room for
 * the marker, appends the marker and sets o->cut. */
static void emit(out_buf *o, const char *piece, size_t n) {
  if (n <= o->max - o->len) {
    memcpy(o->buf + o->len, piece, n);
    o->len += n;
    return;
  }
  /* Fill up to max so cut_len sees the lead byte of the character that
   * straddles the cut point; everything written so far is whole characters. */
  memcpy(o->buf + o->len, piece, o->max - o->len);
  o->len = lsys_utf8_cut_len(o->buf, o->max, o->max - MARKER_LEN);
  memcpy(o->buf + o->len, LSYS_TRUNCATION_MARKER, MARKER_LEN);
  o->len += MARKER_LEN;
  o->cut = 1;
}

/* scan_window bounds how much of the left bytes need validating when room
 * bytes of output remain: a character is at most 4 bytes, so a valid run that
 * reaches past room + 4 overflows anyway and the rest is cut off unread. */
static size_t scan_window(size_t left, size_t room) {
  return (left > room && left - room > 4) ? room + 4 : left;
}

int lsys_utf8_sanitize(const char *s, size_t len, size_t max_bytes, char **out, size_t *out_len,
                       unsigned *flags) {
  const unsigned char *p = (const unsigned char *)s;
  out_buf o = {NULL, 0, max_bytes, 0};
  size_t first_fix_end = SIZE_MAX; /* output offset just after the first U+FFFD */
  size_t cap, i = 0;
  int rc = LSYS_EINVAL;

  if (out == NULL || (s == NULL && len > 0) || max_bytes <= MARKER_LEN)
    goto fail;

  size_t run = valid_run(p, scan_window(len, max_bytes), 0);
  if (run == len && len <= max_bytes) {
    cap = len; /* fast path: valid and fits */
  } else {
    /* Each invalid byte grows to at most 3 bytes; nothing grows past max. */
    size_t bad = len - run;
    cap = (bad > (SIZE_MAX - len) / 2) ? max_bytes : len + 2 * bad;
    if (cap > max_bytes)
      cap = max_bytes;
  }
  rc = LSYS_ENOMEM;
  if (cap == SIZE_MAX || (o.buf = malloc(cap + 1)) == NULL)
    goto fail;

  while (i < len && !o.cut) {
    if (run > 0) {
      emit(&o, s + i, run);
      i += run;
    } else {
      int ok;
      size_t bad = (p[i] == 0) ? 1 : seq_len(p + i, len - i, &ok);
      emit(&o, replacement, sizeof replacement);
      if (first_fix_end == SIZE_MAX && !o.cut)
        first_fix_end = o.len;
      i += bad;
    }
    if (i < len)
      run = valid_run(p + i, scan_window(len - i, o.max - o.len), 0);
  }
  o.buf[o.len] = '\0';

  *out = o.buf;
  if (out_len != NULL)
    *out_len = o.len;
  if (flags != NULL) {
    /* REPAIRED only when a replacement survived the cut. */
    *flags = (o.cut ? LSYS_TEXT_TRUNCATED : 0u) |
             (first_fix_end <= o.len - (o.cut ? MARKER_LEN : 0) ? LSYS_TEXT_REPAIRED : 0u);
  }
  return LSYS_OK;

fail:
  free(o.buf);
  return rc;
}
