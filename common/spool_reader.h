/* spool_reader.h - reads the records of one segment file in order, checking
 * every one (magic, bounds, CRC, sequence range) and skipping damage.
 *
 * Nothing read from disk is trusted: a length is accepted only if it is at
 * most LSYS_SPOOL_MAX_RECORD and the record fits before the read limit, so a
 * bogus length never makes the reader allocate more than the bytes that are
 * really there (and never more than LSYS_SPOOL_HDR + LSYS_SPOOL_MAX_RECORD).
 *
 * Damage (a record that fails a check) is skipped by searching forward for
 * the next magic that starts a valid record ("resynchronising"). Each damaged
 * stretch is reported once through the report callback: the file, the offset,
 * how many bytes were skipped and whether a good record followed (damage in
 * the middle) or not (a torn tail, typically a crash during a write).
 *
 * A reader is a plain struct owned by one thread. Its read buffer survives
 * lsys_spool_reader_close so one reader can walk many segments. */
#ifndef LSYS_SPOOL_READER_H
#define LSYS_SPOOL_READER_H

#include <stddef.h>
#include <stdint.h>

#include "spool_format.h"

typedef struct lsys_spool_reader {
  int fd;                         /* the open segment, -1 when closed */
  const char *dir;                /* directory, for reports (not owned) */
  char name[LSYS_SPOOL_NAME_LEN]; /* segment file name, for reports */
  uint8_t *buf;                   /* read buffer (owned) */
  size_t cap, len, pos;           /* buf holds [0, len); the next byte to parse is buf[pos] */
  uint64_t base;                  /* file offset of buf[0] */
  uint64_t size;                  /* file size when opened */
  uint64_t limit;                 /* nothing at or after this offset is read */
  uint64_t lo, hi;                /* the next record's seq must be in [lo, hi] */
  uint64_t quiet_below;           /* damage starting before this offset is not reported again */
  uint64_t skipped;               /* damaged bytes skipped since open */
  lsys_spool_report_fn report;    /* may be NULL */
  void *report_arg;
} lsys_spool_reader;

/* One record handed out by lsys_spool_reader_next. payload points into the
 * reader's buffer: valid until the next call on the reader. */
typedef struct lsys_spool_rec {
  uint64_t seq;
  uint64_t off, end; /* file offsets of the record's first byte and one past its last */
  const uint8_t *payload;
  size_t len;
} lsys_spool_rec;

/* lsys_spool_reader_init prepares r (closed, no buffer). dir must outlive r. */
void lsys_spool_reader_init(lsys_spool_reader *r, const char *dir, lsys_spool_report_fn report,
                            void *report_arg);

/* lsys_spool_reader_open opens segment name in dirfd and positions r at file
 * offset off. Records must have lo <= seq <= hi (anything else is damage);
 * nothing at or after min(limit, file size) is read. Damage before
 * quiet_below is skipped silently (it was reported before).
 * Returns LSYS_OK, LSYS_EINVAL (missing, a symlink or not a regular file),
 * LSYS_EIO or LSYS_ENOMEM;
 * on failure r is closed. */
int lsys_spool_reader_open(lsys_spool_reader *r, int dirfd, const char *name, uint64_t off,
                           uint64_t limit, uint64_t lo, uint64_t hi, uint64_t quiet_below);

/* lsys_spool_reader_set_limit moves the read limit and the highest accepted
 * seq of an open reader, e.g. when more of the segment being written has been
 * synced. */
void lsys_spool_reader_set_limit(lsys_spool_reader *r, uint64_t limit, uint64_t hi);

/* lsys_spool_reader_next hands out the next valid record in *rec.
 * Returns LSYS_OK, LSYS_SPOOL_EMPTY when the limit is reached (any damaged
 * tail before it has been reported and skipped), LSYS_EIO or LSYS_ENOMEM. */
int lsys_spool_reader_next(lsys_spool_reader *r, lsys_spool_rec *rec);

/* lsys_spool_reader_offset returns the file offset of the next byte to parse. */
uint64_t lsys_spool_reader_offset(const lsys_spool_reader *r);

/* lsys_spool_reader_close closes the segment file (no-op when closed) and keeps the buffer. */
void lsys_spool_reader_close(lsys_spool_reader *r);

/* lsys_spool_reader_destroy closes r and frees its buffer. r may be reused after init. */
void lsys_spool_reader_destroy(lsys_spool_reader *r);

#endif
