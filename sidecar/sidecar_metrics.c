/* sidecar_metrics.c - registration of the sidecar's metrics. */
#include "sidecar_metrics.h"

#include <stdio.h>
#include <string.h>

#include "errors.h"

static const char *const retry_kind_names[LSYS_RETRY_KINDS] = {"unavailable", "nacked",
                                                               "spool_full", "shutdown"};

/* sum adds the counters of an array. */
static unsigned long long sum(lsys_counter *const *c, size_t n) {
  unsigned long long s = 0;
  for (size_t i = 0; i < n; i++)
    s += lsys_counter_value(c[i]);
  return s;
}

int lsys_sidecar_metrics_init(lsys_sidecar_metrics *sm, const lsys_route_table *routes,
                              const char *q_logbeacon, const char *q_tg, char *err, size_t errlen) {
  lsys_metrics *m = NULL;
  const char *queues[LSYS_Q_COUNT] = {q_logbeacon, q_tg};
  int rc;

  memset(sm, 0, sizeof *sm);
  if ((rc = lsys_metrics_create(&m)) != LSYS_OK) {
    snprintf(err, errlen, "out of memory");
    return rc;
  }
  sm->reg = m;
#define REQ(field, status)                                                                         \
  sm->field = lsys_metrics_counter(m, "logsys_requests_total", "Client requests by outcome",      \
                                   LSYS_LABELS("status", status))
  REQ(requests_ok, "ok");
  REQ(requests_malformed, "malformed");
  REQ(requests_too_large, "too_large");
  REQ(requests_unavailable, "unavailable");
#undef REQ
  for (int i = 0; i < LSYS_LEVEL_COUNT; i++) {
    const char *lv = routes->rows[i].name;
    sm->received[i] = lsys_metrics_counter(m, "logsys_records_received_total",
                                           "Records received from clients, by level",
                                           LSYS_LABELS("level", lv));
    sm->accepted[i] = lsys_metrics_counter(
        m, "logsys_records_accepted_total",
        "Records durably accepted (all copies confirmed or spooled), by level",
        LSYS_LABELS("level", lv));
  }
  sm->rejected_unknown_level =
      lsys_metrics_counter(m, "logsys_records_rejected_total", "Records rejected, by reason",
                           LSYS_LABELS("reason", "unknown_level"));
  sm->rejected_invalid =
      lsys_metrics_counter(m, "logsys_records_rejected_total", "Records rejected, by reason",
                           LSYS_LABELS("reason", "invalid_log_id"));
  for (int k = 0; k < LSYS_RETRY_KINDS; k++)
    sm->retry[k] = lsys_metrics_counter(m, "logsys_records_retry_total",
                                        "Records answered 'resend later' (the client keeps them)",
                                        LSYS_LABELS("reason", retry_kind_names[k]));
  sm->truncated = lsys_metrics_counter(m, "logsys_records_truncated_total",
                                       "Records with a field cut at LOGSYS_MAX_FIELD_BYTES", NULL);
  sm->repaired = lsys_metrics_counter(m, "logsys_records_utf8_repaired_total",
                                      "Records whose invalid UTF-8 was replaced by U+FFFD", NULL);
  for (int q = 0; q < LSYS_Q_COUNT; q++) {
    sm->published[q] = lsys_metrics_counter(m, "logsys_published_total",
                                            "Messages published to RabbitMQ, by queue",
                                            LSYS_LABELS("queue", queues[q]));
    sm->confirmed[q] = lsys_metrics_counter(m, "logsys_confirmed_total",
                                            "Messages confirmed by RabbitMQ, by queue",
                                            LSYS_LABELS("queue", queues[q]));
    sm->unconfirmed[q] = lsys_metrics_counter(
        m, "logsys_unconfirmed_total",
        "Messages nacked or lost with the connection before their confirm, by queue",
        LSYS_LABELS("queue", queues[q]));
  }
  sm->confirm_latency = lsys_metrics_histogram(
      m, "logsys_confirm_latency_seconds",
      "Time from publishing a request's first copy to the confirm of its last", NULL,
      lsys_metrics_latency_bounds, LSYS_METRICS_LATENCY_BOUNDS_N);
  sm->client_dropped = lsys_metrics_counter(
      m, "logsys_client_dropped_total",
      "Records clients dropped because their buffer was full (as the clients report)", NULL);
  sm->spooled = lsys_metrics_counter(m, "logsys_spooled_total", "Messages written to the spool", NULL);
  sm->replayed = lsys_metrics_counter(m, "logsys_replayed_total",
                                      "Spooled messages published and confirmed", NULL);
  sm->spool_rejected = lsys_metrics_counter(m, "logsys_spool_full_total",
                                            "Messages refused because the spool was full", NULL);
  sm->spool_bytes = lsys_metrics_gauge(m, "logsys_spool_bytes", "Bytes in the spool", NULL);
  sm->spool_records = lsys_metrics_gauge(m, "logsys_spool_records", "Messages in the spool", NULL);
  static const char *const sinks[LSYS_Q_COUNT] = {"logbeacon", "telegram"};
  static const char *const outcomes[3] = {"ok", "retry", "permanent"};
  for (int q = 0; q < LSYS_Q_COUNT; q++) {
    for (int o = 0; o < 3; o++)
      sm->deliveries[q][o] = lsys_metrics_counter(
          m, "logsys_deliveries_total", "Deliveries to the sinks by sink and outcome",
          LSYS_LABELS("sink", sinks[q], "outcome", outcomes[o]));
    sm->dead_lettered[q] = lsys_metrics_counter(m, "logsys_dead_lettered_total",
                                                "Messages given up on (permanent or out of attempts)",
                                                LSYS_LABELS("sink", sinks[q]));
  }
  sm->amqp_connected = lsys_metrics_gauge(m, "logsys_amqp_connected",
                                          "1 while connected to RabbitMQ", NULL);
  if ((rc = lsys_metrics_build_info(m, "logsysd")) != LSYS_OK ||
      (rc = lsys_metrics_check(m, err, errlen)) != LSYS_OK)
    return rc;
  return LSYS_OK;
}

int lsys_sidecar_metrics_level(const lsys_route_table *routes, int level) {
  for (int i = 0; i < LSYS_LEVEL_COUNT; i++)
    if (routes->rows[i].level == level)
      return i;
  return -1;
}

void lsys_sidecar_metrics_summary(const lsys_sidecar_metrics *sm, char *buf, size_t len) {
  snprintf(buf, len,
           "records received %llu, accepted %llu, rejected %llu, resend-later %llu, truncated %llu, "
           "utf8-repaired %llu; published %llu, confirmed %llu, unconfirmed %llu; spooled %llu, "
           "replayed %llu",
           sum(sm->received, LSYS_LEVEL_COUNT), sum(sm->accepted, LSYS_LEVEL_COUNT),
           (unsigned long long)(lsys_counter_value(sm->rejected_unknown_level) +
                                lsys_counter_value(sm->rejected_invalid)),
           sum(sm->retry, LSYS_RETRY_KINDS), (unsigned long long)lsys_counter_value(sm->truncated),
           (unsigned long long)lsys_counter_value(sm->repaired), sum(sm->published, LSYS_Q_COUNT),
           sum(sm->confirmed, LSYS_Q_COUNT), sum(sm->unconfirmed, LSYS_Q_COUNT),
           (unsigned long long)lsys_counter_value(sm->spooled),
           (unsigned long long)lsys_counter_value(sm->replayed));
}

void lsys_sidecar_metrics_fini(lsys_sidecar_metrics *sm) {
  lsys_metrics_destroy(sm->reg);
  memset(sm, 0, sizeof *sm);
}
