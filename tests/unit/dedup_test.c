/* dedup_test.c - unit tests for workers/dedup.c: keys, the time window,
 * bounded memory and the journal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "dedup.h"
#include "errors.h"

#define LB "{\"domain\":\"d\",\"message\":\"m\",\"log_id\":\"body-id\"}"
#define TG_DEV "{\"type\":\"developer\",\"notify_msg\":\"x\",\"log_id\":\"abc\"}"
#define TG_CUS "{\"type\":\"customer\",\"notify_msg\":\"x\",\"log_id\":\"abc\"}"

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static lsys_dedup *make(const char *dir, int window_s, size_t max_entries) {
  lsys_dedup *d = NULL;
  char err[512] = "";
  lsys_dedup_opts o = {.dir = dir, .name = "t.example_logbeacon", .window_s = window_s,
                       .max_entries = max_entries};
  int rc = lsys_dedup_create(&d, &o, err, sizeof err);
  if (rc != LSYS_OK)
    fail_msg("lsys_dedup_create: %s", err);
  return d;
}

/* tmpdir makes a fresh directory for a journal test. */
static void tmpdir(char *buf, size_t len) {
  snprintf(buf, len, "/tmp/lsys-dedup-test-XXXXXX");
  assert_non_null(mkdtemp(buf));
}

/* count_lines returns the number of lines of path. */
static size_t count_lines(const char *path) {
  FILE *fp = fopen(path, "r");
  size_t n = 0;
  int c;
  assert_non_null(fp);
  while ((c = fgetc(fp)) != EOF)
    n += c == '\n';
  fclose(fp);
  return n;
}

static void rmdir_all(const char *dir) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

static void test_key_logbeacon(void **state) {
  (void)state;
  char key[LSYS_DEDUP_KEY_MAX];
  /* message_id wins over the body's log_id */
  assert_int_equal(lsys_dedup_make_key("logbeacon", "prop-id", LB, strlen(LB), key, sizeof key), 1);
  assert_string_equal(key, "logbeacon/prop-id");
  assert_int_equal(lsys_dedup_make_key("logbeacon", NULL, LB, strlen(LB), key, sizeof key), 1);
  assert_string_equal(key, "logbeacon/body-id");
  assert_int_equal(lsys_dedup_make_key("logbeacon", "", LB, strlen(LB), key, sizeof key), 1);
  assert_string_equal(key, "logbeacon/body-id");
  /* A body that is not JSON still has the property's key. */
  assert_int_equal(lsys_dedup_make_key("logbeacon", "p", "not json", 8, key, sizeof key), 1);
  assert_string_equal(key, "logbeacon/p");
}

static void test_key_without_log_id(void **state) {
  (void)state;
  char key[LSYS_DEDUP_KEY_MAX];
  const char *old = "{\"domain\":\"d\",\"message\":\"old system, no log_id\"}";
  assert_int_equal(lsys_dedup_make_key("logbeacon", NULL, old, strlen(old), key, sizeof key), 0);
  assert_int_equal(lsys_dedup_make_key("logbeacon", NULL, "garbage", 7, key, sizeof key), 0);
  const char *num = "{\"log_id\":42}";
  assert_int_equal(lsys_dedup_make_key("logbeacon", NULL, num, strlen(num), key, sizeof key), 0);
  const char *empty = "{\"log_id\":\"\"}";
  assert_int_equal(lsys_dedup_make_key("logbeacon", NULL, empty, strlen(empty), key, sizeof key), 0);
  assert_int_equal(lsys_dedup_make_key("logbeacon", NULL, NULL, 0, key, sizeof key), 0);
}

static void test_key_destination_is_tg_type(void **state) {
  (void)state;
  char a[LSYS_DEDUP_KEY_MAX], b[LSYS_DEDUP_KEY_MAX];
  assert_int_equal(lsys_dedup_make_key(NULL, "abc", TG_DEV, strlen(TG_DEV), a, sizeof a), 1);
  assert_int_equal(lsys_dedup_make_key(NULL, "abc", TG_CUS, strlen(TG_CUS), b, sizeof b), 1);
  assert_string_equal(a, "developer/abc");
  assert_string_equal(b, "customer/abc");
  /* tg without a type: no destination, no key */
  const char *notype = "{\"notify_msg\":\"x\",\"log_id\":\"abc\"}";
  assert_int_equal(lsys_dedup_make_key(NULL, "abc", notype, strlen(notype), a, sizeof a), 0);
  assert_int_equal(lsys_dedup_make_key(NULL, "abc", "nope", 4, a, sizeof a), 0);
}

static void test_key_escaping_and_length(void **state) {
  (void)state;
  char key[LSYS_DEDUP_KEY_MAX], big[400];
  assert_int_equal(lsys_dedup_make_key("a b", "x/y%z\n\xc3\xa9", NULL, 0, key, sizeof key), 1);
  assert_string_equal(key, "a%20b/x%2Fy%25z%0A%C3%A9");
  memset(big, 'k', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  assert_int_equal(lsys_dedup_make_key("logbeacon", big, NULL, 0, key, sizeof key), 0);
  assert_int_equal(lsys_dedup_make_key("logbeacon", "abc", NULL, 0, key, 12), 0); /* does not fit */
  assert_int_equal(lsys_dedup_make_key("logbeacon", "abc", NULL, 0, key, 14), 1);
  assert_string_equal(key, "logbeacon/abc");
}

static void test_window(void **state) {
  (void)state;
  lsys_dedup *d = make(NULL, 10, 0);
  int64_t t = 1000000;
  assert_false(lsys_dedup_seen(d, "logbeacon/a", t));
  assert_int_equal(lsys_dedup_record(d, "logbeacon/a", t), LSYS_OK);
  assert_true(lsys_dedup_seen(d, "logbeacon/a", t));
  assert_true(lsys_dedup_seen(d, "logbeacon/a", t + 9999));
  assert_false(lsys_dedup_seen(d, "logbeacon/a", t + 10000));
  assert_false(lsys_dedup_seen(d, "logbeacon/b", t));
  /* The destination is part of the key. */
  assert_int_equal(lsys_dedup_record(d, "developer/x", t), LSYS_OK);
  assert_true(lsys_dedup_seen(d, "developer/x", t + 1));
  assert_false(lsys_dedup_seen(d, "customer/x", t + 1));
  /* Expired keys are reclaimed by later records. */
  assert_int_equal(lsys_dedup_size(d), 2);
  assert_int_equal(lsys_dedup_record(d, "logbeacon/c", t + 20000), LSYS_OK);
  assert_int_equal(lsys_dedup_size(d), 1);
  assert_int_equal(lsys_dedup_evicted(d), 0);
  lsys_dedup_destroy(d);
}

static void test_window_off(void **state) {
  (void)state;
  lsys_dedup *d = make("/nonexistent/never/created", 0, 0); /* off: the dir is not touched */
  assert_int_equal(lsys_dedup_record(d, "logbeacon/a", 1), LSYS_OK);
  assert_false(lsys_dedup_seen(d, "logbeacon/a", 1));
  assert_null(lsys_dedup_journal(d));
  lsys_dedup_destroy(d);
  lsys_dedup_destroy(NULL);
}

static void test_bounded_memory(void **state) {
  (void)state;
  char key[64];
  lsys_dedup *d = make(NULL, 3600, 100);
  int64_t t = 5000000;
  for (int i = 0; i < 1000; i++) {
    snprintf(key, sizeof key, "logbeacon/%d", i);
    assert_int_equal(lsys_dedup_record(d, key, t + i), LSYS_OK);
    assert_true(lsys_dedup_size(d) <= 100);
  }
  assert_int_equal(lsys_dedup_size(d), 100);
  assert_int_equal(lsys_dedup_evicted(d), 900);
  assert_false(lsys_dedup_seen(d, "logbeacon/0", t + 1000));
  assert_false(lsys_dedup_seen(d, "logbeacon/899", t + 1000));
  assert_true(lsys_dedup_seen(d, "logbeacon/900", t + 1000));
  assert_true(lsys_dedup_seen(d, "logbeacon/999", t + 1000));
  lsys_dedup_destroy(d);
}

static void test_record_again_moves_to_tail(void **state) {
  (void)state;
  lsys_dedup *d = make(NULL, 3600, 3);
  lsys_dedup_record(d, "k/a", 1000);
  lsys_dedup_record(d, "k/b", 1001);
  lsys_dedup_record(d, "k/a", 1002); /* a again: now the newest */
  lsys_dedup_record(d, "k/c", 1003);
  lsys_dedup_record(d, "k/d", 1004);
  assert_true(lsys_dedup_seen(d, "k/a", 1005));
  assert_false(lsys_dedup_seen(d, "k/b", 1005));
  assert_true(lsys_dedup_seen(d, "k/c", 1005));
  assert_true(lsys_dedup_seen(d, "k/d", 1005));
  assert_int_equal(lsys_dedup_size(d), 3);
  lsys_dedup_destroy(d);
}

static void test_journal_reload(void **state) {
  (void)state;
  char dir[64];
  tmpdir(dir, sizeof dir);
  int64_t now = wall_ms();
  lsys_dedup *d = make(dir, 60, 0);
  assert_non_null(lsys_dedup_journal(d));
  assert_int_equal(lsys_dedup_record(d, "logbeacon/one", now), LSYS_OK);
  assert_int_equal(lsys_dedup_record(d, "developer/two", now), LSYS_OK);
  assert_int_equal(lsys_dedup_record(d, "logbeacon/old", now - 61000), LSYS_OK); /* expired */
  lsys_dedup_destroy(d);

  d = make(dir, 60, 0); /* a restarted worker */
  assert_true(lsys_dedup_seen(d, "logbeacon/one", now + 1));
  assert_true(lsys_dedup_seen(d, "developer/two", now + 1));
  assert_false(lsys_dedup_seen(d, "customer/two", now + 1));
  assert_false(lsys_dedup_seen(d, "logbeacon/old", now + 1));
  assert_int_equal(lsys_dedup_size(d), 2);
  /* The rewrite at start dropped the expired line. */
  assert_int_equal(count_lines(lsys_dedup_journal(d)), 2);
  lsys_dedup_destroy(d);

  /* A shorter window at the next start forgets more. */
  d = make(dir, 1, 0);
  assert_int_equal(lsys_dedup_size(d), wall_ms() - now < 1000 ? 2 : 0);
  lsys_dedup_destroy(d);
  rmdir_all(dir);
}

static void test_journal_ignores_garbage(void **state) {
  (void)state;
  char dir[64], path[128];
  tmpdir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/t.example_logbeacon.dedup.7", dir);
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fprintf(fp, "%lld logbeacon/good\nnot a line\n12x logbeacon/bad\n%lld \n%lld two words\n%lld "
              "logbeacon/cut",
          (long long)wall_ms(), (long long)wall_ms(), (long long)wall_ms(), (long long)wall_ms());
  fclose(fp);
  lsys_dedup *d = make(dir, 60, 0);
  assert_true(lsys_dedup_seen(d, "logbeacon/good", wall_ms()));
  assert_false(lsys_dedup_seen(d, "logbeacon/cut", wall_ms())); /* no newline: cut short */
  assert_int_equal(lsys_dedup_size(d), 1);
  lsys_dedup_destroy(d);
  rmdir_all(dir);
}

static void test_two_workers_share_a_dir(void **state) {
  (void)state;
  char dir[64];
  tmpdir(dir, sizeof dir);
  int64_t now = wall_ms();
  lsys_dedup *a = make(dir, 60, 0);
  assert_int_equal(lsys_dedup_record(a, "logbeacon/from-a", now), LSYS_OK);
  lsys_dedup *b = make(dir, 60, 0); /* a still runs: b takes another slot and reads a's */
  assert_string_not_equal(lsys_dedup_journal(a), lsys_dedup_journal(b));
  assert_true(lsys_dedup_seen(b, "logbeacon/from-a", now + 1));
  assert_int_equal(lsys_dedup_record(b, "logbeacon/from-b", now), LSYS_OK);
  assert_int_equal(lsys_dedup_record(a, "logbeacon/later-a", now), LSYS_OK);
  lsys_dedup_destroy(a);
  lsys_dedup_destroy(b);
  lsys_dedup *c = make(dir, 60, 0);
  assert_true(lsys_dedup_seen(c, "logbeacon/from-a", now + 1));
  assert_true(lsys_dedup_seen(c, "logbeacon/from-b", now + 1));
  assert_true(lsys_dedup_seen(c, "logbeacon/later-a", now + 1));
  lsys_dedup_destroy(c);
  rmdir_all(dir);
}

static void test_journal_compaction(void **state) {
  (void)state;
  char dir[64], key[64];
  tmpdir(dir, sizeof dir);
  int64_t t0 = wall_ms() - 20000;
  lsys_dedup *d = make(dir, 1, 0); /* 1 s window: about 1000 keys live at 1 key/ms */
  for (int i = 0; i < 20000; i++) {
    snprintf(key, sizeof key, "logbeacon/%d", i);
    assert_int_equal(lsys_dedup_record(d, key, t0 + i), LSYS_OK);
  }
  size_t lines = count_lines(lsys_dedup_journal(d));
  assert_true(lines < 2 * 1000 + 4096 + 2);
  assert_true(lines >= lsys_dedup_size(d));
  /* The newest keys are in the rewritten journal. */
  assert_true(lsys_dedup_seen(d, "logbeacon/19999", t0 + 20000));
  lsys_dedup_destroy(d);
  rmdir_all(dir);
}

static void test_bad_dir(void **state) {
  (void)state;
  lsys_dedup *d = NULL;
  char err[512] = "";
  lsys_dedup_opts o = {.dir = "/proc/no-such-dir/x", .name = "q", .window_s = 60};
  assert_int_equal(lsys_dedup_create(&d, &o, err, sizeof err), LSYS_ECONFIG);
  assert_null(d);
  assert_non_null(strstr(err, "LOGSYS_DEDUP_DIR"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_key_logbeacon),
      cmocka_unit_test(test_key_without_log_id),
      cmocka_unit_test(test_key_destination_is_tg_type),
      cmocka_unit_test(test_key_escaping_and_length),
      cmocka_unit_test(test_window),
      cmocka_unit_test(test_window_off),
      cmocka_unit_test(test_bounded_memory),
      cmocka_unit_test(test_record_again_moves_to_tail),
      cmocka_unit_test(test_journal_reload),
      cmocka_unit_test(test_journal_ignores_garbage),
      cmocka_unit_test(test_two_workers_share_a_dir),
      cmocka_unit_test(test_journal_compaction),
      cmocka_unit_test(test_bad_dir),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
