/* console.h - the console column: every record printed to stdout.
 *
 * Modes (LOGSYS_CONSOLE): auto (color on a TTY, plain otherwise), color, plain,
 * json (the {domain}_logbeacon body, one per line), off. One console is owned by
 * one thread; it buffers and is flushed with lsys_console_flush. */
#ifndef LSYS_CONSOLE_H
#define LSYS_CONSOLE_H

#include <stdio.h>
#include "record.h"

typedef enum lsys_console_mode {
  LSYS_CONSOLE_AUTO = 0,
  LSYS_CONSOLE_COLOR,
  LSYS_CONSOLE_PLAIN,
  LSYS_CONSOLE_JSON,
  LSYS_CONSOLE_OFF,
} lsys_console_mode;

typedef struct lsys_console lsys_console;

/* lsys_console_create writes to fp (not owned; usually stdout). AUTO is
 * resolved here with isatty(). *out written only on success. */
int lsys_console_create(lsys_console **out, lsys_console_mode mode, FILE *fp, const char *domain);

/* lsys_console_write prints one record (no flush). Plain format:
 * "2025-11-26 10:30:00 [Error] program def_name: message | extra_info"
 * (" | extra_info" only when extra_info is not empty). Colors: Debug cyan,
 * Info/Info_CTG green, Error/Error_CTG red, Monitor on a green background. */
void lsys_console_write(lsys_console *c, const lsys_record *r);

/* lsys_console_flush flushes fp. */
void lsys_console_flush(lsys_console *c);

/* lsys_console_destroy flushes and frees c (not fp); NULL is allowed. */
void lsys_console_destroy(lsys_console *c);

#endif
