/* ids_test.c - log_id generation: format, uniqueness, distinct generators. */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ids.h"

#define N_IDS 1000000u
#define SET_SLOTS (1u << 21) /* power of two, > 2 * N_IDS */

typedef char id_t_[LSYS_ID_LEN + 1];

/* A minimal open-addressing set of ids; returns 0 if id was already there. */
static int set_add(id_t_ *slots, const char *id) {
  uint64_t h = 1469598103934665603u; /* FNV-1a */
  for (int i = 0; i < LSYS_ID_LEN; i++)
    h = (h ^ (unsigned char)id[i]) * 1099511628211u;
  for (uint64_t k = h & (SET_SLOTS - 1);; k = (k + 1) & (SET_SLOTS - 1)) {
    if (slots[k][0] == '\0') {
      memcpy(slots[k], id, sizeof slots[k]);
      return 1;
    }
    if (memcmp(slots[k], id, LSYS_ID_LEN) == 0)
      return 0;
  }
}

static void assert_format(const char *id) {
  assert_int_equal(strlen(id), LSYS_ID_LEN);
  for (int i = 0; i < LSYS_ID_LEN; i++)
    assert_non_null(strchr("0123456789abcdef", id[i]));
}

static void test_format(void **state) {
  lsys_ids *g = NULL;
  char id[LSYS_ID_LEN + 1], prev[LSYS_ID_LEN + 1];
  (void)state;
  assert_int_equal(lsys_ids_create(NULL), LSYS_EINVAL);
  assert_int_equal(lsys_ids_create(&g), LSYS_OK);
  lsys_ids_next(g, prev);
  assert_format(prev);
  for (int i = 0; i < 1000; i++) {
    lsys_ids_next(g, id);
    assert_format(id);
    assert_true(strcmp(prev, id) < 0); /* made in order, sort in order */
    memcpy(prev, id, sizeof id);
  }
  lsys_ids_destroy(g);
  lsys_ids_destroy(NULL);
}

static void test_million_unique(void **state) {
  id_t_ *slots = calloc(SET_SLOTS, sizeof *slots);
  lsys_ids *g;
  char id[LSYS_ID_LEN + 1];
  (void)state;
  assert_non_null(slots);
  assert_int_equal(lsys_ids_create(&g), LSYS_OK);
  for (unsigned i = 0; i < N_IDS; i++) {
    lsys_ids_next(g, id);
    if (!set_add(slots, id))
      fail_msg("duplicate id %s after %u", id, i);
  }
  lsys_ids_destroy(g);
  free(slots);
}

static void test_generators_differ(void **state) {
  lsys_ids *a, *b;
  char ia[LSYS_ID_LEN + 1], ib[LSYS_ID_LEN + 1];
  (void)state;
  assert_int_equal(lsys_ids_create(&a), LSYS_OK);
  assert_int_equal(lsys_ids_create(&b), LSYS_OK);
  lsys_ids_next(a, ia);
  lsys_ids_next(b, ib);
  assert_string_not_equal(ia, ib);
  assert_memory_not_equal(ia, ib, 16); /* different prefixes, not just counters */
  lsys_ids_destroy(a);
  lsys_ids_destroy(b);
}

#define THREADS 4
#define PER_THREAD 250000u

struct worker {
  lsys_ids *g;
  id_t_ *out;
};

static void *make_ids(void *arg) {
  struct worker *w = arg;
  for (unsigned i = 0; i < PER_THREAD; i++)
    lsys_ids_next(w->g, w->out[i]);
  return NULL;
}

static void test_threads_unique(void **state) {
  id_t_ *ids = calloc((size_t)THREADS * PER_THREAD, sizeof *ids);
  id_t_ *slots = calloc(SET_SLOTS, sizeof *slots);
  struct worker w[THREADS];
  pthread_t t[THREADS];
  lsys_ids *g;
  (void)state;
  assert_non_null(ids);
  assert_non_null(slots);
  assert_int_equal(lsys_ids_create(&g), LSYS_OK);
  for (int i = 0; i < THREADS; i++) {
    w[i] = (struct worker){g, ids + (size_t)i * PER_THREAD};
    assert_int_equal(pthread_create(&t[i], NULL, make_ids, &w[i]), 0);
  }
  for (int i = 0; i < THREADS; i++)
    pthread_join(t[i], NULL);
  for (size_t k = 0; k < (size_t)THREADS * PER_THREAD; k++)
    if (!set_add(slots, ids[k]))
      fail_msg("duplicate id %s", ids[k]);
  lsys_ids_destroy(g);
  free(slots);
  free(ids);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_format),
      cmocka_unit_test(test_million_unique),
      cmocka_unit_test(test_generators_differ),
      cmocka_unit_test(test_threads_unique),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
