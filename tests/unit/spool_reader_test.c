/* spool_reader_test.c - checked reads of one segment: resync, bounds, limits,
 * and no allocation driven by a bogus length. */
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "errors.h"
#include "spool_format.h"
#include "spool_reader.h"

#define SEG "spool-00000000000000000001.seg"

typedef struct fixture {
  char dir[64];
  int dirfd;
  int reports;
  char last[512];
  uint8_t file[1u << 20];
  size_t len;
} fixture;

static void capture(void *arg, const char *line) {
  fixture *f = arg;
  f->reports++;
  snprintf(f->last, sizeof f->last, "%s", line);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  if (f == NULL)
    return -1;
  snprintf(f->dir, sizeof f->dir, "/tmp/lsys_spool_reader_test.XXXXXX");
  if (mkdtemp(f->dir) == NULL)
    return -1;
  f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY);
  *state = f;
  return f->dirfd < 0 ? -1 : 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  close(f->dirfd);
  nftw(f->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
  free(f);
  return 0;
}

/* add appends a record (payload of len bytes 'a'+seq%26) to the image. */
static size_t add(fixture *f, uint64_t seq, uint32_t len) {
  size_t off = f->len;
  memset(f->file + off + LSYS_SPOOL_HDR, 'a' + (int)(seq % 26), len);
  lsys_spool_format_header(f->file + off, seq, f->file + off + LSYS_SPOOL_HDR, len);
  f->len += LSYS_SPOOL_HDR + len;
  return off;
}

static void put(fixture *f, const void *p, size_t n) {
  memcpy(f->file + f->len, p, n);
  f->len += n;
}

static void save(fixture *f) {
  int fd = openat(f->dirfd, SEG, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, f->file, f->len), (ssize_t)f->len);
  close(fd);
}

static void open_reader(fixture *f, lsys_spool_reader *r, uint64_t lo, uint64_t hi) {
  lsys_spool_reader_init(r, f->dir, capture, f);
  assert_int_equal(lsys_spool_reader_open(r, f->dirfd, SEG, 0, UINT64_MAX, lo, hi, 0), LSYS_OK);
}

static void expect(lsys_spool_reader *r, uint64_t seq, size_t len) {
  lsys_spool_rec rec;
  assert_int_equal(lsys_spool_reader_next(r, &rec), LSYS_OK);
  assert_int_equal(rec.seq, seq);
  assert_int_equal(rec.len, len);
  for (size_t i = 0; i < len; i++)
    assert_int_equal(rec.payload[i], 'a' + (int)(seq % 26));
}

static void test_bogus_lengths_allocate_nothing(void **state) {
  fixture *f = *state;
  lsys_spool_reader r;
  lsys_spool_rec rec;
  uint8_t hdr[LSYS_SPOOL_HDR];
  add(f, 1, 10);
  /* a header claiming just under 16 MiB in a file of a few hundred bytes */
  memcpy(hdr, LSYS_SPOOL_MAGIC, 4);
  memset(hdr + 4, 0, 16);
  hdr[8] = 0xff, hdr[9] = 0xff, hdr[10] = 0xff; /* len 0x00ffffff */
  hdr[12] = 2;                                  /* seq 2 */
  put(f, hdr, sizeof hdr);
  memset(hdr + 8, 0xff, 4); /* len 0xffffffff: over the maximum */
  put(f, hdr, sizeof hdr);
  char junk[200];
  memset(junk, 'x', sizeof junk);
  put(f, junk, sizeof junk);
  save(f);
  open_reader(f, &r, 1, UINT64_MAX - 1);
  size_t cap = r.cap;
  expect(&r, 1, 10);
  assert_int_equal(lsys_spool_reader_next(&r, &rec), LSYS_SPOOL_EMPTY);
  assert_int_equal(r.cap, cap); /* never grown */
  assert_int_equal(f->reports, 1);
  assert_non_null(strstr(f->last, SEG));
  assert_non_null(strstr(f->last, "skipped 240 bytes of torn or damaged tail at offset 30"));
  assert_int_equal(r.skipped, 240);
  lsys_spool_reader_destroy(&r);
}

static void test_resync_over_long_damage_and_buffer_edges(void **state) {
  fixture *f = *state;
  lsys_spool_reader r;
  lsys_spool_rec rec;
  add(f, 1, 100);
  size_t bad = f->len;
  /* zeros up to 2 bytes before the first 256 KiB buffer ends: the next magic straddles it */
  memset(f->file + f->len, 0, (256u << 10) - 2 - f->len);
  f->len = (256u << 10) - 2;
  add(f, 2, 1000);
  char junk[333];
  memset(junk, 'L', sizeof junk);
  memcpy(junk + 100, LSYS_SPOOL_MAGIC, 4); /* a stray magic inside the damage */
  put(f, junk, sizeof junk);
  add(f, 5, 0);
  add(f, 6, 70000);
  save(f);
  open_reader(f, &r, 1, 100);
  expect(&r, 1, 100);
  expect(&r, 2, 1000);
  assert_int_equal(f->reports, 1);
  char want[160];
  snprintf(want, sizeof want, "skipped %zu damaged bytes at offset %zu",
           (size_t)(256u << 10) - 2 - bad, bad);
  assert_non_null(strstr(f->last, want));
  expect(&r, 5, 0);
  assert_int_equal(f->reports, 2);
  assert_non_null(strstr(f->last, "skipped 333 damaged bytes"));
  assert_non_null(strstr(f->last, "(record seq 5)"));
  expect(&r, 6, 70000);
  assert_int_equal(lsys_spool_reader_next(&r, &rec), LSYS_SPOOL_EMPTY);
  assert_int_equal(f->reports, 2);
  lsys_spool_reader_destroy(&r);
}

static void test_seq_bounds_and_limits(void **state) {
  fixture *f = *state;
  lsys_spool_reader r;
  lsys_spool_rec rec;
  add(f, 3, 5);
  size_t second = add(f, 4, 5);
  add(f, 4, 5); /* a repeated seq is damage */
  add(f, 9, 5); /* beyond hi */
  save(f);
  lsys_spool_reader_init(&r, f->dir, capture, f);
  assert_int_equal(lsys_spool_reader_open(&r, f->dirfd, SEG, 0, second, 3, 8, 0), LSYS_OK);
  expect(&r, 3, 5);
  assert_int_equal(lsys_spool_reader_next(&r, &rec), LSYS_SPOOL_EMPTY); /* limit */
  assert_int_equal(f->reports, 0);
  lsys_spool_reader_set_limit(&r, UINT64_MAX, 8);
  expect(&r, 4, 5);
  assert_int_equal(lsys_spool_reader_next(&r, &rec), LSYS_SPOOL_EMPTY);
  assert_int_equal(f->reports, 1); /* the two out-of-range records, one tail */
  assert_non_null(strstr(f->last, "skipped 50 bytes of torn or damaged tail at offset 50"));
  /* damage before quiet_below is skipped silently */
  assert_int_equal(lsys_spool_reader_open(&r, f->dirfd, SEG, 0, UINT64_MAX, 3, 8, 100), LSYS_OK);
  expect(&r, 3, 5);
  expect(&r, 4, 5);
  assert_int_equal(lsys_spool_reader_next(&r, &rec), LSYS_SPOOL_EMPTY);
  assert_int_equal(f->reports, 1);
  assert_int_equal(r.skipped, 50);
  lsys_spool_reader_destroy(&r);
}

static void test_not_a_regular_file(void **state) {
  fixture *f = *state;
  lsys_spool_reader r;
  assert_int_equal(mkdirat(f->dirfd, SEG, 0700), 0);
  lsys_spool_reader_init(&r, f->dir, capture, f);
  assert_int_equal(lsys_spool_reader_open(&r, f->dirfd, SEG, 0, UINT64_MAX, 1, 2, 0), LSYS_EINVAL);
  assert_int_equal(symlinkat("/etc/passwd", f->dirfd, "spool-00000000000000000002.seg"), 0);
  assert_int_equal(lsys_spool_reader_open(&r, f->dirfd, "spool-00000000000000000002.seg", 0,
                                          UINT64_MAX, 1, 2, 0),
                   LSYS_EINVAL);
  assert_int_equal(r.fd, -1);
  lsys_spool_reader_destroy(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_bogus_lengths_allocate_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_resync_over_long_damage_and_buffer_edges, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_seq_bounds_and_limits, setup, teardown),
      cmocka_unit_test_setup_teardown(test_not_a_regular_file, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
