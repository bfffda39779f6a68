/* record.h - one validated log record as the sidecar and delivery code see it.
 *
 * All pointers are borrowed: the record does not own its strings; whoever
 * builds it keeps them alive while it is used. Strings are valid UTF-8 and
 * NUL-terminated (the sidecar sanitizes them before building a record). */
#ifndef LSYS_RECORD_H
#define LSYS_RECORD_H

#include <stdint.h>

typedef struct lsys_record {
  int level;
  const char *level_name;   /* "Debug", "Info", ... */
  const char *program_name;
  const char *def_name;
  const char *message;
  const char *extra_info;
  const char *hash;         /* correlation key */
  const char *log_id;       /* idempotency key */
  int64_t time_unix_ms;
} lsys_record;

#endif
