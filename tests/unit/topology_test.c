/* topology_test.c - unit tests for workers/topology.c (queue names) and
 * workers/job.c (the worker's job lists). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "errors.h"
#include "job.h"
#include "status.h"
#include "topology.h"

static void test_names(void **state) {
  (void)state;
  lsys_topology t;
  assert_int_equal(lsys_topology_names(&t, "example.com", LSYS_SINK_KIND_LOGBEACON), LSYS_OK);
  assert_string_equal(t.queue, "example.com_logbeacon");
  assert_string_equal(t.retry, "example.com_logbeacon.retry");
  assert_string_equal(t.dlq, "example.com_logbeacon.dlq");
  assert_int_equal(lsys_topology_names(&t, "example.com", LSYS_SINK_KIND_TELEGRAM), LSYS_OK);
  assert_string_equal(t.queue, "example.com_tg");
  assert_string_equal(t.retry, "example.com_tg.retry");
  assert_string_equal(t.dlq, "example.com_tg.dlq");
}

static void test_names_too_long(void **state) {
  (void)state;
  lsys_topology t;
  char domain[300];
  memset(domain, 'd', sizeof domain - 1);
  domain[sizeof domain - 1] = '\0';
  assert_int_equal(lsys_topology_names(&t, domain, LSYS_SINK_KIND_LOGBEACON), LSYS_EINVAL);
  /* 255 bytes is the AMQP limit: "{domain}_logbeacon.retry" must fit. */
  domain[255 - strlen("_logbeacon.retry")] = '\0';
  assert_int_equal(lsys_topology_names(&t, domain, LSYS_SINK_KIND_LOGBEACON), LSYS_OK);
  assert_int_equal(strlen(t.retry), 255);
  domain[255 - strlen("_logbeacon.retry")] = 'd';
  domain[256 - strlen("_logbeacon.retry")] = '\0';
  assert_int_equal(lsys_topology_names(&t, domain, LSYS_SINK_KIND_LOGBEACON), LSYS_EINVAL);
  assert_int_equal(lsys_topology_names(&t, "", LSYS_SINK_KIND_LOGBEACON), LSYS_EINVAL);
}

static lsys_job *job(const char *key) {
  lsys_job *j = NULL;
  assert_int_equal(lsys_job_create(&j, NULL, 1), LSYS_OK);
  if (key) {
    j->has_key = 1;
    snprintf(j->key, sizeof j->key, "%s", key);
  }
  return j;
}

static void test_job_lists(void **state) {
  (void)state;
  lsys_job_list l = {0};
  lsys_job *a = job("k/a"), *b = job(NULL), *c = job("k/c");
  assert_int_equal(a->attempt, 1);
  lsys_job_push(&l, a);
  lsys_job_push(&l, b);
  lsys_job_push_front(&l, c);
  assert_int_equal(l.n, 3);
  assert_ptr_equal(l.head, c);
  assert_ptr_equal(l.tail, b);
  assert_ptr_equal(lsys_job_find_key(&l, "k/a"), a);
  assert_null(lsys_job_find_key(&l, "k/b"));
  lsys_job_remove(&l, a); /* from the middle */
  assert_int_equal(l.n, 2);
  assert_null(lsys_job_find_key(&l, "k/a"));
  assert_ptr_equal(c->next, b);
  assert_ptr_equal(b->prev, c);
  assert_ptr_equal(lsys_job_pop(&l), c);
  assert_ptr_equal(lsys_job_pop(&l), b);
  assert_null(lsys_job_pop(&l));
  assert_null(l.head);
  assert_null(l.tail);
  lsys_job_push(&l, a);
  lsys_job_push(&l, b);
  lsys_job_push(&l, c);
  lsys_job_free_all(&l);
  assert_int_equal(l.n, 0);
  lsys_job_free(NULL);
}

static void test_status_line(void **state) {
  (void)state;
  char line[512];
  lsys_worker_stats st = {.delivered = 120, .duplicates = 2, .retried = 3, .dead_lettered = 1};
  lsys_status_depth d = {.known = 1, .ready = 42, .consumers = 3, .retry = 5, .dlq = 1};
  lsys_status_rate r = {0};
  assert_true(lsys_status_rate_update(&r, 0, 1000) == 0.0);
  double rate = lsys_status_rate_update(&r, 120, 3000);
  assert_true(rate > 59.9 && rate < 60.1);
  lsys_status_format(line, sizeof line, "x_logbeacon", &d, &st, 7, rate);
  assert_non_null(strstr(line, "queue x_logbeacon depth 42"));
  assert_non_null(strstr(line, "delivered 120"));
  assert_non_null(strstr(line, "duplicates 2"));
  assert_non_null(strstr(line, "retried 3"));
  assert_non_null(strstr(line, "dead-lettered 1"));
  assert_non_null(strstr(line, "in flight 7"));
  assert_non_null(strstr(line, "60.0/s"));
  d.known = 0;
  lsys_status_format(line, sizeof line, "x_logbeacon", &d, &st, 0, 0);
  assert_non_null(strstr(line, "depth unknown"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_names),
      cmocka_unit_test(test_names_too_long),
      cmocka_unit_test(test_job_lists),
      cmocka_unit_test(test_status_line),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
