/* worker_metrics.c - registration and read-back of the worker's metrics. */
#include "worker_metrics.h"

#include <stdio.h>
#include <string.h>

#include "errors.h"

int lsys_worker_metrics_init(lsys_worker_metrics *m, lsys_sink_kind kind, const char *queue,
                             const char *retry, const char *dlq, char *err, size_t errlen) {
  static const char *const results[LSYS_WR_COUNT] = {"delivered",     "duplicate", "retried",
                                                     "dead_lettered", "requeued",  "abandoned"};
  static const char *const outcomes[3] = {"ok", "retry", "permanent"};
  const char *sink = kind == LSYS_SINK_KIND_TELEGRAM ? "telegram" : "logbeacon";
  int rc;

  memset(m, 0, sizeof *m);
  if ((rc = lsys_metrics_create(&m->reg)) != LSYS_OK) {
    snprintf(err, errlen, "out of memory");
    return rc;
  }
  m->received = lsys_metrics_counter(m->reg, "logsys_worker_received_total",
                                     "Messages taken from the queue", LSYS_LABELS("queue", queue));
  for (int r = 0; r < LSYS_WR_COUNT; r++)
    m->results[r] = lsys_metrics_counter(
        m->reg, "logsys_worker_messages_total",
        "Messages settled, by result (delivered, duplicate, retried, dead_lettered, requeued, "
        "abandoned)",
        LSYS_LABELS("queue", queue, "result", results[r]));
  for (int o = 0; o < 3; o++)
    m->deliveries[o] =
        lsys_metrics_counter(m->reg, "logsys_deliveries_total",
                             "Deliveries to the sinks by sink and outcome",
                             LSYS_LABELS("sink", sink, "outcome", outcomes[o]));
  m->delivery_seconds = lsys_metrics_histogram(
      m->reg, "logsys_delivery_seconds", "Time from handing a message to the sink to its outcome",
      LSYS_LABELS("sink", sink), lsys_metrics_latency_bounds, LSYS_METRICS_LATENCY_BOUNDS_N);
  m->in_flight = lsys_metrics_gauge(m->reg, "logsys_worker_in_flight",
                                    "Messages held (unacknowledged) by the worker", NULL);
  m->connected = lsys_metrics_gauge(m->reg, "logsys_amqp_connected",
                                    "1 while connected to RabbitMQ and consuming", NULL);
  m->depth_ready = lsys_metrics_gauge(m->reg, "logsys_queue_messages",
                                      "Ready messages in the queue at the last status check",
                                      LSYS_LABELS("queue", queue));
  m->depth_retry = lsys_metrics_gauge(m->reg, "logsys_queue_messages",
                                      "Ready messages in the queue at the last status check",
                                      LSYS_LABELS("queue", retry));
  m->depth_dlq = lsys_metrics_gauge(m->reg, "logsys_queue_messages",
                                    "Ready messages in the queue at the last status check",
                                    LSYS_LABELS("queue", dlq));
  m->tg_429 = lsys_metrics_counter(m->reg, "logsys_telegram_429_total",
                                   "429 Too Many Requests answers from Telegram (waited out)", NULL);
  m->collapsed = lsys_metrics_counter(m->reg, "logsys_telegram_collapsed_total",
                                      "Notifications folded into a repeat-count summary", NULL);
  m->rate_limited_waits = lsys_metrics_counter(
      m->reg, "logsys_rate_limited_waits_total",
      "Sends that waited for a rate-limit window or a 429 block", LSYS_LABELS("sink", sink));
  m->http_requests = lsys_metrics_counter(m->reg, "logsys_http_requests_total",
                                          "HTTP requests made to the sink (one per Telegram part)",
                                          LSYS_LABELS("sink", sink));
  if ((rc = lsys_metrics_build_info(m->reg, "logsys-worker")) != LSYS_OK) {
    snprintf(err, errlen, "cannot register logsys_build_info");
    return rc;
  }
  return lsys_metrics_check(m->reg, err, errlen);
}

void lsys_worker_metrics_result(lsys_worker_metrics *m, lsys_worker_result r) {
  lsys_counter_add(m->results[r], 1);
}

void lsys_worker_metrics_delivery(lsys_worker_metrics *m, const lsys_delivery_stats *st) {
  lsys_counter_add(m->tg_429, st->tg_429 - m->seen.tg_429);
  lsys_counter_add(m->collapsed, st->collapsed - m->seen.collapsed);
  lsys_counter_add(m->rate_limited_waits, st->rate_limited_waits - m->seen.rate_limited_waits);
  lsys_counter_add(m->http_requests, st->requests - m->seen.requests);
  m->seen = *st;
}

void lsys_worker_metrics_snapshot(const lsys_worker_metrics *m, lsys_worker_stats *out) {
  memset(out, 0, sizeof *out);
  out->received = lsys_counter_value(m->received);
  out->delivered = lsys_counter_value(m->results[LSYS_WR_DELIVERED]);
  out->duplicates = lsys_counter_value(m->results[LSYS_WR_DUPLICATE]);
  out->retried = lsys_counter_value(m->results[LSYS_WR_RETRIED]);
  out->dead_lettered = lsys_counter_value(m->results[LSYS_WR_DEAD_LETTERED]);
  out->requeued = lsys_counter_value(m->results[LSYS_WR_REQUEUED]);
  out->abandoned = lsys_counter_value(m->results[LSYS_WR_ABANDONED]);
}

void lsys_worker_metrics_fini(lsys_worker_metrics *m) {
  lsys_metrics_destroy(m->reg);
  memset(m, 0, sizeof *m);
}
