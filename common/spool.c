/* spool.c - the publisher's on-disk spool: buffered appends made durable by
 * one sync per batch, in-order replay, release and deletion of segments.
 *
 * In memory the spool is a list of segments, oldest first. The last one may
 * be the write segment (wfd >= 0), created by this run; its appends sit in
 * wbuf until flushed. Per segment we know the bytes and the last seq that a
 * sync covered: replay never reads past them, so it hands out only durable
 * records, and a failed write can be rolled back to that point without
 * disturbing the cursor. Handed-out seqs are kept as runs (first..last) so
 * that a release knows exactly how many records it confirms, and from which
 * segments (segment i holds only seqs in [first_i, first_i+1)). */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "errors.h"
#include "spool_checkpoint.h"
#include "spool_reader.h"

#define WBUF_BYTES (512u << 10) /* append buffer; bigger records are written directly */
#define MIN_SEGMENT (64u << 10)

typedef struct seg {
  uint64_t first;       /* seq in the file name */
  uint64_t last;        /* highest valid seq in the segment, 0 for none */
  uint64_t synced_last; /* highest seq a sync covered */
  uint64_t size;        /* bytes, buffered appends included */
  uint64_t synced_size; /* bytes a sync covered: replay reads no further */
  uint64_t start;       /* replay starts here (everything before is released) */
  uint64_t reported;    /* damage before this offset was reported already */
  uint64_t nrec;        /* valid records in it not released yet */
  char name[LSYS_SPOOL_NAME_LEN];
} seg;

typedef struct run {
  uint64_t first, last; /* handed-out records with these seqs (all valid) */
} run;

struct lsys_spool {
  char *dir;
  int dirfd; /* holds the flock */
  uint64_t max_bytes, seg_bytes;
  lsys_spool_report_fn report;
  void *report_arg;
  seg *segs; /* oldest first */
  size_t nsegs, capsegs;
  int wfd; /* the write segment segs[nsegs - 1], or -1 */
  uint8_t *wbuf;
  size_t wlen;
  uint64_t unsynced; /* records appended since the last sync */
  int dir_dirty;     /* a segment was created since the directory was fsync'ed */
  uint64_t next_seq, released, ckpt_released;
  run *runs; /* handed out and not released: runs[rhead .. nruns) */
  size_t rhead, nruns, capruns;
  size_t cur; /* cursor segment; rd is open on segs[cur] or closed */
  lsys_spool_reader rd;
  uint64_t nbytes, nrecords;               /* owner's counts ... */
  _Atomic uint64_t pub_bytes, pub_records; /* ... published for other threads */
};

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  if (err == NULL || errlen == 0)
    return;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
}

static void reportf(lsys_spool *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reportf(lsys_spool *s, const char *fmt, ...) {
  char line[512];
  va_list ap;
  if (s->report == NULL)
    return;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  s->report(s->report_arg, line);
}

/* publish makes the counts visible to lsys_spool_bytes/records callers. */
static void publish(lsys_spool *s) {
  atomic_store_explicit(&s->pub_bytes, s->nbytes, memory_order_relaxed);
  atomic_store_explicit(&s->pub_records, s->nrecords, memory_order_relaxed);
}

static uint64_t max64(uint64_t a, uint64_t b) { return a > b ? a : b; }

/* make_dirs creates dir and its missing parents with mode 0700. */
static int make_dirs(const char *dir) {
  char path[PATH_MAX];
  size_t n = strlen(dir);
  if (n >= sizeof path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(path, dir, n + 1);
  for (char *p = path + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
      return -1;
    *p = '/';
  }
  return mkdir(path, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

/* push_seg appends a copy of g to the segment list. */
static int push_seg(lsys_spool *s, const seg *g) {
  if (s->nsegs == s->capsegs) {
    size_t cap = s->capsegs ? s->capsegs * 2 : 16;
    seg *n = realloc(s->segs, cap * sizeof *n);
    if (n == NULL)
      return LSYS_ENOMEM;
    s->segs = n;
    s->capsegs = cap;
  }
  s->segs[s->nsegs++] = *g;
  return LSYS_OK;
}

/* remove_seg forgets segs[i] (the file is the caller's business). */
static void remove_seg(lsys_spool *s, size_t i) {
  memmove(s->segs + i, s->segs + i + 1, (s->nsegs - i - 1) * sizeof *s->segs);
  s->nsegs--;
}

static int cmp_seg(const void *a, const void *b) {
  const seg *x = a, *y = b;
  return x->first < y->first ? -1 : x->first > y->first;
}

/* list_segments collects the segment files of the directory, sorted by seq.
 * Every other name is left alone (lost+found, an operator's notes, ...). */
static int list_segments(lsys_spool *s, char *err, size_t errlen) {
  int fd = dup(s->dirfd), rc = LSYS_OK;
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  if (d == NULL) {
    seterr(err, errlen, "spool: cannot list %s: %s", s->dir, strerror(errno));
    if (fd >= 0)
      close(fd);
    return LSYS_EIO;
  }
  for (struct dirent *e; rc == LSYS_OK && (e = readdir(d)) != NULL;) {
    seg g = {0};
    if (lsys_spool_format_parse_segment_name(e->d_name, &g.first) != LSYS_OK)
      continue;
    memcpy(g.name, e->d_name, sizeof g.name);
    rc = push_seg(s, &g);
  }
  closedir(d);
  if (rc != LSYS_OK)
    seterr(err, errlen, "spool: out of memory");
  else if (s->nsegs > 1)
    qsort(s->segs, s->nsegs, sizeof *s->segs, cmp_seg);
  return rc;
}

/* scan_segment reads all of g (records must have seqs in [g->first, hi]),
 * reporting damage, and fills in what replay needs. */
static int scan_segment(lsys_spool *s, seg *g, uint64_t hi) {
  lsys_spool_rec rec;
  int rc = lsys_spool_reader_open(&s->rd, s->dirfd, g->name, 0, UINT64_MAX, g->first, hi, 0);
  if (rc != LSYS_OK)
    return rc;
  g->start = UINT64_MAX;
  while ((rc = lsys_spool_reader_next(&s->rd, &rec)) == LSYS_OK) {
    g->last = rec.seq;
    if (rec.seq > s->released) {
      if (g->start == UINT64_MAX)
        g->start = rec.off;
      g->nrec++;
    }
  }
  g->size = g->synced_size = g->reported = s->rd.size;
  g->synced_last = g->last;
  if (g->start == UINT64_MAX)
    g->start = g->size;
  lsys_spool_reader_close(&s->rd);
  return rc == LSYS_SPOOL_EMPTY ? LSYS_OK : rc;
}

/* scan loads the checkpoint and checks every segment; see lsys_spool_open. */
static int scan(lsys_spool *s, char *err, size_t errlen) {
  char msg[256];
  uint64_t ckpt_next;
  if (lsys_spool_checkpoint_load(s->dirfd, &s->released, &ckpt_next, msg, sizeof msg) != LSYS_OK)
    reportf(s, "spool %s: %s", s->dir, msg);
  s->ckpt_released = s->released;
  s->next_seq = max64(max64(ckpt_next, s->released + 1), 1);
  int rc = list_segments(s, err, errlen);
  if (rc != LSYS_OK)
    return rc;
  for (size_t i = 0; i < s->nsegs;) {
    seg *g = &s->segs[i];
    uint64_t hi = i + 1 < s->nsegs ? s->segs[i + 1].first - 1 : LSYS_SPOOL_SEQ_MAX - 1;
    s->next_seq = max64(s->next_seq, g->first + 1);
    rc = scan_segment(s, g, hi);
    if (rc == LSYS_ENOMEM) {
      seterr(err, errlen, "spool: out of memory");
      return rc;
    }
    if (rc != LSYS_OK) { /* keep the file for a human; its records cannot be replayed */
      reportf(s, "spool %s/%s: %s; left in place and not replayed", s->dir, g->name,
              rc == LSYS_EINVAL ? "gone or not a regular file" : "cannot be read");
      remove_seg(s, i);
      continue;
    }
    s->next_seq = max64(s->next_seq, g->last + 1);
    if (s->rd.skipped > 0) /* damage may hide records: a segment's seqs are consecutive from
                              its name, each record at least LSYS_SPOOL_HDR bytes */
      s->next_seq = max64(s->next_seq, g->first + g->size / LSYS_SPOOL_HDR);
    if (g->last <= s->released) { /* nothing left to replay in it */
      if (g->last == 0)
        reportf(s, "spool %s/%s: no valid record in %llu bytes; removed", s->dir, g->name,
                (unsigned long long)g->size);
      (void)unlinkat(s->dirfd, g->name, 0);
      remove_seg(s, i);
      continue;
    }
    s->nbytes += g->size;
    s->nrecords += g->nrec;
    i++;
  }
  return LSYS_OK;
}

/* destroy frees s, built or half-built (NULL-safe), without writing anything. */
static void destroy(lsys_spool *s) {
  if (s == NULL)
    return;
  lsys_spool_reader_destroy(&s->rd);
  if (s->wfd >= 0)
    close(s->wfd);
  if (s->dirfd >= 0)
    close(s->dirfd); /* drops the flock */
  free(s->segs);
  free(s->runs);
  free(s->wbuf);
  free(s->dir);
  free(s);
}

int lsys_spool_open(lsys_spool **out, const lsys_spool_opts *o, char *err, size_t errlen) {
  lsys_spool *s = NULL;
  int rc = LSYS_EINVAL;
  if (out == NULL || o == NULL || o->dir == NULL || o->dir[0] == '\0' || o->max_bytes == 0) {
    seterr(err, errlen, "spool: a directory and a non-zero max_bytes are required");
    goto fail;
  }
  rc = LSYS_ENOMEM;
  if ((s = calloc(1, sizeof *s)) == NULL)
    goto fail;
  s->dirfd = s->wfd = -1;
  s->dir = strdup(o->dir);
  s->wbuf = malloc(WBUF_BYTES);
  if (s->dir == NULL || s->wbuf == NULL)
    goto fail;
  s->report = o->report;
  s->report_arg = o->report_arg;
  lsys_spool_reader_init(&s->rd, s->dir, o->report, o->report_arg);
  s->max_bytes = o->max_bytes;
  s->seg_bytes = o->segment_bytes;
  if (s->seg_bytes == 0) {
    s->seg_bytes =
        o->max_bytes / 8 < LSYS_SPOOL_SEGMENT_BYTES ? o->max_bytes / 8 : LSYS_SPOOL_SEGMENT_BYTES;
    s->seg_bytes = max64(s->seg_bytes, MIN_SEGMENT);
  }
  rc = LSYS_EIO;
  if (make_dirs(s->dir) != 0 || (s->dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
    seterr(err, errlen, "spool: cannot create or open directory %s: %s", s->dir, strerror(errno));
    goto fail;
  }
  if (flock(s->dirfd, LOCK_EX | LOCK_NB) != 0) {
    seterr(err, errlen, "spool: %s: %s", s->dir,
           errno == EWOULDBLOCK ? "in use by another process" : strerror(errno));
    goto fail;
  }
  if ((rc = scan(s, err, errlen)) != LSYS_OK)
    goto fail;
  publish(s);
  *out = s;
  return LSYS_OK;
fail:
  if (rc == LSYS_ENOMEM)
    seterr(err, errlen, "spool: out of memory");
  destroy(s);
  return rc;
}

/* write_all writes every byte of iov[0..n) to fd. */
static int write_all(int fd, struct iovec *iov, int n) {
  while (n > 0) {
    ssize_t w = writev(fd, iov, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return LSYS_EIO;
    for (size_t left = (size_t)w; left > 0 && n > 0;) {
      size_t take = left < iov->iov_len ? left : iov->iov_len;
      iov->iov_base = (uint8_t *)iov->iov_base + take;
      iov->iov_len -= take;
      left -= take;
      if (iov->iov_len == 0) {
        iov++;
        n--;
      }
    }
    while (n > 0 && iov->iov_len == 0) {
      iov++;
      n--;
    }
  }
  return LSYS_OK;
}

/* flush writes the append buffer to the write segment (no sync). */
static int flush(lsys_spool *s) {
  struct iovec iov = {s->wbuf, s->wlen};
  if (s->wlen > 0 && write_all(s->wfd, &iov, 1) != LSYS_OK)
    return LSYS_EIO;
  s->wlen = 0;
  return LSYS_OK;
}

/* fail_write rolls the write segment back to its last sync after a failed
 * write or sync (the lost records were never acknowledged), closes it so the
 * next append starts a new one, and returns LSYS_EIO. */
static int fail_write(lsys_spool *s) {
  seg *w = &s->segs[s->nsegs - 1];
  (void)ftruncate(s->wfd, (off_t)w->synced_size);
  close(s->wfd);
  s->wfd = -1;
  s->wlen = 0;
  s->nbytes -= w->size - w->synced_size;
  s->nrecords -= s->unsynced;
  w->nrec -= s->unsynced;
  s->unsynced = 0;
  s->next_seq = max64(s->next_seq, w->first + 1); /* never reuse the name, even if unlink failed */
  w->size = w->synced_size;
  w->last = w->synced_last;
  if (w->synced_size == 0) {
    (void)unlinkat(s->dirfd, w->name, 0);
    if (s->cur == s->nsegs - 1)
      lsys_spool_reader_close(&s->rd);
    remove_seg(s, s->nsegs - 1);
    if (s->cur > s->nsegs)
      s->cur = s->nsegs;
  }
  publish(s);
  return LSYS_EIO;
}

/* mark_synced records that everything appended to the write segment is durable. */
static void mark_synced(lsys_spool *s) {
  seg *w = &s->segs[s->nsegs - 1];
  w->synced_size = w->size;
  w->synced_last = w->last;
  s->unsynced = 0;
}

/* seal makes the full write segment durable and closes it. */
static int seal(lsys_spool *s) {
  if (flush(s) != LSYS_OK || fdatasync(s->wfd) != 0)
    return fail_write(s);
  mark_synced(s);
  close(s->wfd);
  s->wfd = -1;
  return LSYS_OK;
}

/* create_segment starts a new write segment named after the next seq. */
static int create_segment(lsys_spool *s) {
  seg g = {.first = s->next_seq};
  lsys_spool_format_segment_name(g.name, g.first);
  int fd = openat(s->dirfd, g.name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return LSYS_EIO;
  if (push_seg(s, &g) != LSYS_OK) {
    close(fd);
    (void)unlinkat(s->dirfd, g.name, 0);
    return LSYS_ENOMEM;
  }
  s->wfd = fd;
  s->dir_dirty = 1;
  return LSYS_OK;
}

int lsys_spool_append(lsys_spool *s, const void *buf, size_t len, uint64_t *seq) {
  uint8_t hdr[LSYS_SPOOL_HDR];
  int rc;
  if (s == NULL || (buf == NULL && len > 0) || len > LSYS_SPOOL_MAX_RECORD)
    return LSYS_EINVAL;
  uint64_t need = LSYS_SPOOL_HDR + (uint64_t)len;
  if (s->nbytes + need > s->max_bytes || s->next_seq >= LSYS_SPOOL_SEQ_MAX)
    return LSYS_EFULL;
  if (s->wfd >= 0 && s->segs[s->nsegs - 1].size > 0 &&
      s->segs[s->nsegs - 1].size + need > s->seg_bytes && (rc = seal(s)) != LSYS_OK)
    return rc;
  if (s->wfd < 0 && (rc = create_segment(s)) != LSYS_OK)
    return rc;
  seg *w = &s->segs[s->nsegs - 1];
  lsys_spool_format_header(hdr, s->next_seq, buf, (uint32_t)len);
  if (s->wlen + need > WBUF_BYTES && flush(s) != LSYS_OK)
    return fail_write(s);
  if (need > WBUF_BYTES) {
    struct iovec iov[2] = {{hdr, sizeof hdr}, {(void *)buf, len}};
    if (write_all(s->wfd, iov, 2) != LSYS_OK)
      return fail_write(s);
  } else {
    memcpy(s->wbuf + s->wlen, hdr, sizeof hdr);
    if (len > 0)
      memcpy(s->wbuf + s->wlen + sizeof hdr, buf, len);
    s->wlen += (size_t)need;
  }
  w->size += need;
  w->nrec++;
  w->last = s->next_seq;
  if (seq != NULL)
    *seq = s->next_seq;
  s->next_seq++;
  s->unsynced++;
  s->nbytes += need;
  s->nrecords++;
  publish(s);
  return LSYS_OK;
}

int lsys_spool_sync(lsys_spool *s) {
  if (s == NULL)
    return LSYS_EINVAL;
  if (s->wfd >= 0 && s->segs[s->nsegs - 1].size != s->segs[s->nsegs - 1].synced_size &&
      (flush(s) != LSYS_OK || fdatasync(s->wfd) != 0))
    return fail_write(s);
  if (s->dir_dirty && fsync(s->dirfd) != 0)
    return s->wfd >= 0 ? fail_write(s) : LSYS_EIO;
  s->dir_dirty = 0;
  if (s->wfd >= 0)
    mark_synced(s);
  return LSYS_OK;
}

/* reserve_run makes room for one more run, so handing out cannot fail after
 * the reader has moved past a record. */
static int reserve_run(lsys_spool *s) {
  if (s->nruns < s->capruns)
    return LSYS_OK;
  if (s->rhead > 0) {
    memmove(s->runs, s->runs + s->rhead, (s->nruns - s->rhead) * sizeof *s->runs);
    s->nruns -= s->rhead;
    s->rhead = 0;
    return LSYS_OK;
  }
  size_t cap = s->capruns ? s->capruns * 2 : 64;
  run *n = realloc(s->runs, cap * sizeof *n);
  if (n == NULL)
    return LSYS_ENOMEM;
  s->runs = n;
  s->capruns = cap;
  return LSYS_OK;
}

int lsys_spool_next(lsys_spool *s, uint64_t *seq, const void **buf, size_t *len) {
  lsys_spool_rec rec;
  int rc;
  if (s == NULL || seq == NULL || buf == NULL || len == NULL)
    return LSYS_EINVAL;
  if ((rc = reserve_run(s)) != LSYS_OK)
    return rc;
  for (;;) {
    if (s->cur >= s->nsegs)
      return LSYS_SPOOL_EMPTY;
    seg *g = &s->segs[s->cur];
    if (s->rd.fd < 0) {
      rc = lsys_spool_reader_open(&s->rd, s->dirfd, g->name, g->start, g->synced_size, g->first,
                                  g->synced_last, g->reported);
      if (rc == LSYS_EINVAL && !(s->wfd >= 0 && s->cur == s->nsegs - 1)) {
        reportf(s, "spool %s/%s: gone or not a regular file; %llu records lost", s->dir, g->name,
                (unsigned long long)g->nrec);
        s->nrecords -= g->nrec;
        s->nbytes -= g->size;
        remove_seg(s, s->cur);
        publish(s);
        continue;
      }
      if (rc != LSYS_OK)
        return rc == LSYS_EINVAL ? LSYS_EIO : rc;
    } else {
      lsys_spool_reader_set_limit(&s->rd, g->synced_size, g->synced_last);
    }
    rc = lsys_spool_reader_next(&s->rd, &rec);
    g->reported = max64(g->reported, lsys_spool_reader_offset(&s->rd));
    if (rc == LSYS_OK && rec.seq <= s->released) {
      g->start = rec.end; /* released already (we are replaying after a rewind) */
      continue;
    }
    if (rc == LSYS_OK) {
      run *last = s->nruns > s->rhead ? &s->runs[s->nruns - 1] : NULL;
      if (last != NULL && last->last + 1 == rec.seq)
        last->last = rec.seq;
      else
        s->runs[s->nruns++] = (run){rec.seq, rec.seq};
      *seq = rec.seq;
      *buf = rec.payload;
      *len = rec.len;
      return LSYS_OK;
    }
    if (rc != LSYS_SPOOL_EMPTY)
      return rc;
    if (s->wfd >= 0 && s->cur == s->nsegs - 1)
      return LSYS_SPOOL_EMPTY; /* the write segment: more after the next sync */
    lsys_spool_reader_close(&s->rd);
    s->cur++;
  }
}

void lsys_spool_rewind(lsys_spool *s) {
  if (s == NULL)
    return;
  lsys_spool_reader_close(&s->rd);
  s->cur = 0;
  s->rhead = s->nruns = 0;
}

/* drop_segments deletes the first k segments (all released) after storing
 * the release point durably, so a restart can never reuse their seqs. */
static int drop_segments(lsys_spool *s, size_t k) {
  if (lsys_spool_checkpoint_store(s->dirfd, s->released, s->next_seq, 1) != LSYS_OK)
    return LSYS_EIO;
  s->ckpt_released = s->released;
  for (size_t i = 0; i < k; i++) {
    if (s->wfd >= 0 && i == s->nsegs - 1) {
      close(s->wfd);
      s->wfd = -1;
      s->wlen = 0;
    }
    (void)unlinkat(s->dirfd, s->segs[i].name, 0);
    s->nbytes -= s->segs[i].size;
  }
  if (s->cur < k) {
    lsys_spool_reader_close(&s->rd);
    s->cur = 0;
  } else {
    s->cur -= k;
  }
  memmove(s->segs, s->segs + k, (s->nsegs - k) * sizeof *s->segs);
  s->nsegs -= k;
  publish(s);
  return LSYS_OK;
}

/* confirm takes the handed-out records first..last (consecutive seqs, all
 * valid) off the counts of the segments holding them. */
static void confirm(lsys_spool *s, uint64_t first, uint64_t last) {
  for (size_t i = 0; i < s->nsegs && s->segs[i].first <= last; i++) {
    seg *g = &s->segs[i];
    uint64_t lo = max64(first, g->first), hi = g->last < last ? g->last : last;
    if (lo <= hi) {
      g->nrec -= hi - lo + 1;
      s->nrecords -= hi - lo + 1;
    }
  }
}

int lsys_spool_release(lsys_spool *s, uint64_t seq) {
  if (s == NULL)
    return LSYS_EINVAL;
  if (s->rhead < s->nruns && seq > s->released) {
    if (seq > s->runs[s->nruns - 1].last) /* never past what was handed out */
      seq = s->runs[s->nruns - 1].last;
    while (s->rhead < s->nruns && s->runs[s->rhead].first <= seq) {
      run *r = &s->runs[s->rhead];
      confirm(s, r->first, r->last <= seq ? r->last : seq);
      if (r->last <= seq)
        s->rhead++;
      else
        r->first = seq + 1;
    }
    if (s->rhead == s->nruns)
      s->rhead = s->nruns = 0;
    s->released = seq;
    publish(s);
  }
  size_t k = 0; /* also retries a deletion that failed before */
  while (k < s->nsegs && s->segs[k].last <= s->released)
    k++;
  if (k > 0)
    return drop_segments(s, k);
  if (s->released - s->ckpt_released >= LSYS_SPOOL_CKPT_EVERY) {
    if (lsys_spool_checkpoint_store(s->dirfd, s->released, s->next_seq, 0) != LSYS_OK)
      return LSYS_EIO;
    s->ckpt_released = s->released;
  }
  return LSYS_OK;
}

uint64_t lsys_spool_bytes(const lsys_spool *s) {
  return s ? atomic_load_explicit(&s->pub_bytes, memory_order_relaxed) : 0;
}

uint64_t lsys_spool_records(const lsys_spool *s) {
  return s ? atomic_load_explicit(&s->pub_records, memory_order_relaxed) : 0;
}

void lsys_spool_close(lsys_spool *s) {
  if (s == NULL)
    return;
  (void)lsys_spool_sync(s);
  if (s->released != s->ckpt_released)
    (void)lsys_spool_checkpoint_store(s->dirfd, s->released, s->next_seq, 1);
  destroy(s);
}
