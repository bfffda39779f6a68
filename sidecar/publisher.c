/* publisher.c - route, print, publish with a confirm window, spool when
 * RabbitMQ cannot take the copies, replay the spool, answer requests. */
#include "publisher.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "amqp_session.h"
#include "backoff.h"
#include "batch.h"
#include "client_drops.h"
#include "clock.h"
#include "confirm_window.h"
#include "console.h"
#include "direct.h"
#include "errors.h"
#include "notify_template.h"
#include "queue_json.h"
#include "spooler.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define IDLE_WAIT_MS 50
#define CONFIRM_WAIT_MS 20
#define CONFIRM_STALL_MS 5000 /* a full window this long: RabbitMQ is not confirming */
#define STALL_MS 10000        /* healthz fails when the loop has not turned for this long */

/* The routed copies of one record (a record has at most one of each). */
enum { COPY_LOGBEACON = 0, COPY_TG_DEVELOPER, COPY_TG_CUSTOMER, COPY_KINDS };
#define COPY(i, k) ((i) * COPY_KINDS + (size_t)(k))
#define COPY_ITEM(c) ((c) / COPY_KINDS)
#define COPY_QUEUE(c) ((c) % COPY_KINDS == COPY_LOGBEACON ? LSYS_Q_LOGBEACON : LSYS_Q_TG)

/* A request being published: answered when outstanding drops to 0 and what
 * it spooled is synced. */
typedef struct job {
  lsys_request *req;
  lsys_batch *batch;
  size_t outstanding;       /* copies published, not yet settled */
  int building;             /* still publishing: do not answer yet */
  int unsynced;             /* copies were spooled since the last sync */
  uint64_t spool_failures;  /* lsys_spooler_failures when it first spooled */
  int64_t first_publish_ms; /* for the confirm latency histogram; 0: nothing published */
  char **body;              /* [n * COPY_KINDS] copies kept until confirmed (spool only) */
  size_t *body_len;
  struct job *next_sync;    /* on the publisher's list of jobs waiting for a spool sync */
} job;

struct lsys_publisher {
  const lsys_config *cfg;
  lsys_jobq *q;
  lsys_sidecar_metrics *m;
  lsys_client_drops drops;
  _Atomic int64_t loop_ms; /* last turn of the loop (monotonic ms), for healthz */
  atomic_int connected;    /* for readyz */
  lsys_batch_limits limits;
  lsys_console *console;
  lsys_template *tpl;
  lsys_confirms *window;
  lsys_amqp *amqp;
  lsys_spooler *spool;     /* NULL without LOGSYS_SPOOL_DIR (and not embedded) */
  lsys_direct *direct;     /* embedded mode or LOGSYS_FALLBACK=direct */
  int embedded;            /* no LOGSYS_AMQP_URL: deliver in-process */
  char spool_dir[4096];
  job *sync_list;          /* jobs to answer after the next spool sync */
  int replay_owner;        /* its address marks replayed copies in the confirm window */
  int replaying;           /* replay started and the spool is not empty yet */
  int64_t progress_ms;     /* last confirm, or first publish into an empty window */
  char q_name[LSYS_Q_COUNT][256];
  char masked_url[512];
  char down_reason[512];   /* why RabbitMQ is unavailable (no secrets) */
  int attempts;            /* failed connection attempts in a row */
  int64_t next_attempt_ms;
  int ever_connected;
  atomic_int abandon, stop;
  _Atomic(const char *) phase; /* what the thread is doing, for a stuck shutdown's report */
  pthread_t thread;
  int started;
};

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
    lsys_histogram_observe(m->confirm_latency, (double)(lsys_clock_ms() - j->first_publish_ms) / 1000.0);
}

/* job_free frees j and what it owns (not the request, answered before). */
static void job_free(job *j) {
  if (j->body)
    for (size_t c = 0; c < j->batch->n * COPY_KINDS; c++)
      free(j->body[c]);
  free(j->body);
  free(j->body_len);
  lsys_batch_destroy(j->batch);
  free(j);
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
  job_free(j);
}

/* finish answers j once nothing of it is in flight; what it spooled must be
 * synced first, so such a job waits on the sync list. */
static void finish(lsys_publisher *p, job *j) {
  if (j->building || j->outstanding > 0)
    return;
  if (j->unsynced) {
    j->next_sync = p->sync_list;
    p->sync_list = j;
    return;
  }
  answer(p, j);
}

/* retry_item answers item i "resend later" for the given reason. */
static void retry_item(lsys_publisher *p, job *j, size_t i, lsys_retry_kind kind, const char *why) {
  if (j->batch->items[i].status == LOGSYS__V1__RECORD_STATUS__RECORD_ACCEPTED)
    lsys_counter_add(p->m->retry[kind], 1);
  lsys_batch_retry(j->batch, i, why);
}

/* spool_copy writes copy c of job j to the spool; on failure the record is
 * answered "resend later" (spool full: resource exhausted). */
static int spool_copy(lsys_publisher *p, job *j, size_t c, const char *body, size_t len) {
  size_t i = COPY_ITEM(c);
  int rc = lsys_spooler_put(p->spool, COPY_QUEUE(c), j->batch->items[i].rec.log_id, body, len);
  if (rc == LSYS_OK) {
    if (!j->unsynced)
      j->spool_failures = lsys_spooler_failures(p->spool);
    j->unsynced = 1;
    j->batch->items[i].spooled = 1;
  } else if (rc == LSYS_EFULL) {
    retry_item(p, j, i, LSYS_RETRY_SPOOL_FULL,
               "resource exhausted: the spool is full (LOGSYS_SPOOL_MAX_BYTES); resend later");
  } else {
    retry_item(p, j, i, LSYS_RETRY_UNAVAILABLE, "cannot write the spool; resend later");
  }
  return rc;
}

/* flush_syncs syncs the spool and answers the jobs that waited for it; when
 * the sync fails their spooled records are answered "resend later". */
static void flush_syncs(lsys_publisher *p) {
  if (!p->sync_list)
    return;
  atomic_store(&p->phase, "syncing the spool");
  int rc = lsys_spooler_sync(p->spool);
  while (p->sync_list) {
    job *j = p->sync_list;
    p->sync_list = j->next_sync;
    /* A failure since this job first spooled dropped its unsynced copies. */
    if (rc != LSYS_OK || lsys_spooler_failures(p->spool) != j->spool_failures)
      for (size_t i = 0; i < j->batch->n; i++)
        if (j->batch->items[i].spooled)
          retry_item(p, j, i, LSYS_RETRY_UNAVAILABLE, "cannot sync the spool; resend later");
    answer(p, j);
  }
}

/* on_settled is the confirm window's callback for one settled copy. A copy
 * not confirmed goes to the spool when there is one, else its record is
 * answered "resend later". */
static void on_settled(void *arg, void *owner, size_t copy, int ack) {
  lsys_publisher *p = arg;
  if (owner == &p->replay_owner) {
    lsys_spooler_settled(p->spool, copy, ack);
    return;
  }
  job *j = owner;
  size_t q = COPY_QUEUE(copy), i = COPY_ITEM(copy);
  if (ack) {
    lsys_counter_add(p->m->confirmed[q], 1);
  } else {
    lsys_counter_add(p->m->unconfirmed[q], 1);
    if (p->spool && j->body && j->body[copy])
      spool_copy(p, j, copy, j->body[copy], j->body_len[copy]);
    else if (p->amqp)
      retry_item(p, j, i, LSYS_RETRY_NACKED, "RabbitMQ did not confirm the message (nack); resend");
    else
      retry_item(p, j, i, LSYS_RETRY_UNAVAILABLE,
                 "connection to RabbitMQ lost before confirm; resend");
  }
  if (j->body) {
    free(j->body[copy]);
    j->body[copy] = NULL;
  }
  j->outstanding--;
  finish(p, j);
}

/* on_confirm adapts lsys_amqp_poll's callback to the window. */
static void on_confirm(void *arg, uint64_t tag, int multiple, int ack) {
  lsys_publisher *p = arg;
  p->progress_ms = lsys_clock_ms();
  lsys_confirms_settle(p->window, tag, multiple, ack, on_settled, p);
}

/* schedule_reconnect sets the next connection attempt (exponential backoff with jitter). */
static int schedule_reconnect(lsys_publisher *p) {
  int delay = (int)lsys_backoff_ms(BACKOFF_MIN_MS, BACKOFF_MAX_MS, ++p->attempts, (uint32_t)rand());
  p->next_attempt_ms = lsys_clock_ms() + delay;
  return delay;
}

/* disconnect drops the session after a failure: every copy in flight counts as
 * not confirmed (spooled or answered "resend later"), and a reconnect is scheduled. */
static void disconnect(lsys_publisher *p, const char *why, int abrupt) {
  lsys_amqp *s = p->amqp;
  if (abrupt)
    lsys_amqp_abandon(s); /* the broker is not answering: no polite close */
  p->amqp = NULL; /* on_settled reads it to word the reason */
  atomic_store(&p->connected, 0);
  /* Replayed copies in flight settle as not confirmed: the spooler hands
   * them out again once none is left in flight (direct deliveries included). */
  lsys_confirms_abandon(p->window, on_settled, p);
  lsys_amqp_destroy(s);
  lsys_gauge_set(p->m->amqp_connected, 0);
  snprintf(p->down_reason, sizeof p->down_reason, "%s", why);
  int delay = schedule_reconnect(p);
  fprintf(stderr, "logsysd: disconnected from RabbitMQ (%s): %s; %sretrying in %d ms\n",
          p->masked_url, why, p->spool ? "spooling; " : "", delay);
}

/* try_connect opens the session and declares both queues. */
static void try_connect(lsys_publisher *p) {
  char err[512];
  lsys_amqp *s = NULL;
  atomic_store(&p->phase, "connecting to RabbitMQ");
  int rc = lsys_amqp_connect(&s, p->cfg->amqp_url, p->cfg->amqp_heartbeat_s, 1, err, sizeof err);
  for (int q = 0; rc == LSYS_OK && q < LSYS_Q_COUNT; q++)
    rc = lsys_amqp_declare_queue(s, p->q_name[q], err, sizeof err);
  if (rc != LSYS_OK) {
    lsys_amqp_destroy(s);
    snprintf(p->down_reason, sizeof p->down_reason, "%s", err);
    int delay = schedule_reconnect(p);
    fprintf(stderr, "logsysd: cannot reach RabbitMQ: %s; retrying in %d ms\n", err, delay);
    return;
  }
  p->amqp = s;
  atomic_store(&p->connected, 1);
  lsys_gauge_set(p->m->amqp_connected, 1);
  lsys_confirms_reset(p->window);
  p->attempts = 0;
  fprintf(stderr, "logsysd: connected to RabbitMQ %s, queues %s and %s declared%s\n", p->masked_url,
          p->q_name[LSYS_Q_LOGBEACON], p->q_name[LSYS_Q_TG],
          p->spool && lsys_spooler_active(p->spool) ? "; replaying the spool" : "");
  if (!p->ever_connected) {
    p->ever_connected = 1;
    fprintf(stderr, "logsysd: ready (ipc %s, amqp %s)\n", p->cfg->ipc_url, p->masked_url);
  }
}

/* poll_confirms reads confirms for up to wait_ms; a lost connection is handled here. */
static void poll_confirms(lsys_publisher *p, int wait_ms) {
  if (p->amqp && lsys_amqp_poll(p->amqp, wait_ms, on_confirm, p) != LSYS_OK)
    disconnect(p, "connection lost", 0);
}

/* check_stall gives up on a session that has copies in flight but has not
 * confirmed anything for CONFIRM_STALL_MS (e.g. a disk or memory alarm): the
 * copies in flight go to the spool (or back to their clients) and the
 * records keep moving instead of waiting for the alarm to clear. */
static void check_stall(lsys_publisher *p) {
  if (p->amqp && lsys_confirms_inflight(p->window) > 0 &&
      lsys_clock_ms() - p->progress_ms > CONFIRM_STALL_MS)
    disconnect(p, "RabbitMQ is not confirming (resource alarm?)", 1);
}

/* wait_for_room polls confirms until the window has room or the session dies. */
static int wait_for_room(lsys_publisher *p) {
  while (p->amqp && lsys_confirms_full(p->window)) {
    poll_confirms(p, CONFIRM_WAIT_MS);
    check_stall(p);
  }
  return p->amqp ? LSYS_OK : LSYS_ECONN;
}

/* publish_copy publishes copy c of job j (or spools it when RabbitMQ cannot
 * take it and there is a spool). Takes ownership of body. */
static int publish_copy(lsys_publisher *p, job *j, size_t c, char *body, size_t len) {
  size_t i = COPY_ITEM(c);
  int q = COPY_QUEUE(c), rc = LSYS_ECONN;
  uint64_t tag = 0;

  if (p->spool && (!p->amqp || lsys_spooler_active(p->spool))) {
    rc = spool_copy(p, j, c, body, len); /* keep the order behind what is spooled */
    free(body);
    return rc;
  }
  if (wait_for_room(p) == LSYS_OK &&
      lsys_amqp_publish(p->amqp, p->q_name[q], body, len, j->batch->items[i].rec.log_id, &tag) !=
          LSYS_OK)
    disconnect(p, "publish failed: connection lost", 0);
  if (!p->amqp) {
    rc = p->spool ? spool_copy(p, j, c, body, len) : LSYS_ECONN;
    free(body);
    return rc;
  }
  if (!j->first_publish_ms)
    j->first_publish_ms = lsys_clock_ms();
  if (lsys_confirms_inflight(p->window) == 0)
    p->progress_ms = lsys_clock_ms();
  lsys_counter_add(p->m->published[q], 1);
  lsys_confirms_add(p->window, tag, j, c);
  j->outstanding++;
  if (j->body) {
    j->body[c] = body; /* kept to spool it if it is not confirmed */
    j->body_len[c] = len;
  } else {
    free(body);
  }
  return LSYS_OK;
}

/* render_copy renders the queue message of copy kind k of record r. */
static int render_copy(lsys_publisher *p, const lsys_record *r, int k, char **body, size_t *len) {
  const lsys_config *cfg = p->cfg;
  char *text = NULL;
  if (k == COPY_LOGBEACON)
    return lsys_qjson_logbeacon(r, cfg->domain, body, len);
  const char *type = k == COPY_TG_DEVELOPER ? "developer" : "customer";
  const char *token = k == COPY_TG_DEVELOPER ? cfg->tg_dev_token : cfg->tg_customer_token;
  const char *chat = k == COPY_TG_DEVELOPER ? cfg->tg_dev_chat_id : cfg->tg_customer_chat_id;
  int embed = cfg->tg_embed_credentials && token && chat;
  int rc = lsys_template_render(p->tpl, r, cfg->domain, &text);
  if (rc == LSYS_OK)
    rc = lsys_qjson_tg(r, type, text, embed ? token : NULL, embed ? chat : NULL, body, len);
  free(text);
  return rc;
}

/* publish_item prints item i and publishes (or spools) each routed copy.
 * Returns LSYS_OK, or an error when a copy could go nowhere (the record is
 * then answered "resend later" by the caller unless already marked). */
static int publish_item(lsys_publisher *p, job *j, size_t i) {
  static const unsigned sink_of[COPY_KINDS] = {LSYS_SINK_LOGBEACON, LSYS_SINK_TG_DEVELOPER,
                                               LSYS_SINK_TG_CUSTOMER};
  lsys_batch_item *it = &j->batch->items[i];
  unsigned sinks = it->route->sinks;
  int rc = LSYS_OK;

  if (sinks & LSYS_SINK_CONSOLE)
    lsys_console_write(p->console, &it->rec);
  for (int k = 0; k < COPY_KINDS && rc == LSYS_OK; k++) {
    char *body = NULL;
    size_t len = 0;
    if (!(sinks & sink_of[k]))
      continue;
    if ((rc = render_copy(p, &it->rec, k, &body, &len)) == LSYS_OK)
      rc = publish_copy(p, j, COPY(i, k), body, len);
  }
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
  if (b->status == LOGSYS__V1__BATCH_STATUS__BATCH_OK && atomic_load(&p->abandon) && !p->spool) {
    lsys_batch_fail_all(b, LOGSYS__V1__BATCH_STATUS__BATCH_UNAVAILABLE,
                        "logsysd is shutting down; resend later");
  } else if (b->status == LOGSYS__V1__BATCH_STATUS__BATCH_OK) {
    if (p->spool) {
      j->body = calloc(b->n * COPY_KINDS, sizeof *j->body);
      j->body_len = calloc(b->n * COPY_KINDS, sizeof *j->body_len);
      if (!j->body || !j->body_len) { /* no copies kept: unconfirmed ones are resent by clients */
        free(j->body);
        free(j->body_len);
        j->body = NULL;
        j->body_len = NULL;
      }
    }
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
      if ((!p->amqp && !p->spool) || publish_item(p, j, i) != LSYS_OK) {
        snprintf(why, sizeof why, "RabbitMQ unavailable (%s); resend", p->down_reason);
        retry_item(p, j, i, LSYS_RETRY_UNAVAILABLE, why);
      }
    }
  }
  j->building = 0;
  finish(p, j);
}

/* replay publishes spooled copies, oldest first, while the window has room. */
static void replay(lsys_publisher *p) {
  uint64_t seq, tag;
  int q;
  const char *id, *body;
  size_t len;

  atomic_store(&p->phase, "replaying the spool");
  while (p->amqp && !lsys_confirms_full(p->window) &&
         lsys_spooler_next(p->spool, &seq, &q, &id, &body, &len) == LSYS_OK) {
    if (lsys_amqp_publish(p->amqp, p->q_name[q], body, len, id, &tag) != LSYS_OK) {
      lsys_spooler_settled(p->spool, seq, 0); /* not in the window: hand it out again */
      disconnect(p, "publish failed while replaying the spool", 0);
      return;
    }
    if (lsys_confirms_inflight(p->window) == 0)
      p->progress_ms = lsys_clock_ms();
    lsys_confirms_add(p->window, tag, &p->replay_owner, (size_t)seq);
    p->replaying = 1;
  }
}

/* note_replay_done prints the state change once the spool has been emptied. */
static void note_replay_done(lsys_publisher *p) {
  if (p->replaying && !lsys_spooler_active(p->spool)) {
    p->replaying = 0;
    fprintf(stderr, "logsysd: spool replayed; publishing directly again\n");
  }
}

/* run is the publisher thread. */
static void *run(void *arg) {
  lsys_publisher *p = arg;

  if (p->embedded)
    fprintf(stderr, "logsysd: ready (ipc %s, embedded: delivering to LogBeacon and Telegram itself, "
                    "spool %s)\n", p->cfg->ipc_url, p->spool_dir);
  while (!atomic_load(&p->stop)) {
    int abandon = atomic_load(&p->abandon);
    atomic_store(&p->loop_ms, lsys_clock_ms());
    if (!p->amqp && !p->embedded && lsys_clock_ms() >= p->next_attempt_ms && !abandon)
      try_connect(p);
    if (abandon && lsys_confirms_inflight(p->window) > 0)
      disconnect(p, "shutting down: copies not confirmed in time", 1);
    if (p->amqp && p->spool && !abandon && lsys_spooler_active(p->spool))
      replay(p);
    if (p->spool)
      note_replay_done(p);

    atomic_store(&p->phase, "publishing");
    void *item = NULL;
    int busy = lsys_confirms_inflight(p->window) > 0 ||
               (p->direct && lsys_direct_inflight(p->direct) > 0);
    if (lsys_jobq_pop(p->q, &item, busy || p->sync_list ? 0 : IDLE_WAIT_MS) == LSYS_OK) {
      process(p, item);
      /* Keep taking requests while there are more (one spool sync covers them all). */
      if (lsys_jobq_len(p->q) > 0 && !lsys_confirms_full(p->window)) {
        poll_confirms(p, 0);
        continue;
      }
    }
    flush_syncs(p);
    lsys_console_flush(p->console);
    int wait = busy && lsys_jobq_len(p->q) == 0 ? CONFIRM_WAIT_MS : 0;
    if (p->direct) /* while RabbitMQ is away, the spool goes straight to the sinks */
      lsys_direct_pump(p->direct, !p->amqp && !abandon, p->amqp ? 0 : wait);
    poll_confirms(p, wait);
    check_stall(p);
  }
  /* Requests still queued are answered too (spooled, or "resend later"). */
  for (void *item = NULL; lsys_jobq_pop(p->q, &item, 0) == LSYS_OK;)
    process(p, item);
  lsys_confirms_abandon(p->window, on_settled, p);
  flush_syncs(p);
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
  atomic_store(&p->loop_ms, lsys_clock_ms());
  atomic_store(&p->phase, "starting");
  p->limits.max_request_bytes = (size_t)cfg->max_request_bytes;
  p->limits.max_field_bytes = (size_t)cfg->max_field_bytes;
  p->limits.routes = &cfg->routes;
  lsys_config_mask_url(cfg->amqp_url, p->masked_url, sizeof p->masked_url);
  snprintf(p->down_reason, sizeof p->down_reason, "not connected yet");
  srand((unsigned)time(NULL) ^ (unsigned)(uintptr_t)p);
  if (lsys_qjson_queue_name(cfg->domain, "logbeacon", p->q_name[LSYS_Q_LOGBEACON],
                            sizeof p->q_name[0]) ||
      lsys_qjson_queue_name(cfg->domain, "tg", p->q_name[LSYS_Q_TG], sizeof p->q_name[0])) {
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
  p->embedded = !cfg->amqp_url;
  int fallback_direct = cfg->fallback && strcmp(cfg->fallback, "direct") == 0;
  if (cfg->spool_dir)
    snprintf(p->spool_dir, sizeof p->spool_dir, "%s", cfg->spool_dir);
  else if (p->embedded) /* the spool is the embedded mode's queue: a default for a first run */
    snprintf(p->spool_dir, sizeof p->spool_dir, "/tmp/logsys-spool-%s", cfg->domain);
  if (fallback_direct && !p->spool_dir[0]) {
    snprintf(err, errlen, "LOGSYS_FALLBACK=direct needs LOGSYS_SPOOL_DIR (records are spooled "
                          "before they are delivered)");
    rc = LSYS_ECONFIG;
    goto fail;
  }
  if (p->spool_dir[0] &&
      (rc = lsys_spooler_open(&p->spool, p->spool_dir, (uint64_t)cfg->spool_max_bytes,
                              (size_t)cfg->confirm_window, m, err, errlen)) != LSYS_OK)
    goto fail;
  if (p->spool && lsys_spooler_active(p->spool))
    fprintf(stderr, "logsysd: spool %s holds %llu messages (%llu bytes) to deliver\n", p->spool_dir,
            (unsigned long long)lsys_spooler_records(p->spool),
            (unsigned long long)lsys_spooler_bytes(p->spool));
  if ((p->embedded || fallback_direct) &&
      (rc = lsys_direct_create(&p->direct, cfg, p->spool_dir, p->spool, m, err, errlen)) != LSYS_OK)
    goto fail;
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

int lsys_publisher_ready(lsys_publisher *p, char *why, size_t len) {
  int rc = lsys_publisher_healthy(p, why, len);
  if (rc != LSYS_OK || atomic_load(&p->connected) || !p->spool)
    return rc;
  /* RabbitMQ is down: ready while the spool has room (not if it is full). */
  if (lsys_spooler_bytes(p->spool) + (1u << 20) > (uint64_t)p->cfg->spool_max_bytes) {
    snprintf(why, len, "RabbitMQ unavailable and the spool is full");
    return LSYS_EFULL;
  }
  return LSYS_OK;
}

const char *lsys_publisher_phase(lsys_publisher *p) { return atomic_load(&p->phase); }

int lsys_publisher_healthy(lsys_publisher *p, char *why, size_t len) {
  int64_t idle = lsys_clock_ms() - atomic_load(&p->loop_ms);
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
  lsys_direct_destroy(p->direct);
  lsys_amqp_destroy(p->amqp);
  lsys_spooler_close(p->spool);
  lsys_confirms_destroy(p->window);
  lsys_console_destroy(p->console);
  lsys_template_destroy(p->tpl);
  free(p);
}
