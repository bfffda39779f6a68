/* tg_text.c - HTML escaping and splitting of Telegram texts (rules in tg_text.h). */
#include "tg_text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"

/* Longest run of joining characters we step back over before giving up and
 * cutting at the plain character boundary (a pathological text of thousands
 * of combining marks must still split). */
#define MAX_BACKOFF 32

/* decode returns the length of the character at s[i] (i < n) and stores its
 * code point. The text is expected to be valid UTF-8; a stray byte counts as
 * one character (U+FFFD) so that a bad input still splits on byte boundaries. */
static size_t decode(const unsigned char *s, size_t n, size_t i, uint32_t *cp) {
  unsigned c = s[i];
  size_t len;
  uint32_t v;

  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
    v = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    v = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    v = c & 0x07;
  } else {
    *cp = 0xfffd;
    return 1;
  }
  if (n - i < len) {
    *cp = 0xfffd;
    return 1;
  }
  for (size_t k = 1; k < len; k++) {
    if ((s[i + k] & 0xc0) != 0x80) {
      *cp = 0xfffd;
      return 1;
    }
    v = (v << 6) | (s[i + k] & 0x3f);
  }
  *cp = v;
  return len;
}

/* units_of returns how many UTF-16 code units the code point cp takes. */
static size_t units_of(uint32_t cp) {
  return cp > 0xffff ? 2 : 1;
}

/* joins_previous reports whether cp attaches to the character before it
 * (combining marks, variation selectors, emoji modifiers and tags, ZWJ/ZWNJ),
 * so that a cut just before it would damage what the reader sees. */
static int joins_previous(uint32_t cp) {
  return (cp >= 0x0300 && cp <= 0x036f) || (cp >= 0x1ab0 && cp <= 0x1aff) ||
         (cp >= 0x1dc0 && cp <= 0x1dff) || (cp >= 0x20d0 && cp <= 0x20ff) ||
         (cp >= 0xfe20 && cp <= 0xfe2f) || (cp >= 0xfe00 && cp <= 0xfe0f) || cp == 0x200c ||
         cp == 0x200d || (cp >= 0x1f3fb && cp <= 0x1f3ff) || (cp >= 0xe0020 && cp <= 0xe007f) ||
         (cp >= 0xe0100 && cp <= 0xe01ef);
}

/* prev_start returns the byte index where the character ending at i starts. */
static size_t prev_start(const unsigned char *s, size_t i) {
  size_t j = i - 1;
  for (size_t k = 0; k < 3 && j > 0 && (s[j] & 0xc0) == 0x80; k++)
    j--;
  return j;
}

size_t lsys_tg_text_units(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  size_t units = 0;
  uint32_t cp;

  for (size_t i = 0; i < n;) {
    i += decode(p, n, i, &cp);
    units += units_of(cp);
  }
  return units;
}

/* soft_cut steps a hard cut at byte i back over characters that join the one
 * before them; returns i unchanged when that would take too long or reach 0. */
static size_t soft_cut(const unsigned char *p, size_t n, size_t i) {
  size_t cut = i;
  uint32_t cp, before;

  for (int k = 0; k < MAX_BACKOFF && cut > 0; k++) {
    size_t b = prev_start(p, cut);
    decode(p, n, cut, &cp);
    decode(p, n, b, &before);
    if (!joins_previous(cp) && before != 0x200d)
      return cut;
    cut = b;
  }
  return i;
}

size_t lsys_tg_text_cut(const char *s, size_t n, size_t max_units) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0, units = 0, newline = 0, blank = 0;
  uint32_t cp;

  while (i < n) {
    size_t len = decode(p, n, i, &cp);
    size_t u = units_of(cp);
    if (units + u > max_units)
      break;
    units += u;
    i += len;
    if (units * 2 >= max_units) {
      if (cp == '\n')
        newline = i;
      else if (cp == ' ' || cp == '\t')
        blank = i;
    }
  }
  if (i >= n)
    return n;
  if (newline > 0)
    return newline;
  if (blank > 0)
    return blank;
  if (i == 0) /* max_units < 2 and a 2-unit character: take it whole */
    return decode(p, n, 0, &cp);
  return soft_cut(p, n, i);
}

int lsys_tg_text_split(const char *s, size_t n, size_t max_units, lsys_tg_span **out,
                       size_t *count) {
  lsys_tg_span *spans = NULL;
  size_t cap = 0, used = 0, off = 0;
  int rc = LSYS_EINVAL;

  if (max_units < 2 || (s == NULL && n > 0) || out == NULL || count == NULL)
    goto fail;
  rc = LSYS_ENOMEM;
  do {
    if (used == cap) {
      size_t ncap = cap ? cap * 2 : 4;
      lsys_tg_span *grown = realloc(spans, ncap * sizeof *grown);
      if (grown == NULL)
        goto fail;
      spans = grown;
      cap = ncap;
    }
    size_t len = lsys_tg_text_cut(s + off, n - off, max_units);
    spans[used].off = off;
    spans[used].len = len;
    used++;
    off += len;
  } while (off < n);
  *out = spans;
  *count = used;
  return LSYS_OK;

fail:
  free(spans);
  return rc;
}

int lsys_tg_text_escape(const char *s, size_t n, char **out, size_t *out_len) {
  size_t len = 0;
  char *buf, *w;

  for (size_t i = 0; i < n; i++)
    len += s[i] == '&' ? 5 : (s[i] == '<' || s[i] == '>') ? 4 : 1;
  if ((buf = malloc(len + 1)) == NULL)
    return LSYS_ENOMEM;
  w = buf;
  for (size_t i = 0; i < n; i++) {
    const char *rep = s[i] == '&' ? "&amp;" : s[i] == '<' ? "&lt;" : s[i] == '>' ? "&gt;" : NULL;
    if (rep != NULL) {
      size_t k = strlen(rep);
      memcpy(w, rep, k);
      w += k;
    } else {
      *w++ = s[i];
    }
  }
  *w = '\0';
  *out = buf;
  *out_len = len;
  return LSYS_OK;
}

int lsys_tg_text_is_blank(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (strchr(" \t\r\n\v\f", s[i]) == NULL || s[i] == '\0')
      return 0;
  }
  return 1;
}
