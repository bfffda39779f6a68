/* sidecar_metrics.h - the sidecar's counters, registered once at start-up in
 * a metrics registry (rendered by GET /metrics) and bumped where things happen.
 *
 * Handles are owned by the registry; a NULL handle counts nothing, so code may
 * bump them unconditionally. Label values never hold secrets. */
#ifndef LSYS_SIDECAR_METRICS_H
#define LSYS_SIDECAR_METRICS_H

#include <stddef.h>

#include "metrics.h"
#include "routing.h"

/* Why a record was answered "resend later". */
typedef enum lsys_retry_kind {
  LSYS_RETRY_UNAVAILABLE = 0, /* RabbitMQ down or lost before confirm */
  LSYS_RETRY_NACKED,          /* the broker nacked a copy */
  LSYS_RETRY_SPOOL_FULL,      /* resource exhausted: spool full */
  LSYS_RETRY_SHUTDOWN,        /* drain timeout ran out */
  LSYS_RETRY_KINDS
} lsys_retry_kind;

/* Which queue a copy went to. */
enum { LSYS_Q_LOGBEACON = 0, LSYS_Q_TG = 1, LSYS_Q_COUNT = 2 };

typedef struct lsys_sidecar_metrics {
  lsys_metrics *reg; /* owned */
  lsys_counter *requests_ok, *requests_malformed, *requests_too_large, *requests_unavailable;
  lsys_counter *received[LSYS_LEVEL_COUNT], *accepted[LSYS_LEVEL_COUNT];
  lsys_counter *rejected_unknown_level, *rejected_invalid;
  lsys_counter *retry[LSYS_RETRY_KINDS];
  lsys_counter *truncated, *repaired;
  lsys_counter *published[LSYS_Q_COUNT], *confirmed[LSYS_Q_COUNT], *unconfirmed[LSYS_Q_COUNT];
  lsys_histogram *confirm_latency;
  lsys_counter *client_dropped;
  lsys_counter *spooled, *replayed, *spool_rejected;
  lsys_gauge *spool_bytes, *spool_records;
  lsys_gauge *amqp_connected;
  /* Embedded mode and LOGSYS_FALLBACK=direct: deliveries by queue and outcome
   * (lsys_outcome: ok, retry, permanent) and dead letters. */
  lsys_counter *deliveries[LSYS_Q_COUNT][3];
  lsys_counter *dead_lettered[LSYS_Q_COUNT];
} lsys_sidecar_metrics;

/* lsys_sidecar_metrics_init registers every sidecar metric (labels from the
 * routing table and the two queue names). On failure returns an LSYS_E* code
 * with a message in err; sm is then still safe to pass to _fini. */
int lsys_sidecar_metrics_init(lsys_sidecar_metrics *sm, const lsys_route_table *routes,
                              const char *q_logbeacon, const char *q_tg, char *err, size_t errlen);

/* lsys_sidecar_metrics_level returns the row index of level for the per-level
 * counters, or -1. */
int lsys_sidecar_metrics_level(const lsys_route_table *routes, int level);

/* lsys_sidecar_metrics_summary writes a one-line summary for the exit log. */
void lsys_sidecar_metrics_summary(const lsys_sidecar_metrics *sm, char *buf, size_t len);

/* lsys_sidecar_metrics_fini frees the registry; the handles become invalid. */
void lsys_sidecar_metrics_fini(lsys_sidecar_metrics *sm);

#endif
