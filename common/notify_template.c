/* notify_template.c - the Telegram notify_msg template: parsed once at
 * start-up into literal and placeholder segments, rendered per message with
 * one allocation and no re-parsing. */
#include "notify_template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "queue_json.h"

const char LSYS_TEMPLATE_DEFAULT[] = "時間: {time}\n"
                                     "網域: {domain}\n"
                                     "程式: {program}\n"
                                     "函式: {def_name}\n"
                                     "訊息: {message}\n"
                                     "附加資訊: {extra_info}";

enum {
  F_LITERAL = -1,
  F_TIME,
  F_DOMAIN,
  F_PROGRAM,
  F_LEVEL,
  F_DEF_NAME,
  F_MESSAGE,
  F_EXTRA_INFO,
  F_HASH,
  F_LOG_ID,
  F_COUNT,
};

static const char *const field_names[F_COUNT] = {
    "time", "domain", "program", "level", "def_name", "message", "extra_info", "hash", "log_id",
};

#define KNOWN_PLACEHOLDERS \
  "{time} {domain} {program} {level} {def_name} {message} {extra_info} {hash} {log_id}"

/* A segment is either literal text (lit[off, off+len)) or one field. */
typedef struct segment {
  int field; /* F_LITERAL or F_* */
  size_t off, len;
} segment;

struct lsys_template {
  segment *segs;
  size_t nseg;
  char *lit; /* all literal text, with escapes already resolved */
};

void lsys_template_destroy(lsys_template *t) {
  if (t == NULL)
    return;
  free(t->segs);
  free(t->lit);
  free(t);
}

/* field_index returns the F_* of the placeholder named by n bytes at name, or -1. */
static int field_index(const char *name, size_t n) {
  for (int i = 0; i < F_COUNT; i++)
    if (strlen(field_names[i]) == n && memcmp(field_names[i], name, n) == 0)
      return i;
  return -1;
}

/* set_err writes a formatted message into err when the caller gave room. */
static void set_err(char *err, size_t errlen, const char *what, const char *at, size_t n,
                    size_t offset) {
  if (err == NULL || errlen == 0)
    return;
  if (at != NULL)
    snprintf(err, errlen, "template: %s {%.*s} at offset %zu (known: %s)", what,
             (int)(n > 64 ? 64 : n), at, offset, KNOWN_PLACEHOLDERS);
  else
    snprintf(err, errlen, "template: %s at offset %zu (use {{ and }} for literal braces)", what,
             offset);
}

/* add_segment appends a segment; literal segments of zero length are skipped. */
static void add_segment(lsys_template *t, int field, size_t off, size_t len) {
  if (field == F_LITERAL && len == 0)
    return;
  t->segs[t->nseg].field = field;
  t->segs[t->nseg].off = off;
  t->segs[t->nseg].len = len;
  t->nseg++;
}

int lsys_template_create(lsys_template **out, const char *text, char *err, size_t errlen) {
  lsys_template *t = NULL;
  int rc = LSYS_EINVAL;

  if (err != NULL && errlen > 0)
    err[0] = '\0';
  if (out == NULL || text == NULL) {
    set_err(err, errlen, "no template text", NULL, 0, 0);
    goto fail;
  }
  size_t len = strlen(text);
  rc = LSYS_ENOMEM;
  if ((t = calloc(1, sizeof *t)) == NULL || (t->lit = malloc(len + 1)) == NULL ||
      (t->segs = calloc(len + 1, sizeof *t->segs)) == NULL)
    goto fail;

  rc = LSYS_EINVAL;
  size_t n = 0, start = 0; /* bytes in lit; start of the current literal */
  for (size_t i = 0; i < len;) {
    char c = text[i];
    if (c == '\\' && text[i + 1] == 'n') {
      t->lit[n++] = '\n';
      i += 2;
    } else if ((c == '{' || c == '}') && text[i + 1] == c) {
      t->lit[n++] = c;
      i += 2;
    } else if (c == '}') {
      set_err(err, errlen, "single '}'", NULL, 0, i);
      goto fail;
    } else if (c == '{') {
      const char *name = text + i + 1;
      size_t nl = strcspn(name, "{}");
      if (name[nl] != '}') {
        set_err(err, errlen, "unclosed '{'", NULL, 0, i);
        goto fail;
      }
      int f = field_index(name, nl);
      if (f < 0) {
        set_err(err, errlen, "unknown placeholder", name, nl, i);
        goto fail;
      }
      add_segment(t, F_LITERAL, start, n - start);
      add_segment(t, f, 0, 0);
      start = n;
      i += nl + 2;
    } else {
      t->lit[n++] = c;
      i++;
    }
  }
  add_segment(t, F_LITERAL, start, n - start);
  t->lit[n] = '\0';
  *out = t;
  return LSYS_OK;

fail:
  lsys_template_destroy(t);
  return rc;
}

/* field_value returns the text a placeholder stands for (never NULL). */
static const char *field_value(int f, const lsys_record *r, const char *domain, const char *ts) {
  const char *v = NULL;
  switch (f) {
  case F_TIME: v = ts; break;
  case F_DOMAIN: v = domain; break;
  case F_PROGRAM: v = r->program_name; break;
  case F_LEVEL: v = r->level_name; break;
  case F_DEF_NAME: v = r->def_name; break;
  case F_MESSAGE: v = r->message; break;
  case F_EXTRA_INFO: v = r->extra_info; break;
  case F_HASH: v = r->hash; break;
  case F_LOG_ID: v = r->log_id; break;
  default: break;
  }
  return v != NULL ? v : "";
}

int lsys_template_render(const lsys_template *t, const lsys_record *r, const char *domain, char **out) {
  char ts[20];
  size_t total = 0;

  if (t == NULL || r == NULL || out == NULL)
    return LSYS_EINVAL;
  lsys_qjson_timestamp(r->time_unix_ms, ts);
  for (size_t i = 0; i < t->nseg; i++) {
    const segment *s = &t->segs[i];
    total += (s->field == F_LITERAL) ? s->len : strlen(field_value(s->field, r, domain, ts));
  }
  char *buf = malloc(total + 1);
  if (buf == NULL)
    return LSYS_ENOMEM;
  char *p = buf;
  for (size_t i = 0; i < t->nseg; i++) {
    const segment *s = &t->segs[i];
    const char *v = (s->field == F_LITERAL) ? t->lit + s->off : field_value(s->field, r, domain, ts);
    size_t n = (s->field == F_LITERAL) ? s->len : strlen(v);
    memcpy(p, v, n);
    p += n;
  }
  *p = '\0';
  *out = buf;
  return LSYS_OK;
}
