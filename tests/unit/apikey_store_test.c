/* apikey_store_test.c - unit tests for common/apikey_store.c: loading at
 * create, replacing, atomic writes, sanitised file names and keeping keys out
 * of error messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "apikey_store.h"
#include "errors.h"

#define FILE_EX "api_key-example.com-api_server-logbeacon.txt"

/* make_dir returns a new empty directory (caller removes it with rm_dir). */
static char *make_dir(void) {
  char *dir = strdup("/tmp/lsys_apikey_test_XXXXXX");
  assert_non_null(dir);
  assert_non_null(mkdtemp(dir));
  return dir;
}

static void rm_dir(char *dir) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
  free(dir);
}

static void write_text(const char *dir, const char *name, const char *text) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fputs(text, fp);
  fclose(fp);
}

/* read_text returns the content of dir/name (caller frees), NULL if absent. */
static char *read_text(const char *dir, const char *name) {
  char path[512], buf[2048];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *fp = fopen(path, "r");
  if (fp == NULL)
    return NULL;
  size_t n = fread(buf, 1, sizeof buf - 1, fp);
  fclose(fp);
  buf[n] = '\0';
  return strdup(buf);
}

/* count_entries counts the names in dir other than . and .. */
static int count_entries(const char *dir) {
  DIR *dp = opendir(dir);
  struct dirent *de;
  int n = 0;
  assert_non_null(dp);
  while ((de = readdir(dp)) != NULL) {
    if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
      n++;
  }
  closedir(dp);
  return n;
}

static void test_file_names(void **state) {
  (void)state;
  char buf[300];
  assert_int_equal(lsys_apikey_store_file_name("example.com", "api_server", buf, sizeof buf), LSYS_OK);
  assert_string_equal(buf, FILE_EX); /* the old system's name, unchanged */

  assert_int_equal(lsys_apikey_store_file_name("../../etc", "a/b", buf, sizeof buf), LSYS_OK);
  assert_null(strchr(buf, '/'));
  assert_null(strstr(buf, ".."));
  assert_string_equal(buf, "api_key-.__.__etc-a_b-logbeacon.txt");

  assert_int_equal(lsys_apikey_store_file_name("...", "x\ny\\z", buf, sizeof buf), LSYS_OK);
  assert_string_equal(buf, "api_key-._.-x_y_z-logbeacon.txt");

  assert_int_equal(lsys_apikey_store_file_name("", "日誌", buf, sizeof buf), LSYS_OK);
  assert_string_equal(buf, "api_key-_-日誌-logbeacon.txt");

  assert_int_equal(lsys_apikey_store_file_name("d", "p", buf, 10), LSYS_EINVAL);
  char longname[300];
  memset(longname, 'x', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  assert_int_equal(lsys_apikey_store_file_name(longname, "p", buf, sizeof buf), LSYS_EINVAL);
}

static void test_valid_keys(void **state) {
  (void)state;
  assert_true(lsys_apikey_store_valid_key("k1"));
  assert_true(lsys_apikey_store_valid_key("abc-DEF_123.=+/"));
  assert_false(lsys_apikey_store_valid_key(""));
  assert_false(lsys_apikey_store_valid_key(NULL));
  assert_false(lsys_apikey_store_valid_key("has space"));
  assert_false(lsys_apikey_store_valid_key("new\nline"));
  assert_false(lsys_apikey_store_valid_key("日"));
  char big[LSYS_APIKEY_MAX + 2];
  memset(big, 'k', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  assert_false(lsys_apikey_store_valid_key(big));
  big[LSYS_APIKEY_MAX] = '\0';
  assert_true(lsys_apikey_store_valid_key(big));
}

static void test_load_at_create(void **state) {
  (void)state;
  char *dir = make_dir();
  char err[256] = "";
  lsys_apikey_store *s = NULL;

  write_text(dir, FILE_EX, "  key-from-old-system\n");
  write_text(dir, "api_key-example.com-bad-logbeacon.txt", "two words\n"); /* invalid: skipped */
  write_text(dir, "unrelated.txt", "nope");
  write_text(dir, ".api_key-example.com-x-logbeacon.txt.tmp.1.0", "half-written"); /* crash leftover */
  assert_int_equal(lsys_apikey_store_create(&s, dir, err, sizeof err), LSYS_OK);
  assert_string_equal(lsys_apikey_store_get(s, "example.com", "api_server"), "key-from-old-system");
  assert_null(lsys_apikey_store_get(s, "example.com", "bad"));
  assert_null(lsys_apikey_store_get(s, "example.com", "other"));
  assert_null(read_text(dir, ".api_key-example.com-x-logbeacon.txt.tmp.1.0")); /* cleaned up */
  lsys_apikey_store_destroy(s);
  rm_dir(dir);
}

static void test_set_replace_and_atomic_write(void **state) {
  (void)state;
  char *dir = make_dir();
  char err[256] = "";
  lsys_apikey_store *s = NULL;
  struct stat st;
  char path[512];

  assert_int_equal(lsys_apikey_store_create(&s, dir, err, sizeof err), LSYS_OK);
  assert_null(lsys_apikey_store_get(s, "example.com", "api_server"));
  assert_int_equal(lsys_apikey_store_set(s, "example.com", "api_server", "k1", err, sizeof err), LSYS_OK);
  assert_string_equal(lsys_apikey_store_get(s, "example.com", "api_server"), "k1");
  char *text = read_text(dir, FILE_EX);
  assert_non_null(text);
  assert_string_equal(text, "k1");
  free(text);
  snprintf(path, sizeof path, "%s/%s", dir, FILE_EX);
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600); /* a secret: owner only */
  assert_int_equal(count_entries(dir), 1);   /* no temporary file left behind */

  /* A rotated key replaces the stored one, in memory and on disk. */
  assert_int_equal(lsys_apikey_store_set(s, "example.com", "api_server", "k2", err, sizeof err), LSYS_OK);
  assert_string_equal(lsys_apikey_store_get(s, "example.com", "api_server"), "k2");
  text = read_text(dir, FILE_EX);
  assert_string_equal(text, "k2");
  free(text);
  assert_int_equal(count_entries(dir), 1);

  /* Pairs are separate. */
  assert_int_equal(lsys_apikey_store_set(s, "example.com", "worker", "k3", err, sizeof err), LSYS_OK);
  assert_string_equal(lsys_apikey_store_get(s, "example.com", "api_server"), "k2");
  assert_string_equal(lsys_apikey_store_get(s, "example.com", "worker"), "k3");
  lsys_apikey_store_destroy(s);

  /* A new store (a restarted worker) finds the latest keys. */
  s = NULL;
  assert_int_equal(lsys_apikey_store_create(&s, dir, err, sizeof err), LSYS_OK);
  assert_string_equal(lsys_apikey_store_get(s, "example.com", "api_server"), "k2");
  assert_string_equal(lsys_apikey_store_get(s, "example.com", "worker"), "k3");
  lsys_apikey_store_destroy(s);
  rm_dir(dir);
}

static void test_hostile_names_stay_inside(void **state) {
  (void)state;
  char *dir = make_dir();
  char err[256] = "", sub[512];
  lsys_apikey_store *s = NULL;

  snprintf(sub, sizeof sub, "%s/keys", dir);
  assert_int_equal(lsys_apikey_store_create(&s, sub, err, sizeof err), LSYS_OK); /* made on demand */
  assert_int_equal(lsys_apikey_store_set(s, "../..", "../../tmp/evil", "k9", err, sizeof err), LSYS_OK);
  assert_string_equal(lsys_apikey_store_get(s, "../..", "../../tmp/evil"), "k9");
  assert_int_equal(count_entries(dir), 1); /* only keys/: nothing escaped */
  assert_int_equal(count_entries(sub), 1);
  lsys_apikey_store_destroy(s);
  rm_dir(dir);
}

static void test_keys_never_in_errors(void **state) {
  (void)state;
  char *dir = make_dir();
  char err[256] = "", path[512];
  lsys_apikey_store *s = NULL;
  const char *secret = "SeCrEtKeY42";

  assert_int_equal(lsys_apikey_store_create(&s, dir, err, sizeof err), LSYS_OK);
  /* Make the write fail: a directory stands where the file would go. */
  snprintf(path, sizeof path, "%s/%s", dir, FILE_EX);
  assert_int_equal(mkdir(path, 0700), 0);
  err[0] = '\0';
  assert_int_equal(lsys_apikey_store_set(s, "example.com", "api_server", secret, err, sizeof err), LSYS_EIO);
  assert_true(strlen(err) > 0);
  assert_null(strstr(err, secret));
  assert_non_null(strstr(err, "rename"));
  /* Still used from memory, and no temporary file is left. */
  assert_string_equal(lsys_apikey_store_get(s, "example.com", "api_server"), secret);
  assert_int_equal(count_entries(dir), 1);

  /* An unacceptable key is refused without being quoted. */
  err[0] = '\0';
  assert_int_equal(lsys_apikey_store_set(s, "example.com", "x", "SeCrEt with blank", err, sizeof err),
                   LSYS_EINVAL);
  assert_null(strstr(err, "SeCrEt"));
  assert_null(lsys_apikey_store_get(s, "example.com", "x"));
  lsys_apikey_store_destroy(s);

  /* A directory that cannot be made names itself, not a key. */
  s = (lsys_apikey_store *)0x1;
  snprintf(path, sizeof path, "%s/no/such/parent", dir);
  assert_int_equal(lsys_apikey_store_create(&s, path, err, sizeof err), LSYS_ECONFIG);
  assert_ptr_equal(s, (lsys_apikey_store *)0x1);
  assert_non_null(strstr(err, "LOGSYS_LOGBEACON_KEY_DIR"));
  assert_non_null(strstr(err, "no/such/parent"));
  rm_dir(dir);
}

static void test_memory_only(void **state) {
  (void)state;
  char err[256] = "";
  lsys_apikey_store *s = NULL;
  char longname[300];
  memset(longname, 'p', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';

  assert_int_equal(lsys_apikey_store_create(&s, NULL, err, sizeof err), LSYS_OK);
  assert_int_equal(lsys_apikey_store_set(s, "d", "p", "k1", err, sizeof err), LSYS_OK);
  assert_string_equal(lsys_apikey_store_get(s, "d", "p"), "k1");
  /* A pair too long for a file name is kept in memory. */
  assert_int_equal(lsys_apikey_store_set(s, "d", longname, "k2", err, sizeof err), LSYS_OK);
  assert_string_equal(lsys_apikey_store_get(s, "d", longname), "k2");
  assert_string_equal(lsys_apikey_store_get(s, "d", "p"), "k1");
  lsys_apikey_store_destroy(s);
  lsys_apikey_store_destroy(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_file_names),
      cmocka_unit_test(test_valid_keys),
      cmocka_unit_test(test_load_at_create),
      cmocka_unit_test(test_set_replace_and_atomic_write),
      cmocka_unit_test(test_hostile_names_stay_inside),
      cmocka_unit_test(test_keys_never_in_errors),
      cmocka_unit_test(test_memory_only),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
