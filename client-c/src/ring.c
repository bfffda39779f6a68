/* ring.c - bounded lock-free MPMC queue (Dmitry Vyukov's algorithm).
 *
 * Slot i of lap L has sequence number:
 *   pos          - free, a producer holding ticket pos may fill it;
 *   pos + 1      - full, a consumer holding ticket pos may empty it;
 *   pos + size   - free again for the producer of the next lap.
 * Producers take tickets by compare-and-swap on enq, consumers on deq. A
 * producer that finds the slot still holding last lap's item sees a full ring;
 * a consumer that finds the slot not yet filled sees an empty one. The ticket
 * counters live on their own cache lines so producers and the consumer do not
 * bounce one line between cores. */
#include "ring.h"

#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>

#define CACHE_LINE 64

struct slot {
  atomic_size_t seq;
  void *item;
};

struct lsys_ring {
  alignas(CACHE_LINE) atomic_size_t enq; /* next producer ticket */
  alignas(CACHE_LINE) atomic_size_t deq; /* next consumer ticket */
  alignas(CACHE_LINE) size_t mask;       /* capacity - 1; read-only after create */
  struct slot *slots;
};

/* lsys_ring_create allocates the ring and numbers each slot for lap 0. */
int lsys_ring_create(lsys_ring **out, size_t capacity) {
  lsys_ring *r = NULL;
  size_t size = 2;

  if (out == NULL || capacity == 0 || capacity > LSYS_RING_MAX_CAPACITY)
    return LSYS_EINVAL;
  while (size < capacity)
    size <<= 1;
  r = aligned_alloc(CACHE_LINE, sizeof *r);
  if (r == NULL)
    goto fail;
  r->slots = malloc(size * sizeof *r->slots);
  if (r->slots == NULL)
    goto fail;
  r->mask = size - 1;
  for (size_t i = 0; i < size; i++) {
    atomic_init(&r->slots[i].seq, i);
    r->slots[i].item = NULL;
  }
  atomic_init(&r->enq, 0);
  atomic_init(&r->deq, 0);
  *out = r;
  return LSYS_OK;
fail:
  free(r);
  return LSYS_ENOMEM;
}

/* lsys_ring_destroy frees the slots and the ring, not the items. */
void lsys_ring_destroy(lsys_ring *r) {
  if (r == NULL)
    return;
  free(r->slots);
  free(r);
}

/* lsys_ring_push claims the producer ticket whose slot is free, then publishes
 * the item by advancing the slot's sequence (release: the consumer that sees
 * the new sequence also sees the item). */
int lsys_ring_push(lsys_ring *r, void *item) {
  struct slot *s;
  size_t pos;

  if (item == NULL)
    return LSYS_EINVAL;
  pos = atomic_load_explicit(&r->enq, memory_order_relaxed);
  for (;;) {
    s = &r->slots[pos & r->mask];
    size_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
    intptr_t diff = (intptr_t)seq - (intptr_t)pos;
    if (diff == 0) {
      if (atomic_compare_exchange_weak_explicit(&r->enq, &pos, pos + 1, memory_order_relaxed,
                                                memory_order_relaxed))
        break; /* ticket pos is ours; on failure pos was reloaded */
    } else if (diff < 0) {
      return LSYS_EFULL; /* the slot still holds last lap's item */
    } else {
      pos = atomic_load_explicit(&r->enq, memory_order_relaxed); /* overtaken */
    }
  }
  s->item = item;
  atomic_store_explicit(&s->seq, pos + 1, memory_order_release);
  return LSYS_OK;
}

/* lsys_ring_pop claims the consumer ticket whose slot is full, takes the item
 * and frees the slot for the producer one lap ahead. */
int lsys_ring_pop(lsys_ring *r, void **out) {
  struct slot *s;
  size_t pos;

  pos = atomic_load_explicit(&r->deq, memory_order_relaxed);
  for (;;) {
    s = &r->slots[pos & r->mask];
    size_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
    intptr_t diff = (intptr_t)seq - (intptr_t)(pos + 1);
    if (diff == 0) {
      if (atomic_compare_exchange_weak_explicit(&r->deq, &pos, pos + 1, memory_order_relaxed,
                                                memory_order_relaxed))
        break;
    } else if (diff < 0) {
      return LSYS_RING_EMPTY; /* not filled yet */
    } else {
      pos = atomic_load_explicit(&r->deq, memory_order_relaxed);
    }
  }
  *out = s->item;
  s->item = NULL;
  atomic_store_explicit(&s->seq, pos + r->mask + 1, memory_order_release);
  return LSYS_OK;
}

/* lsys_ring_empty looks at the next consumer slot without claiming it. */
int lsys_ring_empty(lsys_ring *r) {
  size_t pos = atomic_load_explicit(&r->deq, memory_order_relaxed);
  size_t seq = atomic_load_explicit(&r->slots[pos & r->mask].seq, memory_order_acquire);
  return (intptr_t)seq - (intptr_t)(pos + 1) < 0;
}

/* lsys_ring_capacity returns the slot count. */
size_t lsys_ring_capacity(const lsys_ring *r) {
  return r->mask + 1;
}

/* lsys_ring_pushed returns the producer ticket counter: every ticket taken is a
 * push that cannot fail any more. */
uint64_t lsys_ring_pushed(lsys_ring *r) {
  return (uint64_t)atomic_load_explicit(&r->enq, memory_order_acquire);
}
