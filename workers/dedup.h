/* dedup.h - "was this record already delivered to this destination?"
 * (SPEC section 6: duplicates within LOGSYS_DEDUP_WINDOW_S are not delivered
 * twice).
 *
 * The key is a record's log_id (the AMQP message_id, else the body's
 * "log_id") plus its destination ("logbeacon", or the Telegram "type"), so
 * the copies of one record for different destinations do not suppress each
 * other. Messages without a log_id (the old system's) have no key and are
 * never deduplicated.
 *
 * Memory is bounded: at most max_entries keys are kept; when full the oldest
 * is forgotten early. With a directory, every recorded key is also appended to
 * a journal there ({name}.dedup.{n}; a worker holds slot n by a lock on
 * {name}.dedup.{n}.lock), so a restarted worker still knows what it delivered.
 * At start every journal of {name} in the directory is loaded (those of other
 * workers too); the own journal is rewritten without expired keys when it has
 * grown to twice the live keys. Appends are single write()s with O_APPEND and
 * no fsync: they survive the process being killed, not a power loss.
 *
 * One lsys_dedup is owned by one thread. */
#ifndef LSYS_DEDUP_H
#define LSYS_DEDUP_H

#include <stddef.h>
#include <stdint.h>

#define LSYS_DEDUP_KEY_MAX 256
#define LSYS_DEDUP_DEFAULT_MAX_ENTRIES 250000

typedef struct lsys_dedup lsys_dedup;

typedef struct lsys_dedup_opts {
  const char *dir;    /* journal directory (created if missing); NULL: memory only */
  const char *name;   /* journal name, e.g. the queue name: letters, digits, . _ - */
  int window_s;       /* LOGSYS_DEDUP_WINDOW_S; 0: deduplication off */
  size_t max_entries; /* 0: LSYS_DEDUP_DEFAULT_MAX_ENTRIES */
} lsys_dedup_opts;

/* lsys_dedup_make_key writes the key of a message into key (keylen bytes)
 * and returns 1, or returns 0 when it has none: no log_id, no destination, or
 * a key longer than keylen. dest is the destination, or NULL to take it from
 * the body's "type". message_id may be NULL. Bytes that could break the
 * journal (blanks, controls, '%', '/', non-ASCII) are %XX-escaped. */
int lsys_dedup_make_key(const char *dest, const char *message_id, const char *body, size_t len,
                        char *key, size_t keylen);

/* lsys_dedup_create makes a deduplicator with opts (copied) and loads the
 * journals. Fails with LSYS_ECONFIG (message in err) when the directory
 * cannot be used. *out is written only on success. */
int lsys_dedup_create(lsys_dedup **out, const lsys_dedup_opts *opts, char *err, size_t errlen);

/* lsys_dedup_seen tells whether key was recorded within the window before
 * now_ms (wall-clock milliseconds). */
int lsys_dedup_seen(lsys_dedup *d, const char *key, int64_t now_ms);

/* lsys_dedup_record remembers key as delivered at now_ms and appends it to
 * the journal. Returns LSYS_OK, LSYS_EIO when the journal write failed (the key
 * is still remembered in memory) or LSYS_ENOMEM (not remembered). */
int lsys_dedup_record(lsys_dedup *d, const char *key, int64_t now_ms);

/* lsys_dedup_size returns the keys held (live and not yet reclaimed). */
size_t lsys_dedup_size(const lsys_dedup *d);

/* lsys_dedup_evicted returns how many keys were forgotten before their window
 * ended because the table was full. */
uint64_t lsys_dedup_evicted(const lsys_dedup *d);

/* lsys_dedup_journal returns the path of the own journal, or NULL. */
const char *lsys_dedup_journal(const lsys_dedup *d);

/* lsys_dedup_destroy closes the journal and frees d; NULL is allowed. */
void lsys_dedup_destroy(lsys_dedup *d);

#endif
