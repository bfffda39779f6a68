/* pool.h - recycled memory blocks for records.
 *
 * Records are allocated by logging threads and freed by the sender thread. With
 * plain malloc/free, glibc returns the freed memory to the kernel (heap trim)
 * and the next records fault fresh pages in: a page fault every few records,
 * which dominates logsys_log()'s tail latency. The pool keeps freed blocks in
 * a few size classes (lock-free rings) and hands them out again. Blocks larger
 * than the largest class, or beyond a class's capacity, go straight to
 * malloc/free. */
#ifndef LSYS_POOL_H
#define LSYS_POOL_H

#include <stddef.h>

#include "errors.h"

typedef struct lsys_pool lsys_pool;

/* lsys_pool_create makes a pool keeping at most per_class free blocks in each
 * size class (256, 512, 1024 and 2048 bytes): at most 3840 * per_class bytes.
 * Sets *out on success only. Returns LSYS_OK, LSYS_EINVAL or LSYS_ENOMEM. */
int lsys_pool_create(lsys_pool **out, size_t per_class);

/* lsys_pool_destroy frees the pool and the blocks it keeps (NULL is fine). Blocks
 * handed out and not yet put back stay the caller's; free them with
 * lsys_pool_put(NULL, ...) or free(). */
void lsys_pool_destroy(lsys_pool *p);

/* lsys_pool_get returns a block of at least size bytes (NULL when out of
 * memory). Safe from any thread. The caller owns the block and gives it back
 * with lsys_pool_put and the same size. p may be NULL: plain malloc. */
void *lsys_pool_get(lsys_pool *p, size_t size);

/* lsys_pool_put takes back a block lsys_pool_get(p, size) returned (NULL is
 * fine), keeping it for reuse or freeing it. Safe from any thread. p may be
 * NULL: plain free. */
void lsys_pool_put(lsys_pool *p, void *block, size_t size);

#endif
