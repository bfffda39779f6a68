/* worker_metrics.h - logsys-worker's counters in a metrics registry, rendered
 * by GET /metrics on the admin endpoint (SPEC section 7) and read back for the
 * status line.
 *
 * The registry always exists (also without LOGSYS_ADMIN_ADDR), so the status
 * line and /metrics tell the same numbers. Handles are owned by the registry;
 * they are bumped by the worker thread and read by the admin thread. Label
 * values are queue and sink names, never secrets. */
#ifndef LSYS_WORKER_METRICS_H
#define LSYS_WORKER_METRICS_H

#include <stddef.h>

#include "delivery.h"
#include "metrics.h"
#include "status.h"

/* What became of a message taken from the queue. */
typedef enum lsys_worker_result {
  LSYS_WR_DELIVERED = 0, /* delivered and acknowledged */
  LSYS_WR_DUPLICATE,     /* acknowledged without delivery (seen within the window) */
  LSYS_WR_RETRIED,       /* moved to {queue}.retry */
  LSYS_WR_DEAD_LETTERED, /* moved to {queue}.dlq */
  LSYS_WR_REQUEUED,      /* handed back unprocessed (shutdown, nack) */
  LSYS_WR_ABANDONED,     /* its connection was lost: the broker redelivers it */
  LSYS_WR_COUNT
} lsys_worker_result;

typedef struct lsys_worker_metrics {
  lsys_metrics *reg; /* owned */
  lsys_counter *received;
  lsys_counter *results[LSYS_WR_COUNT];
  lsys_counter *deliveries[3];   /* by lsys_outcome: ok, retry, permanent */
  lsys_histogram *delivery_seconds;
  lsys_gauge *in_flight, *connected;
  lsys_gauge *depth_ready, *depth_retry, *depth_dlq;
  /* Mirrors of the deliverer's own counters (lsys_delivery_stats). */
  lsys_counter *tg_429, *collapsed, *rate_limited_waits, *http_requests;
  lsys_delivery_stats seen; /* what was already added from the deliverer */
} lsys_worker_metrics;

/* lsys_worker_metrics_init registers the worker's metrics for queue and its
 * retry and DLQ queues (names from t) and sink kind. On failure returns an
 * LSYS_E* code with a message in err; m is then still safe to pass to _fini. */
int lsys_worker_metrics_init(lsys_worker_metrics *m, lsys_sink_kind kind, const char *queue,
                             const char *retry, const char *dlq, char *err, size_t errlen);

/* lsys_worker_metrics_result counts one message's result. */
void lsys_worker_metrics_result(lsys_worker_metrics *m, lsys_worker_result r);

/* lsys_worker_metrics_delivery adds what the deliverer counted since the last
 * call (Telegram 429s, collapsed repeats, rate-limit waits, HTTP requests). */
void lsys_worker_metrics_delivery(lsys_worker_metrics *m, const lsys_delivery_stats *st);

/* lsys_worker_metrics_snapshot reads the counters into *out (for the status line). */
void lsys_worker_metrics_snapshot(const lsys_worker_metrics *m, lsys_worker_stats *out);

/* lsys_worker_metrics_fini frees the registry; the handles become invalid. */
void lsys_worker_metrics_fini(lsys_worker_metrics *m);

#endif
