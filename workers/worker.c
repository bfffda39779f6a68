/* worker.c - the consume / deliver / settle loop of logsys-worker.
 *
 * A message moves through the worker's lists:
 *
 *   admit ──▶ delivering ──▶ done ──▶ acked (OK, or a duplicate from admit)
 *     │  ▲                    └────▶ publishing ──▶ settled ──▶ original acked
 *     ▼  │ (twin finished)           (copy to .retry or .dlq awaiting its confirm)
 *   blocked
 *
 * admit: received, waiting for a free delivery slot; a key recorded within the
 * window is acked as a duplicate here, and a message whose twin (same key) is
 * being delivered waits in blocked until the twin's outcome is known.
 * Callbacks (AMQP frames, delivery outcomes) only move jobs between lists;
 * process() does the AMQP writes afterwards, outside any library callback.
 *
 * Every connection has an epoch. A delivery tag is void on any other
 * connection, so after a reconnect the jobs of the old one are dropped (the
 * broker redelivers them) except those already handed to the deliverer: they
 * run to the end, and a success is still recorded for deduplication. */
#include "worker.h"

#include <errno.h>
#include <stdatomic.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "amqp_session.h"
#include "backoff.h"
#include "clock.h"
#include "dedup.h"
#include "errors.h"
#include "job.h"
#include "retry.h"
#include "topology.h"
#include "worker_metrics.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 10000
#define IDLE_WAIT_MS 50     /* nothing to deliver: block in the AMQP read this long */
#define DELIVER_WAIT_MS 5   /* deliveries running: give transfers this long per turn */
#define DLQ_LOG_PER_MINUTE 20
#define STALL_MS 30000     /* healthz fails when the loop has not turned this long */

struct lsys_worker {
  const lsys_config *cfg;
  lsys_sink_kind kind;
  lsys_topology topo;
  char masked_url[512];
  lsys_deliverer *deliverer;
  lsys_dedup *dedup;
  lsys_amqp *amqp;
  unsigned epoch;
  int lost;             /* the connection failed inside process(): drop it */
  char lost_why[320];
  int fatal;            /* cannot go on (topology conflict) */
  int reconnects; /* failed connection attempts in a row */
  int64_t next_attempt_ms;
  int draining, closing;
  int64_t drain_deadline_ms;
  lsys_job_list admit, blocked, delivering, done, publishing, settled;
  lsys_worker_metrics m;
  _Atomic int64_t loop_ms; /* for healthz (read on the admin thread) */
  atomic_int consuming;    /* for readyz */
  lsys_status_rate rate;
  int64_t next_status_ms;
  int journal_warned;
  unsigned dlq_logged;  /* DLQ events in the current minute */
  int64_t dlq_window_ms; /* when that minute began */
};

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* held returns the number of messages the worker holds (the prefetch in use). */
static size_t held(const lsys_worker *w) {
  return w->admit.n + w->blocked.n + w->delivering.n + w->done.n + w->publishing.n +
         w->settled.n;
}

/* lose records that the connection failed (first reason wins); process()
 * drops it at its end. */
static void lose(lsys_worker *w, const char *what) {
  if (!w->lost) {
    const char *why = w->amqp ? lsys_amqp_error(w->amqp) : "";
    snprintf(w->lost_why, sizeof w->lost_why, "%s%s%s", what, *why ? ": " : "", why);
  }
  w->lost = 1;
}

/* ---------------------------------------------------------------- AMQP events */

/* on_message takes a delivered message into admit. */
static void on_message(void *arg, lsys_amqp_msg *m) {
  lsys_worker *w = arg;
  lsys_job *j = NULL;
  char message_id[LSYS_DEDUP_KEY_MAX];
  long long attempts = 0;
  size_t len = 0;
  const char *body = lsys_amqp_msg_body(m, &len);

  if (lsys_job_create(&j, m, w->epoch) != LSYS_OK) {
    lsys_amqp_msg_free(m); /* unacked: the broker redelivers it after a reconnect */
    lose(w, "out of memory");
    return;
  }
  lsys_counter_add(w->m.received, 1);
  int has = lsys_amqp_msg_header_int(m, "x-attempts", &attempts);
  j->attempt = lsys_retry_attempt(has, attempts);
  if (w->cfg->dedup_window_s > 0) {
    int has_id = lsys_amqp_msg_message_id(m, message_id, sizeof message_id);
    j->has_key = lsys_dedup_make_key(w->kind == LSYS_SINK_KIND_LOGBEACON ? "logbeacon" : NULL,
                                     has_id ? message_id : NULL, body, len, j->key, sizeof j->key);
  }
  lsys_job_push(&w->admit, j);
}

/* on_confirm settles the retry/DLQ copies covered by a publisher confirm. */
static void on_confirm(void *arg, uint64_t tag, int multiple, int ack) {
  lsys_worker *w = arg;
  lsys_job *j = w->publishing.head, *next;
  for (; j; j = next) {
    next = j->next;
    if (j->publish_tag == tag || (multiple && j->publish_tag < tag)) {
      j->confirmed = ack;
      lsys_job_remove(&w->publishing, j);
      lsys_job_push(&w->settled, j);
    } else if (j->publish_tag > tag) {
      break; /* publishing is in tag order */
    }
  }
}

/* on_cancelled: the broker dropped our consumer (queue deleted): reconnect,
 * which declares the queues again. */
static void on_cancelled(void *arg) { lose(arg, "the broker cancelled the consumer"); }

/* ---------------------------------------------------------------- delivery */

static void finish(lsys_worker *w, lsys_job *j);

/* on_delivered records a delivery outcome and releases the job's twins. */
static void on_delivered(void *arg, void *token, const lsys_delivery_result *r) {
  lsys_worker *w = arg;
  lsys_job *j = token, *b, *prev;
  j->result = *r;
  lsys_job_remove(&w->delivering, j);
  if (r->outcome >= LSYS_OUTCOME_OK && r->outcome <= LSYS_OUTCOME_PERMANENT)
    lsys_counter_add(w->m.deliveries[r->outcome], 1);
  lsys_histogram_observe(w->m.delivery_seconds, (double)(lsys_clock_ms() - j->submitted_ms) / 1000.0);
  if (w->closing) { /* deliverer being destroyed: ack what was delivered, leave the rest */
    if (r->outcome == LSYS_OUTCOME_OK)
      finish(w, j);
    else
      lsys_job_free(j);
    return;
  }
  lsys_job_push(&w->done, j);
  /* Twins go back to the front of admit, oldest first; by then done is handled. */
  for (b = w->blocked.tail; b; b = prev) {
    prev = b->prev;
    if (b->blocker == j) {
      b->blocker = NULL;
      lsys_job_remove(&w->blocked, b);
      lsys_job_push_front(&w->admit, b);
    }
  }
}

/* settle_ack acknowledges j's message (on its connection) and frees j. */
static void settle_ack(lsys_worker *w, lsys_job *j) {
  if (j->epoch == w->epoch && w->amqp &&
      lsys_amqp_ack(w->amqp, lsys_amqp_msg_tag(j->msg), 0) != LSYS_OK)
    lose(w, "ack failed");
  lsys_job_free(j);
}

/* settle_requeue hands j's message back to the queue and frees j. */
static void settle_requeue(lsys_worker *w, lsys_job *j) {
  if (j->epoch == w->epoch && w->amqp &&
      lsys_amqp_reject(w->amqp, lsys_amqp_msg_tag(j->msg), 1) != LSYS_OK)
    lose(w, "reject failed");
  lsys_worker_metrics_result(&w->m, LSYS_WR_REQUEUED);
  lsys_job_free(j);
}

/* log_dlq says on stderr why a message went to the DLQ: at most
 * DLQ_LOG_PER_MINUTE lines a minute, then how many were not shown. */
static void log_dlq(lsys_worker *w, const lsys_job *j, const char *reason) {
  int64_t now = lsys_clock_ms();
  if (now - w->dlq_window_ms >= 60000) {
    if (w->dlq_logged > DLQ_LOG_PER_MINUTE)
      fprintf(stderr, "logsys-worker: %u more messages went to %s (lines not shown)\n",
              w->dlq_logged - DLQ_LOG_PER_MINUTE, w->topo.dlq);
    w->dlq_logged = 0;
    w->dlq_window_ms = now;
  }
  if (w->dlq_logged++ >= DLQ_LOG_PER_MINUTE)
    return;
  fprintf(stderr, "logsys-worker: to %s after %d attempt%s%s%s: %s\n", w->topo.dlq, j->attempt,
          j->attempt == 1 ? "" : "s", j->has_key ? ", key " : "", j->has_key ? j->key : "",
          reason);
}

/* publish_failure copies a failed message to {queue}.retry or {queue}.dlq;
 * the original is acked when the copy's confirm arrives (settle_confirmed). */
static void publish_failure(lsys_worker *w, lsys_job *j) {
  const lsys_delivery_result *r = &j->result;
  lsys_retry_headers h;
  char reason[LSYS_RETRY_REASON_MAX + 64];
  const char *queue;
  uint64_t tag = 0;

  if (r->outcome == LSYS_OUTCOME_RETRY && lsys_retry_should_retry(j->attempt, w->cfg->max_attempts)) {
    long delay = lsys_backoff_ms(w->cfg->retry_base_ms, w->cfg->retry_max_ms, j->attempt,
                                       (uint32_t)random());
    lsys_retry_headers_retry(&h, j->attempt, r->reason, delay);
    queue = w->topo.retry;
    j->to_dlq = 0;
  } else {
    if (r->outcome == LSYS_OUTCOME_RETRY)
      snprintf(reason, sizeof reason, "gave up after %d attempts: %s", j->attempt, r->reason);
    else
      snprintf(reason, sizeof reason, "%s", r->reason[0] ? r->reason : "permanent failure");
    lsys_retry_headers_dlq(&h, j->attempt, reason, w->topo.queue, time(NULL));
    queue = w->topo.dlq;
    j->to_dlq = 1;
    log_dlq(w, j, h.reason);
  }
  if (lsys_amqp_republish(w->amqp, queue, j->msg, h.fields, h.n, h.expiration[0] ? h.expiration : NULL,
                          &tag) != LSYS_OK) {
    lose(w, "publish failed");
    lsys_job_free(j); /* unacked: redelivered after the reconnect */
    return;
  }
  j->publish_tag = tag;
  lsys_job_push(&w->publishing, j);
}

/* finish handles one delivery outcome. */
static void finish(lsys_worker *w, lsys_job *j) {
  int current = j->epoch == w->epoch && w->amqp;
  if (j->result.outcome == LSYS_OUTCOME_OK) {
    if (j->has_key) {
      int rc = lsys_dedup_record(w->dedup, j->key, wall_ms());
      if (rc != LSYS_OK && !w->journal_warned) {
        w->journal_warned = 1;
        fprintf(stderr, "logsys-worker: cannot append to the dedup journal %s: %s; a restarted "
                        "worker may deliver some messages again\n",
                lsys_dedup_journal(w->dedup) ? lsys_dedup_journal(w->dedup) : "(memory)",
                rc == LSYS_EIO ? strerror(errno) : lsys_strerror(rc));
      }
    }
    lsys_worker_metrics_result(&w->m, current ? LSYS_WR_DELIVERED : LSYS_WR_ABANDONED);
    settle_ack(w, j);
  } else if (!current) {
    lsys_worker_metrics_result(&w->m, LSYS_WR_ABANDONED); /* its tag is void: redelivered */
    lsys_job_free(j);
  } else {
    publish_failure(w, j);
  }
}

/* settle_confirmed acks the original of a confirmed retry/DLQ copy (or hands
 * it back to the queue when the broker refused the copy). */
static void settle_confirmed(lsys_worker *w, lsys_job *j) {
  if (!j->confirmed) {
    settle_requeue(w, j);
    return;
  }
  lsys_worker_metrics_result(&w->m, j->to_dlq ? LSYS_WR_DEAD_LETTERED : LSYS_WR_RETRIED);
  settle_ack(w, j);
}

/* admit_all starts the deliveries that can start now. */
static void admit_all(lsys_worker *w) {
  lsys_job *j, *twin;
  while ((j = w->admit.head) != NULL) {
    if (j->epoch != w->epoch || !w->amqp) {
      lsys_job_remove(&w->admit, j);
      lsys_job_free(j); /* its connection is gone: redelivered */
      continue;
    }
    if (j->has_key && lsys_dedup_seen(w->dedup, j->key, wall_ms())) {
      lsys_job_remove(&w->admit, j);
      lsys_worker_metrics_result(&w->m, LSYS_WR_DUPLICATE);
      settle_ack(w, j);
      continue;
    }
    if (j->has_key && (twin = lsys_job_find_key(&w->delivering, j->key)) != NULL) {
      lsys_job_remove(&w->admit, j);
      j->blocker = twin;
      lsys_job_push(&w->blocked, j);
      continue;
    }
    if (w->draining) {
      lsys_job_remove(&w->admit, j);
      settle_requeue(w, j);
      continue;
    }
    size_t len = 0;
    const char *body = lsys_amqp_msg_body(j->msg, &len);
    int rc = lsys_deliverer_submit(w->deliverer, body, len, j);
    if (rc == LSYS_EFULL)
      break;
    lsys_job_remove(&w->admit, j);
    if (rc != LSYS_OK) {
      j->result.outcome = LSYS_OUTCOME_RETRY;
      snprintf(j->result.reason, sizeof j->result.reason, "cannot start delivery: %s",
               lsys_strerror(rc));
      lsys_job_push(&w->done, j);
      continue;
    }
    j->submitted_ms = lsys_clock_ms();
    lsys_job_push(&w->delivering, j);
  }
}

/* ---------------------------------------------------------------- connection */

/* schedule_reconnect sets the next connect attempt with backoff and jitter. */
static int schedule_reconnect(lsys_worker *w) {
  int delay = (int)lsys_backoff_ms(BACKOFF_MIN_MS, BACKOFF_MAX_MS, ++w->reconnects, (uint32_t)random());
  w->next_attempt_ms = lsys_clock_ms() + delay;
  return delay;
}

/* disconnect drops the connection: messages not yet with the deliverer are
 * left to the broker, which redelivers them. */
static void disconnect(lsys_worker *w, const char *why) {
  lsys_amqp_destroy(w->amqp);
  w->amqp = NULL;
  w->lost = 0;
  w->epoch++;
  atomic_store(&w->consuming, 0);
  lsys_gauge_set(w->m.connected, 0);
  size_t dropped = w->admit.n + w->blocked.n + w->publishing.n + w->settled.n;
  lsys_counter_add(w->m.results[LSYS_WR_ABANDONED], dropped);
  lsys_job_free_all(&w->admit);
  lsys_job_free_all(&w->blocked);
  lsys_job_free_all(&w->publishing);
  lsys_job_free_all(&w->settled);
  if (w->draining) {
    fprintf(stderr, "logsys-worker: disconnected from RabbitMQ %s while draining: %s\n",
            w->masked_url, why);
    return;
  }
  int delay = schedule_reconnect(w);
  fprintf(stderr, "logsys-worker: disconnected from RabbitMQ %s: %s; %zu unacknowledged "
                  "message%s left for redelivery; reconnecting in %d ms\n",
          w->masked_url, why, dropped, dropped == 1 ? "" : "s", delay);
}

/* connect_amqp connects, declares the queues and starts consuming. */
static void connect_amqp(lsys_worker *w) {
  char err[768];
  lsys_amqp *s = NULL;
  int rc = lsys_amqp_connect(&s, w->cfg->amqp_url, w->cfg->amqp_heartbeat_s, 1, err, sizeof err);
  if (rc == LSYS_OK)
    rc = lsys_topology_declare(s, &w->topo, err, sizeof err);
  if (rc == LSYS_OK)
    rc = lsys_amqp_qos(s, w->cfg->prefetch, err, sizeof err);
  if (rc == LSYS_OK)
    rc = lsys_amqp_consume(s, w->topo.queue, err, sizeof err);
  if (rc != LSYS_OK) {
    lsys_amqp_destroy(s);
    if (rc == LSYS_ECONFIG) {
      fprintf(stderr, "logsys-worker: %s\n", err);
      w->fatal = 1;
      return;
    }
    int delay = schedule_reconnect(w);
    fprintf(stderr, "logsys-worker: cannot reach RabbitMQ: %s; retrying in %d ms\n", err, delay);
    return;
  }
  w->amqp = s;
  w->reconnects = 0;
  atomic_store(&w->consuming, 1);
  lsys_gauge_set(w->m.connected, 1);
  fprintf(stderr, "logsys-worker: connected to RabbitMQ %s; queues %s, %s, %s declared\n",
          w->masked_url, w->topo.queue, w->topo.retry, w->topo.dlq);
  fprintf(stderr, "logsys-worker: ready (queue %s, prefetch %d)\n", w->topo.queue, w->cfg->prefetch);
}

/* process does the work the callbacks queued, then drops a failed connection. */
static void process(lsys_worker *w) {
  lsys_job *j;
  while ((j = lsys_job_pop(&w->settled)) != NULL)
    settle_confirmed(w, j);
  while ((j = lsys_job_pop(&w->done)) != NULL)
    finish(w, j);
  admit_all(w);
  if (w->lost)
    disconnect(w, w->lost_why);
}

/* ---------------------------------------------------------------- status, drain */

/* status_line prints the periodic status line. */
static void status_line(lsys_worker *w) {
  lsys_status_depth d = {0};
  lsys_worker_stats st;
  char line[768], err[512];
  if (w->amqp && lsys_amqp_queue_depth(w->amqp, w->topo.queue, &d.ready, &d.consumers, err,
                                       sizeof err) == LSYS_OK &&
      lsys_amqp_queue_depth(w->amqp, w->topo.retry, &d.retry, NULL, err, sizeof err) == LSYS_OK &&
      lsys_amqp_queue_depth(w->amqp, w->topo.dlq, &d.dlq, NULL, err, sizeof err) == LSYS_OK) {
    d.known = 1;
    lsys_gauge_set(w->m.depth_ready, d.ready);
    lsys_gauge_set(w->m.depth_retry, d.retry);
    lsys_gauge_set(w->m.depth_dlq, d.dlq);
  } else if (w->amqp) {
    lose(w, "queue depth");
  }
  lsys_worker_metrics_snapshot(&w->m, &st);
  double rate = lsys_status_rate_update(&w->rate, st.delivered, lsys_clock_ms());
  lsys_status_format(line, sizeof line, w->topo.queue, &d, &st, held(w), rate);
  fprintf(stderr, "%s\n", line);
}

/* signame names the stop signals the way operators type them. */
static const char *signame(int sig) {
  return sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : strsignal(sig);
}

/* start_drain stops consuming; deliveries in flight go on until drained. */
static void start_drain(lsys_worker *w, int sig) {
  char err[512];
  w->draining = 1;
  atomic_store(&w->consuming, 0);
  w->drain_deadline_ms = lsys_clock_ms() + w->cfg->drain_timeout_ms;
  fprintf(stderr, "logsys-worker: %s received: draining (%zu in flight, up to %d ms)\n",
          signame(sig), held(w), w->cfg->drain_timeout_ms);
  if (w->amqp && lsys_amqp_cancel(w->amqp, err, sizeof err) != LSYS_OK)
    lose(w, "basic.cancel failed");
}

/* drained tells whether nothing is left to finish. */
static int drained(const lsys_worker *w) { return held(w) == 0; }

/* pending_signal returns a pending signal of set without waiting, or 0. */
static int pending_signal(const sigset_t *set) {
  struct timespec zero = {0, 0};
  int sig = sigtimedwait(set, NULL, &zero);
  return sig > 0 ? sig : 0;
}

int lsys_worker_run(lsys_worker *w, const sigset_t *stop_signals) {
  const lsys_amqp_events ev = {.arg = w,
                               .confirm = on_confirm,
                               .message = on_message,
                               .cancelled = on_cancelled};
  int64_t interval = (int64_t)w->cfg->status_interval_s * 1000;
  w->next_status_ms = lsys_clock_ms() + interval;

  for (;;) {
    atomic_store(&w->loop_ms, lsys_clock_ms());
    lsys_gauge_set(w->m.in_flight, (double)held(w));
    int sig = pending_signal(stop_signals);
    if (sig && w->draining) {
      fprintf(stderr, "logsys-worker: %s received again: stopping now\n", signame(sig));
      break;
    }
    if (sig)
      start_drain(w, sig);
    if (w->fatal)
      return 1;
    if (w->draining && drained(w))
      break;
    if (w->draining && lsys_clock_ms() >= w->drain_deadline_ms) {
      fprintf(stderr, "logsys-worker: drain timeout: %zu unfinished message%s left "
                      "unacknowledged (RabbitMQ redelivers them)\n",
              held(w), held(w) == 1 ? "" : "s");
      break;
    }
    if (!w->amqp && !w->draining && lsys_clock_ms() >= w->next_attempt_ms)
      connect_amqp(w);

    int busy = lsys_deliverer_pending(w->deliverer) > 0 || w->admit.n > 0;
    if (w->amqp && lsys_amqp_pump(w->amqp, busy ? 0 : IDLE_WAIT_MS, &ev) != LSYS_OK)
      lose(w, "connection lost");
    process(w);
    if (lsys_deliverer_pending(w->deliverer) > 0) {
      lsys_delivery_stats ds;
      lsys_deliverer_poll(w->deliverer, DELIVER_WAIT_MS);
      lsys_deliverer_stats(w->deliverer, &ds);
      lsys_worker_metrics_delivery(&w->m, &ds);
    } else if (!w->amqp)
      poll(NULL, 0, IDLE_WAIT_MS); /* disconnected and idle: wait for the reconnect time */
    process(w);

    if (interval > 0 && lsys_clock_ms() >= w->next_status_ms) {
      status_line(w);
      w->next_status_ms = lsys_clock_ms() + interval;
    }
  }
  lsys_worker_stats st;
  lsys_worker_metrics_snapshot(&w->m, &st);
  fprintf(stderr, "logsys-worker: stopped: received %llu, delivered %llu, duplicates %llu, "
                  "retried %llu, dead-lettered %llu, requeued %llu\n",
          (unsigned long long)st.received, (unsigned long long)st.delivered,
          (unsigned long long)st.duplicates, (unsigned long long)st.retried,
          (unsigned long long)st.dead_lettered, (unsigned long long)st.requeued);
  return 0;
}

int lsys_worker_create(lsys_worker **out, const lsys_config *cfg, lsys_sink_kind kind, char *err,
                       size_t errlen) {
  lsys_worker *w = calloc(1, sizeof *w);
  int rc = LSYS_ENOMEM;
  if (!w) {
    snprintf(err, errlen, "out of memory");
    return LSYS_ENOMEM;
  }
  w->cfg = cfg;
  w->kind = kind;
  w->reconnects = 0;
  lsys_config_mask_url(cfg->amqp_url, w->masked_url, sizeof w->masked_url);
  if (lsys_topology_names(&w->topo, cfg->domain, kind) != LSYS_OK) {
    snprintf(err, errlen, "LOGSYS_DOMAIN is too long for a queue name");
    rc = LSYS_ECONFIG;
    goto fail;
  }
  if ((rc = lsys_worker_metrics_init(&w->m, kind, w->topo.queue, w->topo.retry, w->topo.dlq, err,
                                     errlen)) != LSYS_OK)
    goto fail;
  atomic_store(&w->loop_ms, lsys_clock_ms());
  lsys_dedup_opts dopts = {.dir = cfg->dedup_dir,
                           .name = w->topo.queue,
                           .window_s = cfg->dedup_window_s,
                           .max_entries = LSYS_DEDUP_DEFAULT_MAX_ENTRIES};
  if ((rc = lsys_dedup_create(&w->dedup, &dopts, err, errlen)) != LSYS_OK)
    goto fail;
  if ((rc = lsys_deliverer_create(&w->deliverer, kind, cfg, on_delivered, w, err, errlen)) != LSYS_OK)
    goto fail;
  *out = w;
  return LSYS_OK;
fail:
  lsys_worker_destroy(w);
  return rc;
}

void lsys_worker_counters(const lsys_worker *w, lsys_worker_stats *out) {
  lsys_worker_metrics_snapshot(&w->m, out);
}

lsys_metrics *lsys_worker_registry(lsys_worker *w) { return w->m.reg; }

int lsys_worker_healthy(lsys_worker *w, char *why, size_t len) {
  int64_t idle = lsys_clock_ms() - atomic_load(&w->loop_ms);
  if (idle > STALL_MS) {
    snprintf(why, len, "worker loop stalled for %lld ms", (long long)idle);
    return LSYS_ETIMEDOUT;
  }
  return LSYS_OK;
}

int lsys_worker_ready(lsys_worker *w, char *why, size_t len) {
  int rc = lsys_worker_healthy(w, why, len);
  if (rc == LSYS_OK && !atomic_load(&w->consuming)) {
    snprintf(why, len, "not consuming (connecting to RabbitMQ, or draining)");
    rc = LSYS_ECONN;
  }
  return rc;
}

void lsys_worker_destroy(lsys_worker *w) {
  if (!w)
    return;
  w->closing = 1;
  lsys_deliverer_destroy(w->deliverer); /* reports what is in flight: freed unacked */
  lsys_job_free_all(&w->delivering);
  lsys_job_free_all(&w->admit);
  lsys_job_free_all(&w->blocked);
  lsys_job_free_all(&w->done);
  lsys_job_free_all(&w->publishing);
  lsys_job_free_all(&w->settled);
  lsys_amqp_destroy(w->amqp);
  lsys_dedup_destroy(w->dedup);
  lsys_worker_metrics_fini(&w->m);
  free(w);
}
