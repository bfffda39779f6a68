/* pool.c - size-classed free lists on lock-free rings. */
#include "pool.h"

#include <stdlib.h>

#include "ring.h"

#define CLASSES 4
#define SMALLEST 256 /* class k holds blocks of SMALLEST << k bytes */

struct lsys_pool {
  lsys_ring *free[CLASSES];
};

/* class_of returns the class for size, or -1 when it is too big for any. */
static int class_of(size_t size) {
  for (int k = 0; k < CLASSES; k++)
    if (size <= (size_t)SMALLEST << k)
      return k;
  return -1;
}

/* lsys_pool_create makes one ring per class; lsys_pool_destroy undoes a
 * partial build. */
int lsys_pool_create(lsys_pool **out, size_t per_class) {
  lsys_pool *p;
  int rc = LSYS_OK;

  if (out == NULL || per_class == 0)
    return LSYS_EINVAL;
  p = calloc(1, sizeof *p);
  if (p == NULL)
    return LSYS_ENOMEM;
  for (int k = 0; k < CLASSES && rc == LSYS_OK; k++)
    rc = lsys_ring_create(&p->free[k], per_class);
  if (rc != LSYS_OK) {
    lsys_pool_destroy(p);
    return rc;
  }
  *out = p;
  return LSYS_OK;
}

/* lsys_pool_destroy drains and frees every class. */
void lsys_pool_destroy(lsys_pool *p) {
  void *block;
  if (p == NULL)
    return;
  for (int k = 0; k < CLASSES; k++) {
    if (p->free[k] == NULL)
      continue;
    while (lsys_ring_pop(p->free[k], &block) == LSYS_OK)
      free(block);
    lsys_ring_destroy(p->free[k]);
  }
  free(p);
}

/* lsys_pool_get reuses a block of the size's class, or allocates a whole
 * class-sized block so it can serve any size of its class later. */
void *lsys_pool_get(lsys_pool *p, size_t size) {
  int k = class_of(size);
  void *block;
  if (p == NULL || k < 0)
    return malloc(size);
  if (lsys_ring_pop(p->free[k], &block) == LSYS_OK)
    return block;
  return malloc((size_t)SMALLEST << k);
}

/* lsys_pool_put keeps the block while its class has room. */
void lsys_pool_put(lsys_pool *p, void *block, size_t size) {
  int k = class_of(size);
  if (block == NULL)
    return;
  if (p == NULL || k < 0 || lsys_ring_push(p->free[k], block) != LSYS_OK)
    free(block);
}
