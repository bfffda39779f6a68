/* spool_reader.c - checked, resynchronising reads of one spool segment. */
#include "spool_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"

#define READ_CHUNK (256u << 10) /* usual buffer size; grows only for a record that needs it */
#define NO_DAMAGE UINT64_MAX

void lsys_spool_reader_init(lsys_spool_reader *r, const char *dir, lsys_spool_report_fn report,
                            void *report_arg) {
  memset(r, 0, sizeof *r);
  r->fd = -1;
  r->dir = dir;
  r->report = report;
  r->report_arg = report_arg;
}

int lsys_spool_reader_open(lsys_spool_reader *r, int dirfd, const char *name, uint64_t off,
                           uint64_t limit, uint64_t lo, uint64_t hi, uint64_t quiet_below) {
  struct stat st;
  int rc = LSYS_EIO;
  lsys_spool_reader_close(r);
  r->fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (r->fd < 0) {
    rc = errno == ELOOP || errno == ENOENT ? LSYS_EINVAL : LSYS_EIO; /* symlink or gone */
    goto fail;
  }
  if (fstat(r->fd, &st) != 0)
    goto fail;
  if (!S_ISREG(st.st_mode)) {
    rc = LSYS_EINVAL;
    goto fail;
  }
  if (r->buf == NULL) {
    rc = LSYS_ENOMEM;
    if ((r->buf = malloc(READ_CHUNK)) == NULL)
      goto fail;
    r->cap = READ_CHUNK;
  }
  snprintf(r->name, sizeof r->name, "%s", name);
  r->size = (uint64_t)st.st_size;
  r->limit = limit < r->size ? limit : r->size;
  r->base = off;
  r->len = r->pos = 0;
  r->lo = lo;
  r->hi = hi;
  r->quiet_below = quiet_below;
  r->skipped = 0;
  return LSYS_OK;
fail:
  lsys_spool_reader_close(r);
  return rc;
}

void lsys_spool_reader_set_limit(lsys_spool_reader *r, uint64_t limit, uint64_t hi) {
  r->limit = limit;
  r->hi = hi;
}

uint64_t lsys_spool_reader_offset(const lsys_spool_reader *r) { return r->base + r->pos; }

void lsys_spool_reader_close(lsys_spool_reader *r) {
  if (r->fd >= 0)
    close(r->fd);
  r->fd = -1;
  if (r->cap > READ_CHUNK) { /* drop a buffer grown for one huge record */
    free(r->buf);
    r->buf = NULL;
    r->cap = 0;
  }
  r->len = r->pos = 0;
}

void lsys_spool_reader_destroy(lsys_spool_reader *r) {
  lsys_spool_reader_close(r);
  free(r->buf);
  r->buf = NULL;
  r->cap = 0;
}

/* fill makes at least need unparsed bytes available in the buffer, unless the
 * read limit (or the real end of the file) comes first; the caller checks.
 * need is bounded by the caller to what lies before the limit. */
static int fill(lsys_spool_reader *r, size_t need) {
  if (r->len - r->pos >= need)
    return LSYS_OK;
  if (r->pos > 0) {
    memmove(r->buf, r->buf + r->pos, r->len - r->pos);
    r->base += r->pos;
    r->len -= r->pos;
    r->pos = 0;
  }
  if (need > r->cap) {
    uint8_t *nb = realloc(r->buf, need);
    if (nb == NULL)
      return LSYS_ENOMEM;
    r->buf = nb;
    r->cap = need;
  }
  while (r->len < need && r->base + r->len < r->limit) {
    uint64_t left = r->limit - (r->base + r->len);
    size_t want = r->cap - r->len < left ? r->cap - r->len : (size_t)left;
    ssize_t n = pread(r->fd, r->buf + r->len, want, (off_t)(r->base + r->len));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return LSYS_EIO;
    if (n == 0) { /* shorter than we were told: the file's end is the limit */
      r->limit = r->base + r->len;
      break;
    }
    r->len += (size_t)n;
  }
  return LSYS_OK;
}

/* seek_magic advances to the next occurrence of the magic, or to the limit. */
static int seek_magic(lsys_spool_reader *r) {
  for (;;) {
    size_t have = r->len - r->pos;
    if (have >= 4) {
      const uint8_t *m = memmem(r->buf + r->pos, have, LSYS_SPOOL_MAGIC, 4);
      if (m != NULL) {
        r->pos = (size_t)(m - r->buf);
        return LSYS_OK;
      }
      r->pos = r->len - 3; /* a magic may straddle the end of what is read */
      have = 3;
    }
    if (r->base + r->len >= r->limit) {
      r->pos = r->len;
      return LSYS_OK;
    }
    int rc = fill(r, have + 1);
    if (rc != LSYS_OK)
      return rc;
  }
}

/* damage reports the stretch [bad, off) once, unless it was reported before;
 * next_seq is the record found after it, 0 for a tail. */
static void damage(lsys_spool_reader *r, uint64_t bad, uint64_t off, uint64_t next_seq) {
  char line[512];
  if (bad == NO_DAMAGE)
    return;
  r->skipped += off - bad;
  if (bad < r->quiet_below || r->report == NULL)
    return;
  if (next_seq != 0)
    snprintf(line, sizeof line,
             "spool %s/%s: skipped %" PRIu64 " damaged bytes at offset %" PRIu64
             "; resynchronised at offset %" PRIu64 " (record seq %" PRIu64 ")",
             r->dir, r->name, off - bad, bad, off, next_seq);
  else
    snprintf(line, sizeof line,
             "spool %s/%s: skipped %" PRIu64 " bytes of torn or damaged tail at offset %" PRIu64
             " (end %" PRIu64 "; typical of a crash during a write)",
             r->dir, r->name, off - bad, bad, off);
  r->report(r->report_arg, line);
}

int lsys_spool_reader_next(lsys_spool_reader *r, lsys_spool_rec *rec) {
  uint64_t bad = NO_DAMAGE;
  int rc;
  if (r->fd < 0)
    return LSYS_SPOOL_EMPTY;
  for (;;) {
    uint64_t off = r->base + r->pos;
    if (off >= r->limit) {
      damage(r, bad, off, 0);
      return LSYS_SPOOL_EMPTY;
    }
    uint64_t rest = r->limit - off;
    if (rest < LSYS_SPOOL_HDR) { /* too short for any record */
      if (bad == NO_DAMAGE)
        bad = off;
      r->base = r->limit;
      r->len = r->pos = 0;
      continue;
    }
    if ((rc = fill(r, LSYS_SPOOL_HDR)) != LSYS_OK)
      return rc;
    if (r->len - r->pos < LSYS_SPOOL_HDR)
      continue; /* the file ended early; fill moved the limit */
    uint32_t len;
    uint64_t seq;
    if (lsys_spool_format_peek(r->buf + r->pos, &len, &seq) == LSYS_OK &&
        len <= rest - LSYS_SPOOL_HDR && seq >= r->lo && seq <= r->hi) {
      size_t total = LSYS_SPOOL_HDR + (size_t)len;
      if ((rc = fill(r, total)) != LSYS_OK)
        return rc;
      if (r->len - r->pos >= total && lsys_spool_format_verify(r->buf + r->pos, len) == LSYS_OK) {
        damage(r, bad, off, seq);
        rec->seq = seq;
        rec->off = off;
        rec->end = off + total;
        rec->payload = r->buf + r->pos + LSYS_SPOOL_HDR;
        rec->len = len;
        r->pos += total;
        r->lo = seq + 1;
        return LSYS_OK;
      }
    }
    if (bad == NO_DAMAGE)
      bad = off;
    r->pos++;
    if ((rc = seek_magic(r)) != LSYS_OK)
      return rc;
  }
}
