/* jobqueue.h - the hand-off from nng's callback threads to the publisher thread.
 *
 * A bounded FIFO of pointers with a blocking, timed pop. Its capacity is the
 * number of ingest contexts, each of which has at most one request outstanding,
 * so a push never finds it full in normal operation. The queue does not own
 * the items. */
#ifndef LSYS_JOBQUEUE_H
#define LSYS_JOBQUEUE_H

#include <stddef.h>

typedef struct lsys_jobq lsys_jobq;

/* lsys_jobq_create makes a queue for capacity items; *out written on success. */
int lsys_jobq_create(lsys_jobq **out, size_t capacity);

/* lsys_jobq_push appends item; never blocks. Returns LSYS_EFULL when full. */
int lsys_jobq_push(lsys_jobq *q, void *item);

/* lsys_jobq_pop removes the oldest item into *item, waiting up to timeout_ms
 * (0: do not wait). Returns LSYS_OK or LSYS_ETIMEDOUT. */
int lsys_jobq_pop(lsys_jobq *q, void **item, int timeout_ms);

/* lsys_jobq_len returns the number of items queued now. */
size_t lsys_jobq_len(lsys_jobq *q);

/* lsys_jobq_destroy frees q (not the items); NULL is allowed. */
void lsys_jobq_destroy(lsys_jobq *q);

#endif
