/* worker.h - logsys-worker's loop (SPEC section 6): consume {queue} with a
 * prefetch window, hand bodies to the deliverer, acknowledge after delivery,
 * move failures to {queue}.retry / {queue}.dlq (acknowledging the original
 * only once the copy is confirmed), suppress duplicates, reconnect with
 * backoff, print status lines, drain on SIGTERM/SIGINT.
 *
 * Everything runs on the calling thread, which owns the AMQP connection and
 * the deliverer: the loop alternates between reading AMQP frames and driving
 * HTTP transfers, never blocking outside library calls for more than a few
 * milliseconds, so heartbeats are answered. */
#ifndef LSYS_WORKER_H
#define LSYS_WORKER_H

#include <signal.h>
#include <stddef.h>

#include "config.h"
#include "delivery.h"
#include "metrics.h"
#include "status.h"

typedef struct lsys_worker lsys_worker;

/* lsys_worker_create prepares a worker of kind with cfg (which must outlive
 * it): queue names, deliverer, deduplication journal. Nothing is connected
 * yet. Returns LSYS_ECONFIG with a message in err for settings the worker
 * cannot run with (e.g. LOGSYS_LOGBEACON_URL missing, LOGSYS_DEDUP_DIR
 * unusable). *out is written only on success. */
int lsys_worker_create(lsys_worker **out, const lsys_config *cfg, lsys_sink_kind kind, char *err,
                       size_t errlen);

/* lsys_worker_run runs until one of stop_signals (blocked by the caller in
 * every thread) arrives and the drain ends. Returns 0 after a graceful stop,
 * 1 when the worker cannot go on (e.g. a queue declared incompatibly). */
int lsys_worker_run(lsys_worker *w, const sigset_t *stop_signals);

/* lsys_worker_counters copies w's counters into *out. */
void lsys_worker_counters(const lsys_worker *w, lsys_worker_stats *out);

/* lsys_worker_registry returns w's metrics registry (owned by w) for the
 * admin endpoint's /metrics. */
lsys_metrics *lsys_worker_registry(lsys_worker *w);

/* lsys_worker_healthy (healthz) returns LSYS_OK while the loop keeps turning,
 * else nonzero with the reason in why. Thread-safe: for the admin endpoint. */
int lsys_worker_healthy(lsys_worker *w, char *why, size_t len);

/* lsys_worker_ready (readyz) returns LSYS_OK while healthy and consuming (not
 * while connecting or draining), else nonzero with the reason in why.
 * Thread-safe. */
int lsys_worker_ready(lsys_worker *w, char *why, size_t len);

/* lsys_worker_destroy leaves whatever is unfinished unacknowledged (the
 * broker redelivers it), closes the connection and frees w; NULL is allowed. */
void lsys_worker_destroy(lsys_worker *w);

#endif
