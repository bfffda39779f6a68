/* ring.h - a bounded lock-free multi-producer multi-consumer queue of pointers.
 *
 * Dmitry Vyukov's bounded MPMC queue: every slot carries a sequence number that
 * tells producers and consumers whose turn it is, so push and pop are a few
 * atomic operations and never make a system call. liblogsys uses it with many
 * producers (logsys_log() on any thread) and one consumer (the sender thread).
 *
 * The ring stores pointers only; it never owns or frees what they point to. */
#ifndef LSYS_RING_H
#define LSYS_RING_H

#include <stddef.h>
#include <stdint.h>

#include "errors.h"

/* lsys_ring_pop's "nothing there" status: not an error, so outside LSYS_E*. */
#define LSYS_RING_EMPTY (-1)

/* The largest capacity lsys_ring_create accepts (2^30 slots, 16 GiB of slots). */
#define LSYS_RING_MAX_CAPACITY ((size_t)1 << 30)

typedef struct lsys_ring lsys_ring;

/* lsys_ring_create makes an empty ring of at least capacity slots (rounded up to a
 * power of two, and to at least 2). Sets *out on success only.
 * Returns LSYS_OK, LSYS_EINVAL (capacity 0 or above LSYS_RING_MAX_CAPACITY) or
 * LSYS_ENOMEM. */
int lsys_ring_create(lsys_ring **out, size_t capacity);

/* lsys_ring_destroy frees the ring (NULL is fine). Items still queued are not
 * freed: pop them first if they own memory. No thread may use the ring during
 * or after the call. */
void lsys_ring_destroy(lsys_ring *r);

/* lsys_ring_push appends item (which must not be NULL). Safe from any number of
 * threads at once; lock-free, no system call. The ring borrows item until it is
 * popped. Returns LSYS_OK, LSYS_EFULL (ring full, item not queued) or LSYS_EINVAL. */
int lsys_ring_push(lsys_ring *r, void *item);

/* lsys_ring_pop removes the oldest item into *out. Safe from any number of
 * threads at once. The caller owns the returned item.
 * Returns LSYS_OK, or LSYS_RING_EMPTY (nothing ready; *out untouched). */
int lsys_ring_pop(lsys_ring *r, void **out);

/* lsys_ring_empty reports whether a pop would find nothing right now; a hint
 * for a single consumer deciding whether to sleep. */
int lsys_ring_empty(lsys_ring *r);

/* lsys_ring_capacity returns the number of slots (a power of two). */
size_t lsys_ring_capacity(const lsys_ring *r);

/* lsys_ring_pushed returns how many pushes have succeeded (or are committed and
 * completing on another thread) since creation: a free "records logged" counter. */
uint64_t lsys_ring_pushed(lsys_ring *r);

#endif
