/* tg_text.h - Telegram message text: HTML escaping and splitting into parts
 * that fit sendMessage's limit of 4096 characters.
 *
 * Rule. Telegram limits the text "after entity parsing": with parse_mode HTML
 * and everything escaped there are no tags, so the parsed text is exactly the
 * raw text (an escaped "&lt;" parses back to one "<"). We therefore split the
 * raw text and escape each part afterwards: an entity can never be cut, and the
 * parsed length of an escaped part is the length of its raw part.
 *
 * Characters are counted as UTF-16 code units (a character above U+FFFF, e.g.
 * most emoji, counts 2), which is how Telegram measures text offsets and never
 * less than the code point count: a part within LSYS_TG_TEXT_MAX units is
 * within the limit whichever way Telegram counts.
 *
 * Cuts prefer, in order: just after the last newline of the part, just after
 * the last blank, and a character boundary that does not separate a combining
 * mark, variation selector or zero-width joiner from the character before it.
 * A newline or blank is only used when it keeps the part at least half full,
 * so a text never turns into many tiny messages. Parts concatenate to the
 * original text exactly. */
#ifndef LSYS_TG_TEXT_H
#define LSYS_TG_TEXT_H

#include <stddef.h>

/* Longest sendMessage text, in UTF-16 code units (see above). */
#define LSYS_TG_TEXT_MAX 4096

/* One part of a split text: len bytes starting at byte off of the original. */
typedef struct lsys_tg_span {
  size_t off;
  size_t len;
} lsys_tg_span;

/* lsys_tg_text_units returns the length of the valid UTF-8 text s (n bytes)
 * in UTF-16 code units. */
size_t lsys_tg_text_units(const char *s, size_t n);

/* lsys_tg_text_cut returns the byte length of the first part of the valid
 * UTF-8 text s (n bytes) under the rule above: n itself when the whole text is
 * at most max_units long, otherwise a character boundary 0 < cut < n (max_units
 * must be at least 2 so one character always fits). */
size_t lsys_tg_text_cut(const char *s, size_t n, size_t max_units);

/* lsys_tg_text_split cuts the valid UTF-8 text s (n bytes) into parts of at
 * most max_units units each (at least one part, even for an empty text). On
 * success *out is a new array of *count spans (caller frees with free()).
 * Returns LSYS_OK, LSYS_EINVAL (max_units < 2) or LSYS_ENOMEM. */
int lsys_tg_text_split(const char *s, size_t n, size_t max_units, lsys_tg_span **out, size_t *count);

/* lsys_tg_text_escape HTML-escapes n bytes of s for parse_mode HTML: '&', '<'
 * and '>' become "&amp;", "&lt;" and "&gt;" (one pass, so an existing entity's
 * '&' is escaped too and nothing is escaped twice). On success *out is a new
 * NUL-terminated string (caller frees with free()) of *out_len bytes.
 * Returns LSYS_OK or LSYS_ENOMEM. */
int lsys_tg_text_escape(const char *s, size_t n, char **out, size_t *out_len);

/* lsys_tg_text_is_blank reports whether s (n bytes) holds only ASCII
 * whitespace: Telegram trims a text and rejects one that ends up empty. */
int lsys_tg_text_is_blank(const char *s, size_t n);

#endif
