/* console.c - the console column: one line per record on a FILE*, coloured
 * like the old Python system, plain, or as the logbeacon JSON body.
 *
 * One record is always exactly one line, so line-oriented log collectors
 * (kubectl logs, Fluent Bit) never split or merge records: in plain and color
 * mode "\n" and "\r" in a field are written as the two characters \n and \r,
 * and other control characters (ESC above all, which could forge colours or
 * move the cursor on a terminal) as \xHH. Tabs are kept. */
#include "console.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errors.h"
#include "queue_json.h"

#define RESET "\x1b[0m"

struct lsys_console {
  lsys_console_mode mode; /* never AUTO after create */
  FILE *fp;               /* not owned */
  char *domain;           /* owned copy, for JSON mode */
};

int lsys_console_create(lsys_console **out, lsys_console_mode mode, FILE *fp, const char *domain) {
  lsys_console *c = NULL;
  int rc = LSYS_EINVAL;

  if (out == NULL || fp == NULL || (int)mode < (int)LSYS_CONSOLE_AUTO ||
      (int)mode > (int)LSYS_CONSOLE_OFF)
    goto fail;
  rc = LSYS_ENOMEM;
  if ((c = calloc(1, sizeof *c)) == NULL || (c->domain = strdup(domain ? domain : "")) == NULL)
    goto fail;
  c->fp = fp;
  c->mode = mode;
  if (mode == LSYS_CONSOLE_AUTO) {
    int fd = fileno(fp);
    c->mode = (fd >= 0 && isatty(fd)) ? LSYS_CONSOLE_COLOR : LSYS_CONSOLE_PLAIN;
  }
  *out = c;
  return LSYS_OK;

fail:
  lsys_console_destroy(c);
  return rc;
}

void lsys_console_destroy(lsys_console *c) {
  if (c == NULL)
    return;
  if (c->fp != NULL)
    fflush(c->fp);
  free(c->domain);
  free(c);
}

void lsys_console_flush(lsys_console *c) {
  if (c != NULL)
    fflush(c->fp);
}

/* level_color returns the old system's ANSI colour for level, or "" for an
 * unknown level. */
static const char *level_color(int level) {
  switch (level) {
  case 0: return "\x1b[36m";          /* Debug: cyan */
  case 1: case 11: return "\x1b[32m"; /* Info, Info_CTG: green */
  case 9: case 91: return "\x1b[31m"; /* Error, Error_CTG: red */
  case 99: return "\x1b[42m";         /* Monitor: green background */
  default: return "";
  }
}

/* needs_escape reports whether byte b must not reach the console as is. */
static int needs_escape(unsigned char b) {
  return (b < 0x20 && b != '\t') || b == 0x7f;
}

/* put_escaped writes s with control characters escaped (see the file comment). */
static void put_escaped(FILE *fp, const char *s) {
  if (s == NULL)
    return;
  for (;;) {
    size_t run = 0;
    while (s[run] != '\0' && !needs_escape((unsigned char)s[run]))
      run++;
    fwrite(s, 1, run, fp);
    s += run;
    if (*s == '\0')
      return;
    if (*s == '\n')
      fputs("\\n", fp);
    else if (*s == '\r')
      fputs("\\r", fp);
    else
      fprintf(fp, "\\x%02x", (unsigned)(unsigned char)*s);
    s++;
  }
}

/* write_line prints the plain format, wrapped in color when color is not "". */
static void write_line(lsys_console *c, const lsys_record *r, const char *color) {
  char ts[20];
  lsys_qjson_timestamp(r->time_unix_ms, ts);
  fputs(color, c->fp);
  fputs(ts, c->fp);
  fputs(" [", c->fp);
  put_escaped(c->fp, r->level_name);
  fputs("] ", c->fp);
  put_escaped(c->fp, r->program_name);
  fputc(' ', c->fp);
  put_escaped(c->fp, r->def_name);
  fputs(": ", c->fp);
  put_escaped(c->fp, r->message);
  if (r->extra_info != NULL && r->extra_info[0] != '\0') {
    fputs(" | ", c->fp);
    put_escaped(c->fp, r->extra_info);
  }
  if (color[0] != '\0')
    fputs(RESET, c->fp);
  fputc('\n', c->fp);
}

void lsys_console_write(lsys_console *c, const lsys_record *r) {
  if (c == NULL || r == NULL)
    return;
  switch (c->mode) {
  case LSYS_CONSOLE_OFF:
    return;
  case LSYS_CONSOLE_JSON: {
    char *json = NULL;
    size_t n = 0;
    if (lsys_qjson_logbeacon(r, c->domain, &json, &n) == LSYS_OK) {
      fwrite(json, 1, n, c->fp); /* JSON escapes every control character */
      fputc('\n', c->fp);
      free(json);
    } else {
      write_line(c, r, ""); /* out of memory: still show the record */
    }
    return;
  }
  case LSYS_CONSOLE_COLOR:
    write_line(c, r, level_color(r->level));
    return;
  default:
    write_line(c, r, "");
    return;
  }
}
