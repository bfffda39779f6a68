/* logrec.h - one record from logsys_log() as the client keeps it until acknowledged.
 *
 * A record is a single allocation: the struct followed by its NUL-terminated
 * strings. It is made by the logging thread, travels through the ring and is
 * owned by the sender thread from then on. */
#ifndef LSYS_LOGREC_H
#define LSYS_LOGREC_H

#include <stddef.h>
#include <stdint.h>

#include "ids.h"
#include "pool.h"

/* Client-side hard cap on def_name, message and extra_info (bytes, marker
 * included). The sidecar applies its own, usually smaller, limit. */
#define LSYS_LOGREC_MAX_FIELD ((size_t)1 << 20)
/* Cap on a caller's hash: a correlation key, not text. With the field caps this
 * keeps one record well under the 3.5 MiB batch budget (4 MiB transport limit). */
#define LSYS_LOGREC_MAX_HASH ((size_t)64 << 10)

typedef struct lsys_logrec {
  int level;
  int sent;             /* set by the sender once a request carried it */
  int64_t time_unix_ms; /* CLOCK_REALTIME when logged */
  size_t wire_size;     /* upper bound of its protobuf encoding, program name aside */
  size_t alloc_size;    /* bytes asked of the pool, to give them back */
  char *def_name;       /* these point into data[] ... */
  char *message;
  char *extra_info;
  char *hash;           /* ... or, when the caller gave none, at log_id */
  char log_id[LSYS_ID_LEN + 1];
  char data[];
} lsys_logrec;

/* lsys_logrec_create takes memory from pool (NULL: malloc) and copies the strings (NULL means "") into a new record with a
 * fresh log_id from ids and the current time. A field over its cap is cut at a
 * UTF-8 character boundary and ends with LSYS_TRUNCATION_MARKER, as the sidecar
 * would cut it; no other change is made (invalid UTF-8 is left for the sidecar
 * to repair and report). hash NULL or "" makes hash equal to log_id, which is
 * unique. The level is not checked here. Sets *out (caller frees with
 * lsys_logrec_destroy and the same pool) on success only. Returns LSYS_OK or
 * LSYS_ENOMEM. */
int lsys_logrec_create(lsys_logrec **out, lsys_pool *pool, lsys_ids *ids, int level,
                       const char *def_name, const char *message, const char *extra_info,
                       const char *hash);

/* lsys_logrec_destroy gives a record's memory back to pool, the one it was
 * created from (NULL record is fine). */
void lsys_logrec_destroy(lsys_logrec *r, lsys_pool *pool);

#endif
