/* status.c - the worker's status line. */
#include "status.h"

#include <stdio.h>

double lsys_status_rate_update(lsys_status_rate *r, uint64_t delivered, int64_t now_ms) {
  double rate = 0;
  if (r->last_ms > 0 && now_ms > r->last_ms)
    rate = (double)(delivered - r->last_delivered) * 1000.0 / (double)(now_ms - r->last_ms);
  r->last_ms = now_ms;
  r->last_delivered = delivered;
  return rate;
}

void lsys_status_format(char *buf, size_t len, const char *queue, const lsys_status_depth *d,
                        const lsys_worker_stats *st, size_t in_flight, double rate) {
  char depth[160];
  if (d && d->known)
    snprintf(depth, sizeof depth, "depth %u (consumers %u, retry %u, dlq %u)", d->ready,
             d->consumers, d->retry, d->dlq);
  else
    snprintf(depth, sizeof depth, "depth unknown (not connected)");
  snprintf(buf, len,
           "logsys-worker: status: queue %s %s; delivered %llu, duplicates %llu, retried %llu, "
           "dead-lettered %llu, requeued %llu, in flight %zu, %.1f/s",
           queue, depth, (unsigned long long)st->delivered, (unsigned long long)st->duplicates,
           (unsigned long long)st->retried, (unsigned long long)st->dead_lettered,
           (unsigned long long)st->requeued, in_flight, rate);
}
