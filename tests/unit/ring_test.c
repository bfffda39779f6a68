/* ring_test.c - the bounded MPMC ring: order, capacity, wrap-around, threads. */
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "ring.h"

#define ITEM(n) ((void *)(uintptr_t)(n))

static void test_create_rounds_up(void **state) {
  lsys_ring *r = NULL;
  (void)state;
  assert_int_equal(lsys_ring_create(&r, 0), LSYS_EINVAL);
  assert_int_equal(lsys_ring_create(&r, LSYS_RING_MAX_CAPACITY + 1), LSYS_EINVAL);
  assert_null(r);
  assert_int_equal(lsys_ring_create(&r, 5), LSYS_OK);
  assert_int_equal(lsys_ring_capacity(r), 8);
  lsys_ring_destroy(r);
  assert_int_equal(lsys_ring_create(&r, 1), LSYS_OK);
  assert_int_equal(lsys_ring_capacity(r), 2);
  lsys_ring_destroy(r);
  lsys_ring_destroy(NULL);
}

static void test_order_and_full(void **state) {
  lsys_ring *r;
  void *out = NULL;
  (void)state;
  assert_int_equal(lsys_ring_create(&r, 8), LSYS_OK);
  assert_true(lsys_ring_empty(r));
  assert_int_equal(lsys_ring_pop(r, &out), LSYS_RING_EMPTY);
  assert_int_equal(lsys_ring_push(r, NULL), LSYS_EINVAL);
  for (uintptr_t i = 1; i <= 8; i++)
    assert_int_equal(lsys_ring_push(r, ITEM(i)), LSYS_OK);
  assert_int_equal(lsys_ring_push(r, ITEM(9)), LSYS_EFULL); /* exactly at capacity */
  assert_false(lsys_ring_empty(r));
  assert_int_equal(lsys_ring_pushed(r), 8);
  for (uintptr_t i = 1; i <= 8; i++) {
    assert_int_equal(lsys_ring_pop(r, &out), LSYS_OK);
    assert_ptr_equal(out, ITEM(i));
  }
  assert_int_equal(lsys_ring_pop(r, &out), LSYS_RING_EMPTY);
  assert_true(lsys_ring_empty(r));
  assert_int_equal(lsys_ring_push(r, ITEM(10)), LSYS_OK); /* room again */
  assert_int_equal(lsys_ring_pop(r, &out), LSYS_OK);
  assert_ptr_equal(out, ITEM(10));
  lsys_ring_destroy(r);
}

/* Many laps with the ring filled to different depths each time. */
static void test_wrap_around(void **state) {
  lsys_ring *r;
  void *out;
  uintptr_t next_in = 1, next_out = 1;
  (void)state;
  assert_int_equal(lsys_ring_create(&r, 4), LSYS_OK);
  for (int round = 0; round < 200000; round++) {
    int depth = 1 + round % 4;
    for (int i = 0; i < depth; i++)
      assert_int_equal(lsys_ring_push(r, ITEM(next_in++)), LSYS_OK);
    if (depth == 4)
      assert_int_equal(lsys_ring_push(r, ITEM(next_in)), LSYS_EFULL);
    for (int i = 0; i < depth; i++) {
      assert_int_equal(lsys_ring_pop(r, &out), LSYS_OK);
      assert_ptr_equal(out, ITEM(next_out++));
    }
    assert_int_equal(lsys_ring_pop(r, &out), LSYS_RING_EMPTY);
  }
  assert_int_equal(lsys_ring_pushed(r), next_in - 1);
  lsys_ring_destroy(r);
}

#define PRODUCERS 4
#define CONSUMERS 2
#define PER_PRODUCER 200000u

struct mp {
  lsys_ring *ring;
  int id;
  atomic_int *done_producers;
  atomic_uchar *seen; /* PRODUCERS * PER_PRODUCER counters */
  atomic_uint *bad;
  int single_consumer;
};

/* Items are (producer << 24 | seq) + 1 so none is NULL. */
static void *produce(void *arg) {
  struct mp *m = arg;
  for (uintptr_t i = 0; i < PER_PRODUCER; i++) {
    void *item = ITEM((((uintptr_t)m->id << 24) | i) + 1);
    while (lsys_ring_push(m->ring, item) == LSYS_EFULL)
      sched_yield();
  }
  atomic_fetch_add(m->done_producers, 1);
  return NULL;
}

static void *consume(void *arg) {
  struct mp *m = arg;
  uintptr_t last[PRODUCERS];
  void *out;
  for (int p = 0; p < PRODUCERS; p++)
    last[p] = UINTPTR_MAX;
  for (;;) {
    if (lsys_ring_pop(m->ring, &out) != LSYS_OK) {
      if (atomic_load(m->done_producers) == PRODUCERS && lsys_ring_empty(m->ring))
        break;
      sched_yield();
      continue;
    }
    uintptr_t v = (uintptr_t)out - 1;
    uintptr_t p = v >> 24, i = v & 0xffffff;
    if (p >= PRODUCERS || i >= PER_PRODUCER) {
      atomic_fetch_add(m->bad, 1);
      continue;
    }
    /* With one consumer each producer's items come out in its order. */
    if (m->single_consumer && last[p] != UINTPTR_MAX && i != last[p] + 1)
      atomic_fetch_add(m->bad, 1);
    last[p] = i;
    atomic_fetch_add(&m->seen[p * PER_PRODUCER + i], 1);
  }
  return NULL;
}

static void run_mpmc(int consumers) {
  pthread_t pt[PRODUCERS], ct[CONSUMERS];
  struct mp pm[PRODUCERS], cm;
  atomic_int done = 0;
  atomic_uint bad = 0;
  atomic_uchar *seen = calloc((size_t)PRODUCERS * PER_PRODUCER, sizeof *seen);
  lsys_ring *r;

  assert_non_null(seen);
  assert_int_equal(lsys_ring_create(&r, 1024), LSYS_OK);
  cm = (struct mp){r, 0, &done, seen, &bad, consumers == 1};
  for (int c = 0; c < consumers; c++)
    assert_int_equal(pthread_create(&ct[c], NULL, consume, &cm), 0);
  for (int p = 0; p < PRODUCERS; p++) {
    pm[p] = cm;
    pm[p].id = p;
    assert_int_equal(pthread_create(&pt[p], NULL, produce, &pm[p]), 0);
  }
  for (int p = 0; p < PRODUCERS; p++)
    pthread_join(pt[p], NULL);
  for (int c = 0; c < consumers; c++)
    pthread_join(ct[c], NULL);
  assert_int_equal(atomic_load(&bad), 0);
  for (size_t k = 0; k < (size_t)PRODUCERS * PER_PRODUCER; k++)
    if (atomic_load(&seen[k]) != 1)
      fail_msg("item %zu popped %d times", k, (int)atomic_load(&seen[k]));
  assert_int_equal(lsys_ring_pushed(r), (uint64_t)PRODUCERS * PER_PRODUCER);
  lsys_ring_destroy(r);
  free(seen);
}

static void test_multi_producer_single_consumer(void **state) {
  (void)state;
  run_mpmc(1);
}

static void test_multi_producer_multi_consumer(void **state) {
  (void)state;
  run_mpmc(CONSUMERS);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_create_rounds_up),
      cmocka_unit_test(test_order_and_full),
      cmocka_unit_test(test_wrap_around),
      cmocka_unit_test(test_multi_producer_single_consumer),
      cmocka_unit_test(test_multi_producer_multi_consumer),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
