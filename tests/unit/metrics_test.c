/* metrics_test.c - unit tests for common/metrics.c: exact exposition text,
 * label escaping, histogram buckets, registration rules, concurrent bumps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>

#include "errors.h"
#include "metrics.h"

/* render returns m's text (the caller frees it) and checks its length. */
static char *render(lsys_metrics *m) {
  char *text = NULL;
  size_t len = 12345;
  assert_int_equal(lsys_metrics_render(m, &text, &len), LSYS_OK);
  assert_non_null(text);
  assert_int_equal(strlen(text), len);
  return text;
}

static void expect_render(lsys_metrics *m, const char *want) {
  char *text = render(m);
  assert_string_equal(text, want);
  free(text);
}

static double spool_bytes(void *arg) {
  return (double)*(const long *)arg;
}

static void test_small_registry_exact_text(void **state) {
  (void)state;
  lsys_metrics *m = NULL;
  long spool = 4096;
  static const double bounds[] = {0.25, 0.5, 1};

  assert_int_equal(lsys_metrics_create(&m), LSYS_OK);
  lsys_counter *err = lsys_metrics_counter(m, "logsys_records_received_total",
                                           "Records received from clients",
                                           LSYS_LABELS("level", "Error"));
  lsys_counter *info = lsys_metrics_counter(m, "logsys_records_received_total", "ignored help",
                                            LSYS_LABELS("level", "Info"));
  lsys_gauge *depth = lsys_metrics_gauge(m, "logsys_queue_depth", "Records waiting", NULL);
  assert_non_null(lsys_metrics_gauge_fn(m, "logsys_spool_bytes", "Bytes in the spool", NULL,
                                        spool_bytes, &spool));
  lsys_histogram *lat = lsys_metrics_histogram(m, "logsys_publish_seconds", "Publish latency",
                                               LSYS_LABELS("queue", "d_tg"), bounds, 3);
  assert_non_null(err);
  assert_non_null(info);
  assert_non_null(depth);
  assert_non_null(lat);

  lsys_counter_add(err, 3);
  lsys_counter_add(info, 1);
  lsys_counter_add(info, 41);
  lsys_gauge_set(depth, 7);
  lsys_gauge_add(depth, -2);
  lsys_histogram_observe(lat, 0.125);
  lsys_histogram_observe(lat, 0.25); /* le is inclusive */
  lsys_histogram_observe(lat, 0.75);
  lsys_histogram_observe(lat, 2);
  spool = 8192; /* read at render time */

  expect_render(m, "# HELP logsys_records_received_total Records received from clients\n"
                   "# TYPE logsys_records_received_total counter\n"
                   "logsys_records_received_total{level=\"Error\"} 3\n"
                   "logsys_records_received_total{level=\"Info\"} 42\n"
                   "# HELP logsys_queue_depth Records waiting\n"
                   "# TYPE logsys_queue_depth gauge\n"
                   "logsys_queue_depth 5\n"
                   "# HELP logsys_spool_bytes Bytes in the spool\n"
                   "# TYPE logsys_spool_bytes gauge\n"
                   "logsys_spool_bytes 8192\n"
                   "# HELP logsys_publish_seconds Publish latency\n"
                   "# TYPE logsys_publish_seconds histogram\n"
                   "logsys_publish_seconds_bucket{queue=\"d_tg\",le=\"0.25\"} 2\n"
                   "logsys_publish_seconds_bucket{queue=\"d_tg\",le=\"0.5\"} 2\n"
                   "logsys_publish_seconds_bucket{queue=\"d_tg\",le=\"1\"} 3\n"
                   "logsys_publish_seconds_bucket{queue=\"d_tg\",le=\"+Inf\"} 4\n"
                   "logsys_publish_seconds_sum{queue=\"d_tg\"} 3.125\n"
                   "logsys_publish_seconds_count{queue=\"d_tg\"} 4\n");
  assert_int_equal(lsys_counter_value(info), 42);
  assert_true(lsys_gauge_value(depth) == 5);
  assert_int_equal(lsys_histogram_count(lat), 4);
  assert_int_equal(lsys_metrics_check(m, NULL, 0), LSYS_OK);
  lsys_metrics_destroy(m);
}

static void test_escaping(void **state) {
  (void)state;
  lsys_metrics *m = NULL;
  assert_int_equal(lsys_metrics_create(&m), LSYS_OK);
  lsys_counter *c = lsys_metrics_counter(m, "x_total", "Help with a \\ backslash\nand \"quotes\"",
                                         LSYS_LABELS("a", "q\"uo\\te\nnl", "b", "ü,=}"));
  assert_non_null(c);
  lsys_counter_add(c, 1);
  expect_render(m, "# HELP x_total Help with a \\\\ backslash\\nand \"quotes\"\n"
                   "# TYPE x_total counter\n"
                   "x_total{a=\"q\\\"uo\\\\te\\nnl\",b=\"ü,=}\"} 1\n");
  lsys_metrics_destroy(m);
}

static void test_histogram_without_labels_and_special_values(void **state) {
  (void)state;
  lsys_metrics *m = NULL;
  assert_int_equal(lsys_metrics_create(&m), LSYS_OK);
  lsys_histogram *h = lsys_metrics_histogram(m, "h", "", NULL, NULL, 0);
  lsys_gauge *g = lsys_metrics_gauge(m, "g", "G", LSYS_LABELS("k", ""));
  assert_non_null(h);
  assert_non_null(g);
  expect_render(m, "# TYPE h histogram\n"
                   "h_bucket{le=\"+Inf\"} 0\n"
                   "h_sum 0\n"
                   "h_count 0\n"
                   "# HELP g G\n"
                   "# TYPE g gauge\n"
                   "g{k=\"\"} 0\n");
  lsys_histogram_observe(h, 1e300);
  lsys_histogram_observe(h, 1e300);
  lsys_gauge_set(g, 0.1);
  char *text = render(m);
  assert_non_null(strstr(text, "h_bucket{le=\"+Inf\"} 2\nh_sum 2e+300\nh_count 2\n"));
  assert_non_null(strstr(text, "g{k=\"\"} 0.1\n"));
  free(text);
  lsys_gauge_set(g, -INFINITY);
  lsys_histogram_observe(h, NAN);
  text = render(m);
  assert_non_null(strstr(text, "h_bucket{le=\"+Inf\"} 3\nh_sum NaN\nh_count 3\n"));
  assert_non_null(strstr(text, "g{k=\"\"} -Inf\n"));
  free(text);
  lsys_gauge_set(g, 1.0 / 3.0); /* needs 17 digits to read back */
  text = render(m);
  assert_non_null(strstr(text, "g{k=\"\"} 0.33333333333333331\n"));
  free(text);
  lsys_metrics_destroy(m);
}

static void test_build_info(void **state) {
  (void)state;
  lsys_metrics *m = NULL;
  assert_int_equal(lsys_metrics_create(&m), LSYS_OK);
  assert_int_equal(lsys_metrics_build_info(m, "logsysd"), LSYS_OK);
  expect_render(m, "# HELP logsys_build_info Version and binary of this logsys build\n"
                   "# TYPE logsys_build_info gauge\n"
                   "logsys_build_info{version=\"" LOGSYS_VERSION "\",binary=\"logsysd\"} 1\n");
  assert_string_equal(LOGSYS_VERSION, "0.1.0");
  assert_int_equal(lsys_metrics_build_info(NULL, "x"), LSYS_EINVAL);
  lsys_metrics_destroy(m);
}

static void test_registration_rules(void **state) {
  (void)state;
  lsys_metrics *m = NULL;
  char err[256] = "";
  static const double good[] = {1, 2}, unsorted[] = {2, 1}, inf[] = {1, INFINITY};

  assert_int_equal(lsys_metrics_create(&m), LSYS_OK);
  lsys_counter *a = lsys_metrics_counter(m, "a_total", "A", LSYS_LABELS("k", "v"));
  assert_non_null(a);
  /* Same name and labels: the same handle. */
  assert_ptr_equal(lsys_metrics_counter(m, "a_total", "A", LSYS_LABELS("k", "v")), a);
  lsys_histogram *h = lsys_metrics_histogram(m, "h", "H", NULL, good, 2);
  assert_ptr_equal(lsys_metrics_histogram(m, "h", "H", NULL, good, 2), h);
  assert_int_equal(lsys_metrics_check(m, err, sizeof err), LSYS_OK);

  assert_null(lsys_metrics_gauge(m, "a_total", "A", NULL)); /* another type */
  assert_int_equal(lsys_metrics_check(m, err, sizeof err), LSYS_EINVAL);
  assert_non_null(strstr(err, "a_total"));
  assert_non_null(strstr(err, "counter"));

  /* Later failures leave the first message alone but still return NULL. */
  assert_null(lsys_metrics_counter(m, "9bad", "x", NULL));
  assert_null(lsys_metrics_counter(m, "bad-name", "x", NULL));
  assert_null(lsys_metrics_counter(m, NULL, "x", NULL));
  assert_null(lsys_metrics_counter(m, "c_total", "x", LSYS_LABELS("bad-label", "v")));
  assert_null(lsys_metrics_counter(m, "c_total", "x", LSYS_LABELS("__reserved", "v")));
  assert_null(lsys_metrics_counter(m, "c_total", "x", LSYS_LABELS("k", "v", "k", "w")));
  assert_null(lsys_metrics_counter(m, "c_total", "x", LSYS_LABELS("k", "v", "odd")));
  assert_null(lsys_metrics_histogram(m, "h2", "x", LSYS_LABELS("le", "1"), good, 2));
  assert_null(lsys_metrics_histogram(m, "h2", "x", NULL, unsorted, 2));
  assert_null(lsys_metrics_histogram(m, "h2", "x", NULL, inf, 2));
  assert_null(lsys_metrics_histogram(m, "h", "H", NULL, good, 1)); /* other bounds */
  assert_null(lsys_metrics_gauge_fn(m, "f", "x", NULL, NULL, NULL));
  assert_non_null(lsys_metrics_gauge_fn(m, "f", "x", NULL, spool_bytes, &(long){1}));
  assert_null(lsys_metrics_gauge_fn(m, "f", "x", NULL, spool_bytes, &(long){2})); /* twice */
  assert_int_equal(lsys_metrics_check(m, err, sizeof err), LSYS_EINVAL);
  assert_non_null(strstr(err, "a_total"));

  /* Nothing failed reached the output; metric names may hold colons. */
  assert_non_null(lsys_metrics_counter(m, "ns:c_total", "C", NULL));
  char *text = render(m);
  assert_null(strstr(text, "bad"));
  assert_null(strstr(text, "h2"));
  assert_null(strstr(text, "c_total{"));
  assert_non_null(strstr(text, "# TYPE ns:c_total counter\nns:c_total 0\n"));
  free(text);
  lsys_metrics_destroy(m);
}

static void test_null_tolerance(void **state) {
  (void)state;
  lsys_counter_add(NULL, 1);
  lsys_gauge_set(NULL, 1);
  lsys_gauge_add(NULL, 1);
  lsys_histogram_observe(NULL, 1);
  assert_int_equal(lsys_counter_value(NULL), 0);
  assert_true(lsys_gauge_value(NULL) == 0);
  assert_int_equal(lsys_histogram_count(NULL), 0);
  assert_null(lsys_metrics_counter(NULL, "a_total", "A", NULL));
  assert_null(lsys_metrics_gauge(NULL, "g", "G", NULL));
  assert_null(lsys_metrics_gauge_fn(NULL, "g", "G", NULL, spool_bytes, NULL));
  assert_null(lsys_metrics_histogram(NULL, "h", "H", NULL, NULL, 0));
  char *text;
  size_t len;
  assert_int_equal(lsys_metrics_render(NULL, &text, &len), LSYS_EINVAL);
  assert_int_equal(lsys_metrics_check(NULL, NULL, 0), LSYS_OK);
  lsys_metrics_destroy(NULL);

  lsys_metrics *m = NULL;
  assert_int_equal(lsys_metrics_create(&m), LSYS_OK);
  expect_render(m, ""); /* an empty registry renders as nothing */
  lsys_gauge *f = lsys_metrics_gauge_fn(m, "f", "F", NULL, spool_bytes, &(long){3});
  lsys_gauge_set(f, 100); /* ignored: the callback decides */
  assert_true(lsys_gauge_value(f) == 3);
  lsys_metrics_destroy(m);
}

enum { THREADS = 4, ROUNDS = 200000 };

typedef struct bumper {
  lsys_counter *c;
  lsys_gauge *g;
  lsys_histogram *h;
} bumper;

static void *bump(void *arg) {
  bumper *b = arg;
  for (int i = 0; i < ROUNDS; i++) {
    lsys_counter_add(b->c, 1);
    lsys_gauge_add(b->g, 1);
    lsys_histogram_observe(b->h, (double)(i % 4)); /* 0, 1, 2, 3 */
  }
  return NULL;
}

static void test_concurrent_bumps(void **state) {
  (void)state;
  lsys_metrics *m = NULL;
  pthread_t t[THREADS];
  static const double bounds[] = {0, 1, 2};
  char want[512];

  assert_int_equal(lsys_metrics_create(&m), LSYS_OK);
  bumper b = {
      lsys_metrics_counter(m, "n_total", "N", NULL),
      lsys_metrics_gauge(m, "g", "G", NULL),
      lsys_metrics_histogram(m, "h", "H", NULL, bounds, 3),
  };
  for (int i = 0; i < THREADS; i++)
    assert_int_equal(pthread_create(&t[i], NULL, bump, &b), 0);
  for (int i = 0; i < THREADS; i++) {
    char *text = render(m); /* rendering while others bump is fine */
    free(text);
  }
  for (int i = 0; i < THREADS; i++)
    assert_int_equal(pthread_join(t[i], NULL), 0);

  const long n = (long)THREADS * ROUNDS, q = n / 4;
  assert_int_equal(lsys_counter_value(b.c), n);
  assert_true(lsys_gauge_value(b.g) == (double)n);
  assert_int_equal(lsys_histogram_count(b.h), n);
  snprintf(want, sizeof want,
           "# HELP n_total N\n# TYPE n_total counter\nn_total %ld\n"
           "# HELP g G\n# TYPE g gauge\ng %ld\n"
           "# HELP h H\n# TYPE h histogram\n"
           "h_bucket{le=\"0\"} %ld\nh_bucket{le=\"1\"} %ld\nh_bucket{le=\"2\"} %ld\n"
           "h_bucket{le=\"+Inf\"} %ld\nh_sum %ld\nh_count %ld\n",
           n, n, q, 2 * q, 3 * q, n, 6 * q, n);
  expect_render(m, want);
  lsys_metrics_destroy(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_small_registry_exact_text),
      cmocka_unit_test(test_escaping),
      cmocka_unit_test(test_histogram_without_labels_and_special_values),
      cmocka_unit_test(test_build_info),
      cmocka_unit_test(test_registration_rules),
      cmocka_unit_test(test_null_tolerance),
      cmocka_unit_test(test_concurrent_bumps),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
