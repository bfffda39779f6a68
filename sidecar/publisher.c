/* publisher.c - route, print, publish with a confirm window, answer requests. */
#include "publisher.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "amqp_session.h"
#include "batch.h"
#include "confirm_window.h"
#include "console.h"
#include "errors.h"
#include "notify_template.h"
#include "client_drops.h"
#include "queue_json.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define IDLE_WAIT_MS 50
#define CONFIRM_WAIT_MS 20
#define STALL_MS 10000 /* healthz fails when the loop has not turned for this long */

/* A request being published: answered when outstanding drops to 0. */
typedef struct job {
  lsys_request *req;
  lsys_batch *batch;
  size_t outstanding; /* copies published, not yet settled */
  int building;       /* still publishing: do not answer yet */
  int64_t first_publish_ms; /* for the confirm latency histogram; 0: nothing published */
} job;

/* A confirm-window item packs the record index and the queue of the copy. */
#define COPY(i, q) ((i) * LSYS_Q_COUNT + (size_t)(q))
#define COPY_ITEM(c) ((c) / LSYS_Q_COUNT)
#define COPY_QUEUE(c) ((c) % LSYS_Q_COUNT)

struct lsys_publisher {
  const lsys_config *cfg;
  lsys_jobq *q;
  lsys_sidecar_metrics *m;
  lsys_client_drops drops;
  _Atomic int64_t loop_ms; /* last turn of the loop (monotonic ms), for healthz */
  lsys_batch_limits limits;
  lsys_console *console;
  lsys_template *tpl;
  lsys_confirms *window;
  lsys_amqp *amqp;
  char q_logbeacon[256], q_tg[256];
  char masked_url[512];
  char down_reason[512]; /* why RabbitMQ is unavailable (no secrets) */
  int backoff_ms;
  int64_t next_attempt_ms;
  int ever_connected;
  atomic_int abandon, stop;
  pthread_t thread;
  int started;
};

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* count_answer bumps the per-request and per-record outcome counters of j. */
static void count_answer(lsys_publisher *p, const job *j) {
  const lsys_batch *b = j->batch;
  lsys_sidecar_metrics *m = p->m;

  switch (b->status) {
  case LOGSYS__V1__BATCH_STATUS__BATCH_OK: lsys_counter_add(m->requests_ok, 1); break;
  case LOGSYS__V1__BATCH_STATUS__BATCH_TOO_LARGE: lsys_counter_add(m->requests_too_large, 1); break;
  case LOGSYS__V1__BATCH_STATUS__BATCH_UNAVAILABLE: lsys_counter_add(m->requests_unavailable, 1); break;
  default: lsys_counter_add(m->requests_malformed, 1); break;
  }
  if (b->status != LOGSYS__V1__BATCH_STATUS__BATCH_OK)
    return;
  for (size_t i = 0; i < b->n; i++) {
    const lsys_batch_item *it = &b->items[i];
    if (it->status == LOGSYS__V1__RECORD_STATUS__RECORD_ACCEPTED) {
      int lv = lsys_sidecar_metrics_level(&p->cfg->routes, it->rec.level);
      lsys_counter_add(lv >= 0 ? m->accepted[lv] : NULL, 1);
    } else if (it->status == LOGSYS__V1__RECORD_STATUS__RECORD_REJECTED) {
      lsys_counter_add(it->route == NULL && it->rec.log_id && *it->rec.log_id
                           ? m->rejected_unknown_level
                           : m->rejected_invalid,
                       1);
    }
  }
  if (j->first_publish_ms)
    lsys_histogram_observe(m->confirm_latency, (double)(now_ms() - j->first_publish_ms) / 1000.0);
}

/* answer packs and sends the reply of j, counts its records and frees it. */
static void answer(lsys_publisher *p, job *j) {
  uint8_t *buf = NULL;
  size_t len = 0;

  count_answer(p, j);
  if (lsys_batch_pack_reply(j->batch, &buf, &len) == LSYS_OK)
    lsys_request_reply(j->req, buf, len);
  else
    lsys_request_reply(j->req, NULL, 0); /* client times out and resends */
  free(buf);
  lsys_batch_destroy(j->batch);
  free(j);
}

/* retry_item answers item i "resend later" for the given reason. */
static void retry_item(lsys_publisher *p, job *j, size_t i, lsys_retry_kind kind, const char *why) {
  if (j->batch->items[i].status == LOGSYS__V1__RECORD_STATUS__RECORD_ACCEPTED)
    lsys_counter_add(p->m->retry[kind], 1);
  lsys_batch_retry(j->batch, i, why);
}

/* on_settled is the confirm window's callback for one settled copy. */
static void on_settled(void *arg, void *owner, size_t copy, int ack) {
  lsys_publisher *p = arg;
  job *j = owner;
  size_t q = COPY_QUEUE(copy);
  if (ack) {
    lsys_counter_add(p->m->confirmed[q], 1);
  } else {
    lsys_counter_add(p->m->unconfirmed[q], 1);
    if (p->amqp)
      retry_item(p, j, COPY_ITEM(copy), LSYS_RETRY_NACKED,
                 "RabbitMQ did not confirm the message (nack); resend");
    else
      retry_item(p, j, COPY_ITEM(copy), LSYS_RETRY_UNAVAILABLE,
                 "connection to RabbitMQ lost before confirm; resend");
  }
  if (--j->outstanding == 0 && !j->building)
    answer(p, j);
}

/* on_confirm adapts lsys_amqp_poll's callback to the window. */
static void on_confirm(void *arg, uint64_t tag, int multiple, int ack) {
  lsys_publisher *p = arg;
  lsys_confirms_settle(p->window, tag, multiple, ack, on_settled, p);
}

/* disconnect drops the session after a failure: every copy in flight counts as
 * not confirmed, and a reconnect is scheduled with backoff and jitter. */
static void disconnect(lsys_publisher *p, const char *why) {
  lsys_amqp *s = p->amqp;
  p->amqp = NULL; /* on_settled reads it to word the reason */
  lsys_confirms_abandon(p->window, on_settled, p);
  lsys_amqp_destroy(s);
  lsys_gauge_set(p->m->amqp_connected, 0);
  snprintf(p->down_reason, sizeof p->down_reason, "%s", why);
  int jitter = p->backoff_ms / 4 ? rand() % (p->backoff_ms / 4 + 1) : 0;
  p->next_attempt_ms = now_ms() + p->backoff_ms + jitter;
  fprintf(stderr, "logsysd: disconnected from RabbitMQ (%s): %s; retrying in %d ms\n", p->masked_url,
          why, p->backoff_ms + jitter);
  p->backoff_ms = p->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : p->backoff_ms * 2;
}

/* try_connect opens the session and declares both queues. */
static void try_connect(lsys_publisher *p) {
  char err[512];
  lsys_amqp *s = NULL;
  int rc = lsys_amqp_connect(&s, p->cfg->amqp_url, p->cfg->amqp_heartbeat_s, 1, err, sizeof err);
  if (rc == LSYS_OK && (rc = lsys_amqp_declare_queue(s, p->q_logbeacon, err, sizeof err)) == LSYS_OK)
    rc = lsys_amqp_declare_queue(s, p->q_tg, err, sizeof err);
  if (rc != LSYS_OK) {
    lsys_amqp_destroy(s);
    p->amqp = NULL;
    snprintf(p->down_reason, sizeof p->down_reason, "%s", err);
    int jitter = rand() % (p->backoff_ms / 4 + 1);
    p->next_attempt_ms = now_ms() + p->backoff_ms + jitter;
    fprintf(stderr, "logsysd: cannot reach RabbitMQ: %s; retrying in %d ms\n", err,
            p->backoff_ms + jitter);
    p->backoff_ms = p->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : p->backoff_ms * 2;
    return;
  }
  p->amqp = s;
  lsys_gauge_set(p->m->amqp_connected, 1);
  lsys_confirms_reset(p->window);
  p->backoff_ms = BACKOFF_MIN_MS;
  fprintf(stderr, "logsysd: connected to RabbitMQ %s, queues %s and %s declared\n", p->masked_url,
          p->q_logbeacon, p->q_tg);
  if (!p->ever_connected) {
    p->ever_connected = 1;
    fprintf(stderr, "logsysd: ready (ipc %s, amqp %s)\n", p->cfg->ipc_url, p->masked_url);
  }
}

/* wait_for_room polls confirms until the window has room or the session dies. */
static int wait_for_room(lsys_publisher *p) {
  while (p->amqp && lsys_confirms_full(p->window)) {
    if (lsys_amqp_poll(p->amqp, CONFIRM_WAIT_MS, on_confirm, p) != LSYS_OK)
      disconnect(p, "connection lost while waiting for confirms");
  }
  return p->amqp ? LSYS_OK : LSYS_ECONN;
}

/* publish_copy publishes one routed copy of item i of job j to queue q. */
static int publish_copy(lsys_publisher *p, job *j, size_t i, int q, const char *body, size_t len) {
  uint64_t tag = 0;
  if (wait_for_room(p) != LSYS_OK)
    return LSYS_ECONN;
  if (lsys_amqp_publish(p->amqp, q == LSYS_Q_TG ? p->q_tg : p->q_logbeacon, body, len,
                        j->batch->items[i].rec.log_id, &tag) != LSYS_OK) {
    disconnect(p, "publish failed: connection lost");
    return LSYS_ECONN;
  }
  if (!j->first_publish_ms)
    j->first_publish_ms = now_ms();
  lsys_counter_add(p->m->published[q], 1);
  lsys_confirms_add(p->window, tag, j, COPY(i, q));
  j->outstanding++;
  return LSYS_OK;
}

/* tg_copy renders and publishes one Telegram copy (type "developer"/"customer"). */
static int tg_copy(lsys_publisher *p, job *j, size_t i, const char *type, const char *token,
                   const char *chat_id) {
  const lsys_record *r = &j->batch->items[i].rec;
  char *text = NULL, *body = NULL;
  size_t len = 0;
  int rc = lsys_template_render(p->tpl, r, p->cfg->domain, &text);
  if (rc == LSYS_OK) {
    int embed = p->cfg->tg_embed_credentials && token && chat_id;
    rc = lsys_qjson_tg(r, type, text, embed ? token : NULL, embed ? chat_id : NULL, &body, &len);
  }
  if (rc == LSYS_OK)
    rc = publish_copy(p, j, i, LSYS_Q_TG, body, len);
  free(text);
  free(body);
  return rc;
}

/* publish_item prints item i and publishes each of its routed copies. */
static int publish_item(lsys_publisher *p, job *j, size_t i) {
  lsys_batch_item *it = &j->batch->items[i];
  unsigned sinks = it->route->sinks;
  int rc = LSYS_OK;

  if (sinks & LSYS_SINK_CONSOLE)
    lsys_console_write(p->console, &it->rec);
  if (sinks & LSYS_SINK_LOGBEACON) {
    char *body = NULL;
    size_t len = 0;
    rc = lsys_qjson_logbeacon(&it->rec, p->cfg->domain, &body, &len);
    if (rc == LSYS_OK)
      rc = publish_copy(p, j, i, LSYS_Q_LOGBEACON, body, len);
    free(body);
  }
  if (rc == LSYS_OK && (sinks & LSYS_SINK_TG_DEVELOPER))
    rc = tg_copy(p, j, i, "developer", p->cfg->tg_dev_token, p->cfg->tg_dev_chat_id);
  if (rc == LSYS_OK && (sinks & LSYS_SINK_TG_CUSTOMER))
    rc = tg_copy(p, j, i, "customer", p->cfg->tg_customer_token, p->cfg->tg_customer_chat_id);
  return rc;
}

/* process validates one request and publishes its accepted records. */
static void process(lsys_publisher *p, lsys_request *req) {
  size_t len = 0;
  const void *data = lsys_request_data(req, &len);
  job *j = calloc(1, sizeof *j);
  char why[600];

  if (!j || lsys_batch_decode(&j->batch, data, len, &p->limits) != LSYS_OK) {
    free(j);
    lsys_request_reply(req, NULL, 0); /* out of memory: the client resends */
    return;
  }
  j->req = req;
  j->building = 1;
  lsys_batch *b = j->batch;
  if (b->status == LOGSYS__V1__BATCH_STATUS__BATCH_OK && atomic_load(&p->abandon)) {
    lsys_batch_fail_all(b, LOGSYS__V1__BATCH_STATUS__BATCH_UNAVAILABLE,
                        "logsysd is shutting down; resend later");
  } else if (b->status == LOGSYS__V1__BATCH_STATUS__BATCH_OK) {
    lsys_counter_add(p->m->client_dropped,
                     lsys_client_drops_update(&p->drops, b->pb->client_id, b->client_dropped));
    for (size_t i = 0; i < b->n; i++) {
      lsys_batch_item *it = &b->items[i];
      int lv = it->route ? lsys_sidecar_metrics_level(&p->cfg->routes, it->rec.level) : -1;
      lsys_counter_add(lv >= 0 ? p->m->received[lv] : NULL, 1);
      if (it->status != LOGSYS__V1__RECORD_STATUS__RECORD_ACCEPTED)
        continue;
      if (it->flags & LOGSYS__V1__RECORD_FLAG__RECORD_FLAG_TRUNCATED)
        lsys_counter_add(p->m->truncated, 1);
      if (it->flags & LOGSYS__V1__RECORD_FLAG__RECORD_FLAG_UTF8_REPAIRED)
        lsys_counter_add(p->m->repaired, 1);
      if (!p->amqp || publish_item(p, j, i) != LSYS_OK) {
        snprintf(why, sizeof why, "RabbitMQ unavailable (%s); resend", p->down_reason);
        retry_item(p, j, i, LSYS_RETRY_UNAVAILABLE, why);
      }
    }
  }
  j->building = 0;
  if (j->outstanding == 0)
    answer(p, j);
}

/* run is the publisher thread. */
static void *run(void *arg) {
  lsys_publisher *p = arg;

  while (!atomic_load(&p->stop)) {
    atomic_store(&p->loop_ms, now_ms());
    if (!p->amqp && now_ms() >= p->next_attempt_ms && !atomic_load(&p->abandon))
      try_connect(p);
    if (atomic_load(&p->abandon) && lsys_confirms_inflight(p->window) > 0)
      lsys_confirms_abandon(p->window, on_settled, p);

    void *item = NULL;
    int busy = lsys_confirms_inflight(p->window) > 0;
    if (lsys_jobq_pop(p->q, &item, busy ? 0 : IDLE_WAIT_MS) == LSYS_OK) {
      process(p, item);
      /* Keep taking requests while there are more: confirms are read below. */
      if (lsys_jobq_len(p->q) > 0 && !lsys_confirms_full(p->window)) {
        if (p->amqp && lsys_amqp_poll(p->amqp, 0, on_confirm, p) != LSYS_OK)
          disconnect(p, "connection lost");
        continue;
      }
    }
    lsys_console_flush(p->console);
    if (p->amqp) {
      int wait = lsys_confirms_inflight(p->window) > 0 && lsys_jobq_len(p->q) == 0 ? CONFIRM_WAIT_MS : 0;
      if (lsys_amqp_poll(p->amqp, wait, on_confirm, p) != LSYS_OK)
        disconnect(p, "connection lost");
    }
  }
  lsys_confirms_abandon(p->window, on_settled, p);
  lsys_console_flush(p->console);
  return NULL;
}

int lsys_publisher_create(lsys_publisher **out, const lsys_config *cfg, lsys_jobq *q,
                          lsys_sidecar_metrics *m, char *err, size_t errlen) {
  lsys_publisher *p = calloc(1, sizeof *p);
  int rc = LSYS_ENOMEM;

  if (!p) {
    snprintf(err, errlen, "out of memory");
    return LSYS_ENOMEM;
  }
  p->cfg = cfg;
  p->q = q;
  p->m = m;
  atomic_store(&p->loop_ms, now_ms());
  p->limits.max_request_bytes = (size_t)cfg->max_request_bytes;
  p->limits.max_field_bytes = (size_t)cfg->max_field_bytes;
  p->limits.routes = &cfg->routes;
  p->backoff_ms = BACKOFF_MIN_MS;
  lsys_config_mask_url(cfg->amqp_url, p->masked_url, sizeof p->masked_url);
  snprintf(p->down_reason, sizeof p->down_reason, "not connected yet");
  srand((unsigned)time(NULL) ^ (unsigned)(uintptr_t)p);
  if (lsys_qjson_queue_name(cfg->domain, "logbeacon", p->q_logbeacon, sizeof p->q_logbeacon) ||
      lsys_qjson_queue_name(cfg->domain, "tg", p->q_tg, sizeof p->q_tg)) {
    snprintf(err, errlen, "LOGSYS_DOMAIN is too long for a queue name");
    rc = LSYS_ECONFIG;
    goto fail;
  }
  if ((rc = lsys_template_create(&p->tpl, cfg->tg_template ? cfg->tg_template : LSYS_TEMPLATE_DEFAULT,
                                 err, errlen)) != LSYS_OK)
    goto fail;
  if ((rc = lsys_console_create(&p->console, cfg->console, stdout, cfg->domain)) != LSYS_OK ||
      (rc = lsys_confirms_create(&p->window, (size_t)cfg->confirm_window)) != LSYS_OK) {
    snprintf(err, errlen, "out of memory");
    goto fail;
  }
  if (pthread_create(&p->thread, NULL, run, p) != 0) {
    snprintf(err, errlen, "cannot start the publisher thread");
    rc = LSYS_EIO;
    goto fail;
  }
  p->started = 1;
  *out = p;
  return LSYS_OK;
fail:
  lsys_publisher_destroy(p);
  return rc;
}

void lsys_publisher_abandon(lsys_publisher *p) { atomic_store(&p->abandon, 1); }

int lsys_publisher_healthy(lsys_publisher *p, char *why, size_t len) {
  int64_t idle = now_ms() - atomic_load(&p->loop_ms);
  if (idle > STALL_MS) {
    snprintf(why, len, "publisher loop stalled for %lld ms", (long long)idle);
    return LSYS_ETIMEDOUT;
  }
  return LSYS_OK;
}

void lsys_publisher_destroy(lsys_publisher *p) {
  if (!p)
    return;
  if (p->started) {
    atomic_store(&p->abandon, 1);
    atomic_store(&p->stop, 1);
    pthread_join(p->thread, NULL);
  }
  lsys_amqp_destroy(p->amqp);
  lsys_confirms_destroy(p->window);
  lsys_console_destroy(p->console);
  lsys_template_destroy(p->tpl);
  free(p);
}
