/* spool.h - the on-disk spool of logsysd (SPEC section 4, issue 4).
 *
 * While RabbitMQ is unreachable or not confirming, the publisher appends each
 * accepted message copy (an opaque blob) here, calls lsys_spool_sync once for
 * a batch, and only then acknowledges the client. When RabbitMQ confirms
 * again, the publisher replays the records oldest first (lsys_spool_next),
 * and releases them once confirmed (lsys_spool_release); fully released
 * segment files are deleted.
 *
 * On disk: segment files spool-%020llu.seg (named by their first seq) of
 * checked records, plus spool.ckpt (the release point). Formats:
 * spool_format.h. Segments from an earlier run are never written again;
 * appends always go to a segment created by this run.
 *
 * Crash safety: only records covered by a successful lsys_spool_sync are
 * promised to survive a crash or kill -9. At open every segment is read and
 * checked; damage (a torn tail after a crash mid-write, or a corrupt record in
 * the middle) is reported through the report callback (file, offset, bytes
 * skipped), skipped, and never stops the spool from opening. After a crash
 * some confirmed records may be replayed again (the release point is stored
 * every LSYS_SPOOL_CKPT_EVERY releases, and durably before any deletion):
 * duplicates are possible, losses are not.
 *
 * Order: the spool replays in append order. To keep the order of a client's
 * records, a publisher that has spooled anything keeps appending new copies
 * here (and replaying) until lsys_spool_records is 0, rather than publishing
 * them directly.
 *
 * Threads: a spool is owned by one thread (the publisher); no function may be
 * called concurrently with another on the same spool, except
 * lsys_spool_bytes and lsys_spool_records, which any thread may call (metrics,
 * readiness). A directory is opened by one spool at a time (flock), so two
 * sidecars cannot share it.
 *
 * Sequence numbers start at 1 and keep increasing across restarts: a seq that
 * may have been on disk is never assigned again (after damage, numbering
 * jumps past anything the damaged bytes could have held). There may be gaps. */
#ifndef LSYS_SPOOL_H
#define LSYS_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "spool_format.h" /* LSYS_SPOOL_MAX_RECORD, LSYS_SPOOL_EMPTY, lsys_spool_report_fn */

#define LSYS_SPOOL_SEGMENT_BYTES (16u << 20) /* default segment size: rotate past 16 MiB */
#define LSYS_SPOOL_CKPT_EVERY 1024u          /* store the release point every so many releases */

typedef struct lsys_spool lsys_spool;

typedef struct lsys_spool_opts {
  const char *dir;             /* LOGSYS_SPOOL_DIR; created (0700, with parents) if missing */
  uint64_t max_bytes;          /* LOGSYS_SPOOL_MAX_BYTES: bound on the segment files' total size */
  uint64_t segment_bytes;      /* rotate when a segment would grow past this; 0: the smaller of
                                  LSYS_SPOOL_SEGMENT_BYTES and max_bytes/8 (at least 64 KiB) */
  lsys_spool_report_fn report; /* damage found on disk, one line each; NULL: not reported */
  void *report_arg;
} lsys_spool_opts;

/* lsys_spool_open opens (or creates) the spool in o->dir and scans it: every
 * segment is checked, damage reported and skipped, fully released segments
 * and segments without a single valid record deleted. o and its strings are
 * copied. The replay cursor starts at the oldest unreleased record.
 * \return LSYS_OK with *out; LSYS_EINVAL (no dir, max_bytes 0), LSYS_EIO (the
 * directory cannot be created or read, or another process holds it) or
 * LSYS_ENOMEM, with a message in err. *out is written only on success. */
int lsys_spool_open(lsys_spool **out, const lsys_spool_opts *o, char *err, size_t errlen);

/* lsys_spool_append copies len bytes at buf as the next record into a
 * buffer of the current segment (rotating to a new segment first when it
 * would grow past the segment size) and returns its sequence number in *seq
 * (may be NULL). The record is durable only after lsys_spool_sync.
 * \return LSYS_OK; LSYS_EINVAL (len > LSYS_SPOOL_MAX_RECORD, or buf NULL with
 * len > 0); LSYS_EFULL when the spool would grow past max_bytes (nothing
 * written; the client keeps its records); LSYS_EIO when a write failed: then
 * the records appended since the last successful sync may be lost (their
 * clients must not be acknowledged) and the next append starts a new segment. */
int lsys_spool_append(lsys_spool *s, const void *buf, size_t len, uint64_t *seq);

/* lsys_spool_sync writes out the buffered records and fdatasyncs the current
 * segment (and fsyncs the directory after a segment was created): one call
 * makes every earlier append durable. Cheap when nothing is pending.
 * \return LSYS_OK, or LSYS_EIO: the records appended since the last successful
 * sync may be lost (do not acknowledge them) and the spool goes on with a new
 * segment. */
int lsys_spool_sync(lsys_spool *s);

/* lsys_spool_next hands out the oldest record not yet handed out (since open
 * or the last rewind) and not released: *seq, and *buf / *len pointing at the
 * payload inside the spool, valid until the next lsys_spool_next,
 * lsys_spool_rewind, lsys_spool_release or lsys_spool_close. Only synced
 * records are handed out. Damage met while reading is reported and skipped;
 * so is a segment file that disappeared (its records are reported lost).
 * \return LSYS_OK; LSYS_SPOOL_EMPTY when no synced record is waiting;
 * LSYS_EIO or LSYS_ENOMEM (the cursor stays; try again later). */
int lsys_spool_next(lsys_spool *s, uint64_t *seq, const void **buf, size_t *len);

/* lsys_spool_rewind moves the cursor back to the oldest unreleased record,
 * e.g. after the connection was lost with records handed out but not
 * confirmed: they are handed out again, in order. */
void lsys_spool_rewind(lsys_spool *s);

/* lsys_spool_release marks every handed-out record with seq <= seq as
 * confirmed (records not handed out yet are never released; a seq beyond the
 * last handed out counts as that one). Segment files whose records are all
 * released are deleted, after the release point is stored durably; the
 * release point is also stored every LSYS_SPOOL_CKPT_EVERY records.
 * \return LSYS_OK, or LSYS_EIO when the release point could not be stored (the
 * records stay released in memory; a restart may replay them; the segments are
 * kept and the next call, with any seq, tries again). */
int lsys_spool_release(lsys_spool *s, uint64_t seq);

/* lsys_spool_bytes returns the total size of the segment files, buffered
 * appends included: what max_bytes bounds (released records count until their
 * segment is deleted). Any thread may call it. */
uint64_t lsys_spool_bytes(const lsys_spool *s);

/* lsys_spool_records returns how many valid records are not released yet
 * (appended but unsynced ones included). Any thread may call it. */
uint64_t lsys_spool_records(const lsys_spool *s);

/* lsys_spool_close syncs what is pending, stores the release point durably and
 * frees s (NULL is fine). Failures are ignored: unsynced records were never
 * acknowledged, and a stale release point only means duplicates. */
void lsys_spool_close(lsys_spool *s);

#endif
