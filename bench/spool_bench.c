/* spool_bench.c - figures for the on-disk spool: append with a sync every B
 * records (what the sidecar does while RabbitMQ is down), the scan at open,
 * and replay (next + release, as when RabbitMQ confirms again).
 *
 *   bench_spool [-n records] [-s bytes] [-b batch] [-d dir]
 *
 * Defaults: 100,000 records of 500 bytes, synced every 256, then again with a
 * sync after every record (B=1, at most 10,000 records: one fdatasync each).
 * The spool lives in a fresh directory under /tmp (or -d's parent), removed
 * afterwards. Prints figures; never asserts speed. */
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "errors.h"
#include "spool.h"

#define RELEASE_EVERY 256 /* confirms arrive in ranges: release like that */

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void report(void *arg, const char *line) {
  (void)arg;
  fprintf(stderr, "report: %s\n", line);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

static int open_spool(lsys_spool **s, const char *dir) {
  lsys_spool_opts o = {.dir = dir, .max_bytes = UINT64_C(64) << 30, .report = report};
  char err[256];
  int rc = lsys_spool_open(s, &o, err, sizeof err);
  if (rc != LSYS_OK)
    fprintf(stderr, "bench_spool: %s\n", err);
  return rc;
}

/* run appends n records of size bytes with a sync every batch, reopens the
 * spool and replays it. */
static int run(const char *dir, uint64_t n, size_t size, uint64_t batch) {
  lsys_spool *s = NULL;
  char *buf = malloc(size ? size : 1);
  uint64_t syncs = 0, seq = 0, got = 0;
  double sync_time = 0;
  int rc = LSYS_ENOMEM;
  if (buf == NULL)
    goto done;
  for (size_t i = 0; i < size; i++)
    buf[i] = (char)('a' + i % 26);
  if ((rc = open_spool(&s, dir)) != LSYS_OK)
    goto done;
  double t0 = now();
  for (uint64_t i = 1; i <= n; i++) {
    memcpy(buf, &i, size < sizeof i ? size : sizeof i);
    if ((rc = lsys_spool_append(s, buf, size, &seq)) != LSYS_OK)
      goto done;
    if (i % batch == 0 || i == n) {
      double ts = now();
      if ((rc = lsys_spool_sync(s)) != LSYS_OK)
        goto done;
      sync_time += now() - ts;
      syncs++;
    }
  }
  double t1 = now();
  uint64_t bytes = lsys_spool_bytes(s);
  printf("append+sync  N=%" PRIu64 " S=%zu B=%" PRIu64 ": %.3f s, %.0f records/s, %.1f MB/s payload"
         " (%.1f MB/s on disk), %" PRIu64 " syncs, %.3f ms per sync\n",
         n, size, batch, t1 - t0, (double)n / (t1 - t0), (double)n * (double)size / (t1 - t0) / 1e6,
         (double)bytes / (t1 - t0) / 1e6, syncs, syncs ? sync_time / (double)syncs * 1e3 : 0.0);
  lsys_spool_close(s);
  s = NULL;

  double t2 = now();
  if ((rc = open_spool(&s, dir)) != LSYS_OK)
    goto done;
  double t3 = now();
  printf("open (scan)  %" PRIu64 " records, %.1f MB: %.3f s, %.0f MB/s\n", lsys_spool_records(s),
         (double)bytes / 1e6, t3 - t2, (double)bytes / (t3 - t2) / 1e6);

  const void *p;
  size_t len;
  while ((rc = lsys_spool_next(s, &seq, &p, &len)) == LSYS_OK) {
    if (len != size) {
      fprintf(stderr, "bench_spool: record %" PRIu64 " has %zu bytes\n", seq, len);
      rc = LSYS_EPROTO;
      goto done;
    }
    if (++got % RELEASE_EVERY == 0 && (rc = lsys_spool_release(s, seq)) != LSYS_OK)
      goto done;
  }
  if (rc != LSYS_SPOOL_EMPTY || (rc = lsys_spool_release(s, seq)) != LSYS_OK)
    goto done;
  double t4 = now();
  printf("replay       %" PRIu64 " records (next + release every %d): %.3f s, %.0f records/s, "
         "%.1f MB/s payload; left: %" PRIu64 " records, %" PRIu64 " bytes\n",
         got, RELEASE_EVERY, t4 - t3, (double)got / (t4 - t3),
         (double)got * (double)size / (t4 - t3) / 1e6, lsys_spool_records(s), lsys_spool_bytes(s));
  rc = got == n ? LSYS_OK : LSYS_EPROTO;
done:
  if (rc != LSYS_OK)
    fprintf(stderr, "bench_spool: %s\n", lsys_strerror(rc));
  lsys_spool_close(s);
  free(buf);
  nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
  return rc;
}

int main(int argc, char **argv) {
  uint64_t n = 100000, batch = 0;
  size_t size = 500;
  const char *parent = "/tmp";
  char dir[4096];
  int opt;
  while ((opt = getopt(argc, argv, "n:s:b:d:")) != -1) {
    switch (opt) {
    case 'n':
      n = strtoull(optarg, NULL, 10);
      break;
    case 's':
      size = strtoull(optarg, NULL, 10);
      break;
    case 'b':
      batch = strtoull(optarg, NULL, 10);
      break;
    case 'd':
      parent = optarg;
      break;
    default:
      fprintf(stderr, "usage: %s [-n records] [-s bytes] [-b batch] [-d parent-dir]\n", argv[0]);
      return 2;
    }
  }
  if (n == 0 || size > LSYS_SPOOL_MAX_RECORD) {
    fprintf(stderr, "bench_spool: -n must be > 0 and -s at most %u\n", LSYS_SPOOL_MAX_RECORD);
    return 2;
  }
  snprintf(dir, sizeof dir, "%s/lsys_spool_bench.XXXXXX", parent);
  if (mkdtemp(dir) == NULL) {
    fprintf(stderr, "bench_spool: mkdtemp %s: %s\n", dir, strerror(errno));
    return 1;
  }
  printf("spool in %s\n", dir);
  int rc;
  if (batch != 0) {
    rc = run(dir, n, size, batch);
  } else {
    rc = run(dir, n, size, 256);
    if (rc == LSYS_OK)
      rc = run(dir, n < 10000 ? n : 10000, size, 1);
  }
  rmdir(dir);
  return rc == LSYS_OK ? 0 : 1;
}
