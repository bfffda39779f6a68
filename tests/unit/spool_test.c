/* spool_test.c - the on-disk spool: round trips, rotation, the size bound,
 * restarts, torn tails, corrupt records, stray files, rewinds, failed writes
 * and a real kill -9. Every test works in its own directory under /tmp. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "errors.h"
#include "spool.h"

typedef struct fx {
  char root[64]; /* mkdtemp */
  char dir[128]; /* root/spool: created by the spool */
  int reports;
  char log[16384]; /* every report line, '\n' separated */
} fx;

static void capture(void *arg, const char *line) {
  fx *f = arg;
  size_t n = strlen(f->log);
  f->reports++;
  snprintf(f->log + n, sizeof f->log - n, "%s\n", line);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  if (f == NULL)
    return -1;
  snprintf(f->root, sizeof f->root, "/tmp/lsys_spool_test.XXXXXX");
  if (mkdtemp(f->root) == NULL)
    return -1;
  snprintf(f->dir, sizeof f->dir, "%s/spool", f->root);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  nftw(f->root, rm_one, 8, FTW_DEPTH | FTW_PHYS);
  free(f);
  return 0;
}

/* reset empties the spool directory and the captured reports. */
static void reset(fx *f) {
  nftw(f->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
  f->reports = 0;
  f->log[0] = '\0';
}

static lsys_spool *open_sp(fx *f, uint64_t max_bytes, uint64_t segment_bytes) {
  lsys_spool_opts o = {.dir = f->dir,
                       .max_bytes = max_bytes,
                       .segment_bytes = segment_bytes,
                       .report = capture,
                       .report_arg = f};
  char err[256] = "";
  lsys_spool *s = NULL;
  int rc = lsys_spool_open(&s, &o, err, sizeof err);
  if (rc != LSYS_OK)
    print_message("open: %s\n", err);
  assert_int_equal(rc, LSYS_OK);
  return s;
}

/* payload writes the record body for id: "id=%08u;" then a letter, 12..161 bytes. */
static size_t payload(uint64_t id, char *buf) {
  size_t len = 12 + (size_t)(id * 37 % 150);
  snprintf(buf, 13, "id=%08" PRIu64 ";", id % 100000000);
  memset(buf + 12, 'a' + (int)(id % 26), len - 12);
  return len;
}

/* id_of checks a replayed body and returns its id. */
static uint64_t id_of(const void *buf, size_t len) {
  char want[200];
  unsigned long long id = 0;
  assert_true(len >= 12);
  assert_int_equal(sscanf(buf, "id=%8llu;", &id), 1);
  assert_int_equal(payload(id, want), len);
  assert_memory_equal(buf, want, len);
  return id;
}

/* add appends ids first..last (syncing every sync_every, and at the end)
 * and checks that each got seq == id + shift. */
static void add(lsys_spool *s, uint64_t first, uint64_t last, uint64_t sync_every, int64_t shift) {
  char buf[200];
  for (uint64_t id = first; id <= last; id++) {
    uint64_t seq = 0;
    assert_int_equal(lsys_spool_append(s, buf, payload(id, buf), &seq), LSYS_OK);
    assert_int_equal(seq, (uint64_t)((int64_t)id + shift));
    if (sync_every && (id - first + 1) % sync_every == 0)
      assert_int_equal(lsys_spool_sync(s), LSYS_OK);
  }
  assert_int_equal(lsys_spool_sync(s), LSYS_OK);
}

/* expect_ids hands out the next n records and checks their ids (and seq == id + shift). */
static void expect_ids(lsys_spool *s, uint64_t first, uint64_t last, int64_t shift) {
  for (uint64_t id = first; id <= last; id++) {
    uint64_t seq = 0;
    const void *buf = NULL;
    size_t len = 0;
    assert_int_equal(lsys_spool_next(s, &seq, &buf, &len), LSYS_OK);
    assert_int_equal(id_of(buf, len), id);
    assert_int_equal(seq, (uint64_t)((int64_t)id + shift));
  }
}

static void expect_empty(lsys_spool *s) {
  uint64_t seq;
  const void *buf;
  size_t len;
  assert_int_equal(lsys_spool_next(s, &seq, &buf, &len), LSYS_SPOOL_EMPTY);
}

static int count_segments(const fx *f) {
  int n = 0;
  DIR *d = opendir(f->dir);
  assert_non_null(d);
  for (struct dirent *e; (e = readdir(d)) != NULL;)
    n += strncmp(e->d_name, "spool-", 6) == 0 && strstr(e->d_name, ".seg") != NULL;
  closedir(d);
  return n;
}

/* last_segment writes the path of the newest segment file into path. */
static void last_segment(const fx *f, char *path, size_t len) {
  char best[256] = "";
  DIR *d = opendir(f->dir);
  assert_non_null(d);
  for (struct dirent *e; (e = readdir(d)) != NULL;)
    if (strncmp(e->d_name, "spool-", 6) == 0 && strcmp(e->d_name, best) > 0)
      snprintf(best, sizeof best, "%s", e->d_name);
  closedir(d);
  assert_true(best[0] != '\0');
  snprintf(path, len, "%s/%s", f->dir, best);
}

static off_t file_size(const char *path) {
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  return st.st_size;
}

static void test_round_trip(void **state) {
  fx *f = *state;
  lsys_spool *s = open_sp(f, 1u << 20, 0);
  struct stat st;
  assert_int_equal(stat(f->dir, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0700);
  char buf[200];
  uint64_t seq;
  assert_int_equal(lsys_spool_append(s, buf, payload(1, buf), &seq), LSYS_OK);
  assert_int_equal(seq, 1);
  expect_empty(s); /* not synced yet: not handed out */
  assert_int_equal(lsys_spool_records(s), 1);
  add(s, 2, 10, 0, 0);
  assert_int_equal(lsys_spool_records(s), 10);
  assert_true(lsys_spool_bytes(s) > 10 * LSYS_SPOOL_HDR);
  expect_ids(s, 1, 10, 0);
  expect_empty(s);
  assert_int_equal(lsys_spool_release(s, 4), LSYS_OK);
  assert_int_equal(lsys_spool_records(s), 6);
  assert_int_equal(count_segments(f), 1);
  assert_int_equal(lsys_spool_release(s, 1000), LSYS_OK); /* only what was handed out */
  assert_int_equal(lsys_spool_records(s), 0);
  assert_int_equal(lsys_spool_bytes(s), 0);
  assert_int_equal(count_segments(f), 0);
  add(s, 11, 12, 0, 0); /* a new write segment after the old one was deleted */
  assert_int_equal(lsys_spool_release(s, 12), LSYS_OK); /* not handed out: nothing */
  assert_int_equal(lsys_spool_records(s), 2);
  expect_ids(s, 11, 12, 0);
  assert_int_equal(lsys_spool_release(s, 11), LSYS_OK);
  assert_int_equal(lsys_spool_records(s), 1);
  lsys_spool_close(s);
  assert_int_equal(f->reports, 0);
}

static void test_invalid_arguments(void **state) {
  fx *f = *state;
  lsys_spool *s = (lsys_spool *)&s;
  lsys_spool_opts o = {.dir = f->dir, .max_bytes = 0};
  char err[128] = "";
  assert_int_equal(lsys_spool_open(&s, &o, err, sizeof err), LSYS_EINVAL);
  assert_true(err[0] != '\0');
  o.dir = "";
  o.max_bytes = 1;
  assert_int_equal(lsys_spool_open(&s, &o, NULL, 0), LSYS_EINVAL);
  assert_ptr_equal(s, (lsys_spool *)&s); /* untouched on failure */
  o.dir = "/proc/version/spool";
  assert_int_equal(lsys_spool_open(&s, &o, err, sizeof err), LSYS_EIO);
  assert_non_null(strstr(err, "/proc/version/spool"));

  s = open_sp(f, 64u << 20, 0);
  assert_int_equal(lsys_spool_append(s, NULL, 1, NULL), LSYS_EINVAL);
  assert_int_equal(lsys_spool_append(s, "x", (size_t)LSYS_SPOOL_MAX_RECORD + 1, NULL), LSYS_EINVAL);
  assert_int_equal(lsys_spool_append(s, NULL, 0, NULL), LSYS_OK); /* an empty record is a record */
  assert_int_equal(lsys_spool_sync(s), LSYS_OK);
  uint64_t seq;
  const void *buf;
  size_t len = 99;
  assert_int_equal(lsys_spool_next(s, &seq, &buf, &len), LSYS_OK);
  assert_int_equal(len, 0);
  assert_int_equal(lsys_spool_next(NULL, &seq, &buf, &len), LSYS_EINVAL);

  /* a second owner of the same directory is refused */
  lsys_spool *other = NULL;
  o.dir = f->dir;
  o.max_bytes = 1u << 20;
  assert_int_equal(lsys_spool_open(&other, &o, err, sizeof err), LSYS_EIO);
  assert_non_null(strstr(err, "in use"));
  assert_null(other);
  lsys_spool_close(s);
  lsys_spool_close(NULL);
}

static void test_order_across_rotation(void **state) {
  fx *f = *state;
  lsys_spool *s = open_sp(f, 64u << 20, 4096);
  add(s, 1, 2000, 50, 0);
  int segs = count_segments(f);
  assert_true(segs > 20);
  uint64_t bytes = lsys_spool_bytes(s);
  for (uint64_t id = 1; id <= 2000; id += 100) {
    expect_ids(s, id, id + 99, 0);
    assert_int_equal(lsys_spool_release(s, id + 99), LSYS_OK);
    assert_int_equal(lsys_spool_records(s), 2000 - (id + 99));
    assert_true(count_segments(f) <= segs);
    assert_true(lsys_spool_bytes(s) <= bytes);
  }
  expect_empty(s);
  assert_int_equal(count_segments(f), 0);
  assert_int_equal(lsys_spool_bytes(s), 0);
  lsys_spool_close(s);
  s = open_sp(f, 64u << 20, 4096); /* everything released: nothing comes back */
  assert_int_equal(lsys_spool_records(s), 0);
  expect_empty(s);
  add(s, 2001, 2001, 0, 0); /* seqs keep increasing */
  lsys_spool_close(s);
}

static void test_full_then_room_after_release(void **state) {
  fx *f = *state;
  lsys_spool *s = open_sp(f, 16384, 2048);
  char buf[200];
  uint64_t id = 1, seq;
  int rc;
  while ((rc = lsys_spool_append(s, buf, payload(id, buf), &seq)) == LSYS_OK)
    id++;
  assert_int_equal(rc, LSYS_EFULL);
  uint64_t stored = id - 1;
  assert_true(stored > 50);
  assert_true(lsys_spool_bytes(s) <= 16384);
  assert_int_equal(lsys_spool_records(s), stored);
  assert_int_equal(lsys_spool_sync(s), LSYS_OK);
  assert_int_equal(lsys_spool_append(s, buf, payload(id, buf), &seq), LSYS_EFULL);
  expect_ids(s, 1, stored / 2, 0);
  assert_int_equal(lsys_spool_release(s, stored / 2), LSYS_OK);
  assert_true(lsys_spool_bytes(s) < 16384 - 4096);
  assert_int_equal(lsys_spool_append(s, buf, payload(id, buf), &seq), LSYS_OK);
  assert_int_equal(seq, id);
  assert_int_equal(lsys_spool_sync(s), LSYS_OK);
  expect_ids(s, stored / 2 + 1, id, 0);
  expect_empty(s);
  lsys_spool_close(s);
}

static void test_reopen_replays_only_unreleased(void **state) {
  fx *f = *state;
  lsys_spool *s = open_sp(f, 1u << 20, 0);
  add(s, 1, 100, 7, 0);
  expect_ids(s, 1, 40, 0);
  assert_int_equal(lsys_spool_release(s, 40), LSYS_OK);
  lsys_spool_close(s);
  s = open_sp(f, 1u << 20, 0);
  assert_int_equal(lsys_spool_records(s), 60);
  expect_ids(s, 41, 60, 0);
  add(s, 101, 110, 0, 0); /* this run's appends come after the old ones */
  expect_ids(s, 61, 110, 0);
  expect_empty(s);
  lsys_spool_close(s); /* nothing released in this run */
  s = open_sp(f, 1u << 20, 0);
  assert_int_equal(lsys_spool_records(s), 70);
  expect_ids(s, 41, 110, 0);
  assert_int_equal(lsys_spool_release(s, 110), LSYS_OK);
  assert_int_equal(count_segments(f), 0);
  lsys_spool_close(s);
  s = open_sp(f, 1u << 20, 0);
  add(s, 111, 111, 0, 0);
  lsys_spool_close(s);
  assert_int_equal(f->reports, 0);
}

static void test_checkpoint_damaged_replays_all(void **state) {
  fx *f = *state;
  char path[256];
  lsys_spool *s = open_sp(f, 1u << 20, 0);
  add(s, 1, 10, 0, 0);
  expect_ids(s, 1, 3, 0);
  assert_int_equal(lsys_spool_release(s, 3), LSYS_OK);
  lsys_spool_close(s);
  snprintf(path, sizeof path, "%s/spool.ckpt", f->dir);
  FILE *fp = fopen(path, "r+b");
  assert_non_null(fp);
  fputs("garbage", fp);
  fclose(fp);
  s = open_sp(f, 1u << 20, 0);
  assert_int_equal(f->reports, 1);
  assert_non_null(strstr(f->log, "spool.ckpt is damaged"));
  assert_int_equal(lsys_spool_records(s), 10); /* duplicates, never losses */
  expect_ids(s, 1, 10, 0);
  lsys_spool_close(s);
}

static void test_torn_tail_every_offset(void **state) {
  fx *f = *state;
  char path[256], want[128], b[200];
  off_t last = LSYS_SPOOL_HDR + (off_t)payload(4, b); /* the record that gets torn */
  for (off_t keep = 0; keep < last; keep++) {         /* every byte offset within it */
    reset(f);
    lsys_spool *s = open_sp(f, 1u << 20, 0);
    add(s, 1, 4, 0, 0);
    lsys_spool_close(s);
    last_segment(f, path, sizeof path);
    off_t whole = file_size(path);
    assert_int_equal(truncate(path, whole - last + keep), 0);

    s = open_sp(f, 1u << 20, 0);
    if (keep == 0) { /* cut exactly between records: nothing to report */
      assert_int_equal(f->reports, 0);
    } else {
      assert_int_equal(f->reports, 1);
      snprintf(want, sizeof want, "skipped %lld bytes of torn or damaged tail at offset %lld",
               (long long)keep, (long long)(whole - last));
      assert_non_null(strstr(f->log, want));
      assert_non_null(strstr(f->log, "spool-00000000000000000001.seg"));
    }
    assert_int_equal(lsys_spool_records(s), 3);
    /* numbering goes on past any seq the torn bytes could have held */
    int64_t shift = (keep ? 1 + (whole - last + keep) / LSYS_SPOOL_HDR : 4) - 5;
    add(s, 5, 8, 0, shift);
    expect_ids(s, 1, 3, 0);
    expect_ids(s, 5, 8, shift);
    expect_empty(s);
    lsys_spool_close(s);
    s = open_sp(f, 1u << 20, 0);
    expect_ids(s, 1, 3, 0);
    expect_ids(s, 5, 8, shift);
    assert_int_equal(lsys_spool_release(s, (uint64_t)(8 + shift)), LSYS_OK);
    assert_int_equal(count_segments(f), 0);
    lsys_spool_close(s);
  }
}

static void test_flipped_byte_in_middle_record(void **state) {
  fx *f = *state;
  char path[256], want[128];
  char b[200];
  size_t l1 = LSYS_SPOOL_HDR + payload(1, b), l2 = LSYS_SPOOL_HDR + payload(2, b);
  for (size_t at = l1; at < l1 + l2; at++) {
    reset(f);
    lsys_spool *s = open_sp(f, 1u << 20, 0);
    add(s, 1, 3, 0, 0);
    lsys_spool_close(s);
    last_segment(f, path, sizeof path);
    int fd = open(path, O_RDWR);
    unsigned char c;
    assert_int_equal(pread(fd, &c, 1, (off_t)at), 1);
    c ^= 0xff;
    assert_int_equal(pwrite(fd, &c, 1, (off_t)at), 1);
    close(fd);

    s = open_sp(f, 1u << 20, 0);
    assert_int_equal(f->reports, 1);
    snprintf(want, sizeof want,
             "skipped %zu damaged bytes at offset %zu; resynchronised at offset %zu", l2, l1,
             l1 + l2);
    assert_non_null(strstr(f->log, want));
    assert_int_equal(lsys_spool_records(s), 2);
    expect_ids(s, 1, 1, 0);
    expect_ids(s, 3, 3, 0);
    expect_empty(s);
    assert_int_equal(f->reports, 1); /* replay does not report it again */
    lsys_spool_rewind(s);
    expect_ids(s, 1, 1, 0);
    expect_ids(s, 3, 3, 0);
    assert_int_equal(f->reports, 1);
    assert_int_equal(lsys_spool_release(s, 3), LSYS_OK);
    assert_int_equal(count_segments(f), 0);
    lsys_spool_close(s);
  }
}

static void test_stray_files_ignored(void **state) {
  fx *f = *state;
  char path[256];
  static const char *junk[] = {"notes.txt",
                               "spool-123.seg",
                               "spool-00000000000000000001.segx",
                               "spool-00000000000000000000.seg",
                               "spool-99999999999999999999.seg",
                               "spool.ckpt.tmpx"};
  assert_int_equal(mkdir(f->dir, 0700), 0);
  for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", f->dir, junk[i]);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("not a segment\n", fp);
    fclose(fp);
  }
  snprintf(path, sizeof path, "%s/lost+found", f->dir);
  assert_int_equal(mkdir(path, 0700), 0);
  snprintf(path, sizeof path, "%s/spool-00000000000000000009.seg", f->dir); /* a directory */
  assert_int_equal(mkdir(path, 0700), 0);

  lsys_spool *s = open_sp(f, 1u << 20, 0);
  assert_int_equal(f->reports, 1);
  assert_non_null(strstr(f->log, "spool-00000000000000000009.seg: gone or not a regular file"));
  assert_int_equal(lsys_spool_records(s), 0);
  add(s, 1, 5, 0, 9); /* numbering starts after the name in the way */
  expect_ids(s, 1, 5, 9);
  assert_int_equal(lsys_spool_release(s, 14), LSYS_OK);
  lsys_spool_close(s);
  for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", f->dir, junk[i]);
    assert_int_equal(access(path, F_OK), 0);
  }
}

static void test_bogus_length_and_garbage_segment(void **state) {
  fx *f = *state;
  char path[256];
  lsys_spool *s = open_sp(f, 1u << 20, 0);
  add(s, 1, 2, 0, 0);
  lsys_spool_close(s);
  last_segment(f, path, sizeof path);
  /* a header claiming 16 MiB - 1 bytes after the good records */
  unsigned char hdr[LSYS_SPOOL_HDR] = {0xF5, 'L', 'S', 0x01, 1, 2, 3, 4, 0xff, 0xff, 0xff, 0x00, 3};
  FILE *fp = fopen(path, "ab");
  assert_non_null(fp);
  fwrite(hdr, 1, sizeof hdr, fp);
  fputs("short", fp);
  fclose(fp);
  snprintf(path, sizeof path, "%s/spool-00000000000000000050.seg", f->dir); /* nothing valid */
  fp = fopen(path, "wb");
  assert_non_null(fp);
  for (int i = 0; i < 100; i++)
    fwrite(hdr, 1, sizeof hdr, fp);
  fclose(fp);

  s = open_sp(f, 1u << 20, 0);
  assert_int_equal(f->reports, 3); /* the tail of 1, the damage in 50, and its removal */
  assert_non_null(strstr(
      f->log,
      "spool-00000000000000000001.seg: skipped 25 bytes of torn or damaged tail at offset 175"));
  assert_non_null(strstr(f->log, "spool-00000000000000000050.seg: skipped 2000 bytes"));
  assert_non_null(
      strstr(f->log, "spool-00000000000000000050.seg: no valid record in 2000 bytes; removed"));
  assert_int_equal(access(path, F_OK), -1);
  assert_int_equal(lsys_spool_records(s), 2);
  expect_ids(s, 1, 2, 0);
  add(s, 3, 3, 0, 147); /* past all the removed 2000 bytes at seq 50 could have held */
  expect_ids(s, 3, 3, 147);
  lsys_spool_close(s);
}

static void test_rewind_after_connection_loss(void **state) {
  fx *f = *state;
  lsys_spool *s = open_sp(f, 1u << 20, 1024);
  add(s, 1, 60, 9, 0);
  expect_ids(s, 1, 30, 0);
  assert_int_equal(lsys_spool_release(s, 12), LSYS_OK);
  lsys_spool_rewind(s); /* 13..30 were published but never confirmed */
  expect_ids(s, 13, 40, 0);
  assert_int_equal(lsys_spool_release(s, 35), LSYS_OK);
  assert_int_equal(lsys_spool_records(s), 25);
  lsys_spool_rewind(s);
  lsys_spool_rewind(s);
  expect_ids(s, 36, 60, 0);
  expect_empty(s);
  lsys_spool_rewind(s);
  add(s, 61, 62, 0, 0);
  expect_ids(s, 36, 62, 0);
  assert_int_equal(lsys_spool_release(s, 62), LSYS_OK);
  assert_int_equal(lsys_spool_records(s), 0);
  assert_int_equal(count_segments(f), 0);
  lsys_spool_close(s);
}

static int is_segment(const struct dirent *e);

/* damage_file applies one random kind of damage to the file at path. */
static void damage_file(const char *path, unsigned *seed) {
  int fd = open(path, O_RDWR);
  assert_true(fd >= 0);
  off_t size = lseek(fd, 0, SEEK_END);
  unsigned char junk[512];
  for (size_t i = 0; i < sizeof junk; i++)
    junk[i] = (unsigned char)rand_r(seed);
  if (size > 0) {
    off_t at = (off_t)((unsigned)rand_r(seed) % (unsigned)size);
    switch (rand_r(seed) % 4) {
    case 0: /* flip a few bytes */
      for (int i = 0; i < 1 + rand_r(seed) % 4; i++) {
        off_t b = (off_t)((unsigned)rand_r(seed) % (unsigned)size);
        unsigned char c;
        assert_int_equal(pread(fd, &c, 1, b), 1);
        c ^= (unsigned char)(1 + rand_r(seed) % 255);
        assert_int_equal(pwrite(fd, &c, 1, b), 1);
      }
      break;
    case 1: /* overwrite a stretch with noise */
      assert_true(pwrite(fd, junk, 1 + (size_t)rand_r(seed) % sizeof junk, at) > 0);
      break;
    case 2: /* copy a stretch of the file elsewhere in it (whole valid records, out of place) */
      if (pread(fd, junk, sizeof junk, (off_t)((unsigned)rand_r(seed) % (unsigned)size)) > 0)
        assert_true(pwrite(fd, junk, 1 + (size_t)rand_r(seed) % sizeof junk, at) > 0);
      break;
    default:
      assert_int_equal(ftruncate(fd, at), 0);
    }
  }
  close(fd);
}

static void test_random_damage_never_breaks_replay(void **state) {
  fx *f = *state;
  unsigned seed = 12345;
  for (int round = 0; round < 150; round++) {
    struct dirent **names;
    char path[512];
    reset(f);
    lsys_spool *s = open_sp(f, 1u << 20, 1500);
    add(s, 1, 60, 0, 0);
    lsys_spool_close(s);
    int n = scandir(f->dir, &names, is_segment, alphasort);
    assert_true(n >= 3);
    for (int k = 0; k < 1 + rand_r(&seed) % 3; k++) {
      snprintf(path, sizeof path, "%s/%s", f->dir, names[rand_r(&seed) % n]->d_name);
      damage_file(path, &seed);
    }
    for (int i = 0; i < n; i++)
      free(names[i]);
    free(names);

    s = open_sp(f, 1u << 20, 1500);
    uint64_t left = lsys_spool_records(s), got = 0, last_id = 0, last_seq = 0, seq;
    const void *buf;
    size_t len;
    while (lsys_spool_next(s, &seq, &buf, &len) == LSYS_OK) {
      uint64_t id = id_of(buf, len); /* intact, or not handed out at all */
      assert_true(id > last_id && id <= 60);
      assert_int_equal(seq, id);
      last_id = id, last_seq = seq, got++;
    }
    assert_int_equal(got, left);
    char b[200];
    assert_int_equal(lsys_spool_append(s, b, payload(61, b), &seq), LSYS_OK);
    assert_true(seq > last_seq);
    assert_int_equal(lsys_spool_sync(s), LSYS_OK);
    expect_ids(s, 61, 61, (int64_t)seq - 61);
    expect_empty(s);
    assert_int_equal(lsys_spool_release(s, seq), LSYS_OK);
    assert_int_equal(lsys_spool_records(s), 0);
    assert_int_equal(lsys_spool_bytes(s), 0);
    lsys_spool_close(s);
  }
}

static int is_segment(const struct dirent *e) { return strncmp(e->d_name, "spool-", 6) == 0; }

static void test_segment_removed_under_the_spool(void **state) {
  fx *f = *state;
  struct dirent **names;
  char path[512];
  lsys_spool *s = open_sp(f, 1u << 20, 2048);
  add(s, 1, 100, 10, 0);
  int n = scandir(f->dir, &names, is_segment, alphasort);
  assert_true(n >= 4);
  uint64_t first2 = strtoull(names[1]->d_name + 6, NULL, 10);
  uint64_t first3 = strtoull(names[2]->d_name + 6, NULL, 10);
  snprintf(path, sizeof path, "%s/%s", f->dir, names[1]->d_name); /* an operator's rm */
  assert_int_equal(unlink(path), 0);
  for (int i = 0; i < n; i++)
    free(names[i]);
  free(names);
  expect_ids(s, 1, first2 - 1, 0);
  expect_ids(s, first3, 100, 0);
  expect_empty(s);
  assert_int_equal(f->reports, 1);
  assert_non_null(strstr(f->log, "gone or not a regular file"));
  assert_int_equal(lsys_spool_records(s), 100 - (first3 - first2));
  assert_int_equal(lsys_spool_release(s, 100), LSYS_OK);
  assert_int_equal(lsys_spool_records(s), 0);
  assert_int_equal(lsys_spool_bytes(s), 0);
  lsys_spool_close(s);
}

static void test_big_records(void **state) {
  fx *f = *state;
  size_t sizes[] = {1u << 20, LSYS_SPOOL_MAX_RECORD, 3, (512u << 10) - LSYS_SPOOL_HDR};
  size_t n = sizeof sizes / sizeof sizes[0];
  unsigned char *big = malloc(LSYS_SPOOL_MAX_RECORD);
  assert_non_null(big);
  lsys_spool *s = open_sp(f, 64u << 20, 0);
  for (size_t i = 0; i < n; i++) {
    memset(big, 'A' + (int)i, sizes[i]);
    assert_int_equal(lsys_spool_append(s, big, sizes[i], NULL), LSYS_OK);
  }
  assert_int_equal(lsys_spool_sync(s), LSYS_OK);
  for (int round = 0; round < 2; round++) {
    for (size_t i = 0; i < n; i++) {
      uint64_t seq;
      const void *buf;
      size_t len;
      assert_int_equal(lsys_spool_next(s, &seq, &buf, &len), LSYS_OK);
      assert_int_equal(seq, i + 1);
      assert_int_equal(len, sizes[i]);
      memset(big, 'A' + (int)i, sizes[i]);
      assert_memory_equal(buf, big, len);
    }
    lsys_spool_close(s);
    s = open_sp(f, 64u << 20, 0); /* and once more from disk */
  }
  assert_int_equal(f->reports, 0);
  lsys_spool_close(s);
  free(big);
}

static void test_failed_write_rolls_back(void **state) {
  fx *f = *state;
  struct rlimit old, lim;
  char buf[200];
  uint64_t id = 1, synced = 0, seq;
  int rc = LSYS_OK;
  lsys_spool *s = open_sp(f, 16u << 20, 1u << 20);
  assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
  lim = old;
  lim.rlim_cur = 20000; /* files cannot grow past this: writes fail with EFBIG */
  signal(SIGXFSZ, SIG_IGN);
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
  while (rc == LSYS_OK) {
    rc = lsys_spool_append(s, buf, payload(id, buf), &seq);
    if (rc == LSYS_OK && id++ % 10 == 0 && (rc = lsys_spool_sync(s)) == LSYS_OK)
      synced = id - 1;
  }
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
  signal(SIGXFSZ, SIG_DFL);
  assert_int_equal(rc, LSYS_EIO);
  assert_true(synced >= 10);
  assert_int_equal(lsys_spool_records(s), synced);
  /* the spool goes on with a new segment; numbering skips the lost records */
  assert_int_equal(lsys_spool_append(s, buf, payload(1000, buf), &seq), LSYS_OK);
  assert_true(seq > synced);
  assert_int_equal(lsys_spool_sync(s), LSYS_OK);
  expect_ids(s, 1, synced, 0);
  expect_ids(s, 1000, 1000, (int64_t)seq - 1000);
  expect_empty(s);
  lsys_spool_close(s);
  s = open_sp(f, 16u << 20, 1u << 20);
  expect_ids(s, 1, synced, 0);
  expect_ids(s, 1000, 1000, (int64_t)seq - 1000);
  expect_empty(s);
  assert_int_equal(f->reports, 0);
  lsys_spool_close(s);
}

static void test_survives_kill_9(void **state) {
  fx *f = *state;
  int p[2];
  assert_int_equal(pipe(p), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) { /* the sidecar: append, sync every 7, say which id is durable */
    close(p[0]);
    lsys_spool_opts o = {.dir = f->dir, .max_bytes = 64u << 20, .segment_bytes = 8192};
    lsys_spool *s = NULL;
    char buf[200];
    if (lsys_spool_open(&s, &o, NULL, 0) != LSYS_OK)
      _exit(1);
    for (uint64_t id = 1;; id++) {
      if (lsys_spool_append(s, buf, payload(id, buf), NULL) != LSYS_OK)
        _exit(2);
      if (id % 7 == 0 && (lsys_spool_sync(s) != LSYS_OK || write(p[1], &id, sizeof id) < 0))
        _exit(3);
    }
  }
  close(p[1]);
  uint64_t durable = 0, id;
  while (durable < 3000 && read(p[0], &id, sizeof id) == (ssize_t)sizeof id)
    durable = id;
  kill(pid, SIGKILL);
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFSIGNALED(status));
  while (read(p[0], &id, sizeof id) == (ssize_t)sizeof id) /* synced before the kill landed */
    durable = id;
  close(p[0]);
  assert_true(durable >= 3000);

  lsys_spool *s = open_sp(f, 64u << 20, 8192);
  uint64_t n = lsys_spool_records(s);
  assert_true(n >= durable);
  expect_ids(s, 1, n, 0); /* every durable record, in order, and maybe a few more */
  expect_empty(s);
  assert_true(f->reports <= 1); /* at most a torn tail */
  add(s, n + 1, n + 20, 0, 0);
  expect_ids(s, n + 1, n + 20, 0);
  lsys_spool_close(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
      cmocka_unit_test_setup_teardown(test_invalid_arguments, setup, teardown),
      cmocka_unit_test_setup_teardown(test_order_across_rotation, setup, teardown),
      cmocka_unit_test_setup_teardown(test_full_then_room_after_release, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reopen_replays_only_unreleased, setup, teardown),
      cmocka_unit_test_setup_teardown(test_checkpoint_damaged_replays_all, setup, teardown),
      cmocka_unit_test_setup_teardown(test_torn_tail_every_offset, setup, teardown),
      cmocka_unit_test_setup_teardown(test_flipped_byte_in_middle_record, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stray_files_ignored, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bogus_length_and_garbage_segment, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rewind_after_connection_loss, setup, teardown),
      cmocka_unit_test_setup_teardown(test_random_damage_never_breaks_replay, setup, teardown),
      cmocka_unit_test_setup_teardown(test_segment_removed_under_the_spool, setup, teardown),
      cmocka_unit_test_setup_teardown(test_big_records, setup, teardown),
      cmocka_unit_test_setup_teardown(test_failed_write_rolls_back, setup, teardown),
      cmocka_unit_test_setup_teardown(test_survives_kill_9, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
