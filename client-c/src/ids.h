/* ids.h - log_id generation: keys unique per record across processes and restarts.
 *
 * A generator takes 64 random bits (getrandom, mixed with the pid and the time)
 * once, at creation; each id is that prefix followed by a per-generator counter,
 * as 32 lowercase hex digits (16 prefix + 16 counter). Making an id is one atomic
 * increment and no system call. Two generators, in one process or in two, differ
 * in their prefix with probability 1 - 2^-64.
 *
 * A generator must not be used in a child after fork(): the child would repeat
 * the parent's ids (liblogsys clients do not survive fork anyway: the sender
 * thread is gone in the child). */
#ifndef LSYS_IDS_H
#define LSYS_IDS_H

#include "errors.h"

/* Length of an id in characters, without the terminating NUL. */
#define LSYS_ID_LEN 32

typedef struct lsys_ids lsys_ids;

/* lsys_ids_create makes a generator with a fresh random prefix. Sets *out on
 * success only. Returns LSYS_OK, LSYS_EINVAL or LSYS_ENOMEM. When the kernel
 * gives no random bytes the prefix still mixes pid, clock and address. */
int lsys_ids_create(lsys_ids **out);

/* lsys_ids_destroy frees the generator (NULL is fine). */
void lsys_ids_destroy(lsys_ids *g);

/* lsys_ids_next writes the next id and a NUL into out (LSYS_ID_LEN + 1 bytes).
 * Safe from any number of threads at once; ids of one generator are never repeated
 * (until its 64-bit counter wraps) and sort in the order they were made. */
void lsys_ids_next(lsys_ids *g, char out[LSYS_ID_LEN + 1]);

#endif
