/* status.h - the worker's counters and its periodic status line on stderr
 * (SPEC section 6: "prints queue depth and rates periodically"). */
#ifndef LSYS_STATUS_H
#define LSYS_STATUS_H

#include <stddef.h>
#include <stdint.h>

/* Counters of one worker process, bumped where the event happens (owner thread only). */
typedef struct lsys_worker_stats {
  uint64_t received;      /* messages taken from the queue */
  uint64_t delivered;     /* delivered and acknowledged */
  uint64_t duplicates;    /* acknowledged without delivery: seen within the window */
  uint64_t retried;       /* moved to {queue}.retry (confirmed) */
  uint64_t dead_lettered; /* moved to {queue}.dlq (confirmed) */
  uint64_t requeued;      /* handed back to the queue unprocessed (shutdown, nack) */
  uint64_t abandoned;     /* outcome known after the connection was lost: broker redelivers */
} lsys_worker_stats;

/* Queue depths from passive declares; known 0 when they could not be read. */
typedef struct lsys_status_depth {
  int known;
  uint32_t ready, consumers, retry, dlq;
} lsys_status_depth;

/* Rate of deliveries between two status lines. */
typedef struct lsys_status_rate {
  int64_t last_ms;
  uint64_t last_delivered;
} lsys_status_rate;

/* lsys_status_rate_update returns deliveries per second since the last call
 * (0 on the first) and remembers delivered and now_ms (monotonic). */
double lsys_status_rate_update(lsys_status_rate *r, uint64_t delivered, int64_t now_ms);

/* lsys_status_format writes one status line (no newline) into buf. */
void lsys_status_format(char *buf, size_t len, const char *queue, const lsys_status_depth *d,
                        const lsys_worker_stats *st, size_t in_flight, double rate);

#endif
