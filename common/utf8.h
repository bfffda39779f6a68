/* utf8.h - making untrusted text safe to log: UTF-8 repair and bounded cuts.
 *
 * Shared by the sidecar (validation) and the client library (its own hard cap),
 * so both cut text the same way and with the same marker. */
#ifndef LSYS_UTF8_H
#define LSYS_UTF8_H

#include <stddef.h>

/* The old Python system's truncation marker, appended to a cut field. */
#define LSYS_TRUNCATION_MARKER "...(\xe5\xb7\xb2\xe6\x88\xaa\xe6\x96\xb7)" /* ...(已截斷) */

enum {
  LSYS_TEXT_TRUNCATED = 1u << 0, /* cut at max_bytes, marker appended */
  LSYS_TEXT_REPAIRED = 1u << 1,  /* invalid UTF-8 replaced by U+FFFD */
};

/* lsys_utf8_valid reports whether len bytes at s are valid UTF-8
 * (no overlongs, no surrogates, nothing above U+10FFFF). NUL bytes are valid. */
int lsys_utf8_valid(const char *s, size_t len);

/* lsys_utf8_sanitize copies len bytes of s into a new NUL-terminated string,
 * replacing each maximal invalid subsequence by U+FFFD and, when the result
 * would exceed max_bytes, cutting it at a character boundary and appending
 * LSYS_TRUNCATION_MARKER so that the result is at most max_bytes long
 * (max_bytes must be larger than the marker). Embedded NUL bytes are replaced by
 * U+FFFD too (they would end C strings early) and count as a repair.
 * On success *out (caller frees with free()) and *out_len are set and *flags
 * gets the LSYS_TEXT_* bits that apply. Returns LSYS_OK, LSYS_EINVAL or LSYS_ENOMEM. */
int lsys_utf8_sanitize(const char *s, size_t len, size_t max_bytes, char **out, size_t *out_len,
                       unsigned *flags);

/* lsys_utf8_cut_len returns the largest n <= max such that the first n bytes
 * of the valid UTF-8 string s (length len) end on a character boundary. */
size_t lsys_utf8_cut_len(const char *s, size_t len, size_t max);

#endif
