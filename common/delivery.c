/* delivery.c - the deliverer: holds submitted messages, starts their HTTP
 * requests as concurrency, rate limits and collapsing allow, and reports each
 * outcome once (see delivery.h).
 *
 * A message is a job. Jobs wait in one queue in submit order; a scheduling
 * pass walks the queue and starts what may start (for Telegram: the chat is
 * free, its rate windows have room; the sink keeps a chat's messages in
 * order). Finished jobs move to a done list that is reported at the end of a
 * poll step, so the callback may submit again. Telegram messages of one
 * notification key can be held by the collapse table (tg_collapse.h); when
 * their window ends, one internal summary job is queued and, once delivered,
 * reports every held message with its outcome.
 *
 * Bounds: LOGSYS_CONCURRENCY transfers in flight; LSYS_DELIVERER_HOLD_FACTOR
 * times that many messages held in all; half of those may be held by
 * collapsing before a summary goes out early. */
#include "delivery.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "clock.h"
#include "errors.h"
#include "http_multi.h"
#include "sink_logbeacon.h"
#include "sink_telegram.h"
#include "tg_collapse.h"

typedef enum job_state { JOB_QUEUED, JOB_RUNNING, JOB_HELD, JOB_DONE } job_state;

typedef enum job_role {
  ROLE_PLAIN,   /* an ordinary message */
  ROLE_LEADER,  /* the first of a collapse key: its send opens the window */
  ROLE_SUMMARY, /* internal: one send standing for the held messages of a key */
} job_role;

typedef struct job {
  struct job *prev, *next; /* in the queue (QUEUED, RUNNING) or the done list */
  job_state state;
  job_role role;
  void *token;
  lsys_lb_msg *lb;
  lsys_tg_msg *tg;      /* a summary's is made when it starts */
  char *key;            /* collapse key of a leader or summary */
  struct job *proto;    /* summary not started yet: its first held message */
  struct job **held;    /* summary started: the messages it stands for */
  size_t nheld;
  int started;          /* leader: the collapse table was told it started */
  int waiting;          /* this part's wait is counted in rate_limited_waits */
  lsys_delivery_result result;
} job;

struct lsys_deliverer {
  lsys_sink_kind kind;
  const lsys_config *cfg;
  lsys_delivered_fn fn;
  void *arg;
  lsys_http_multi *http;
  lsys_sink_logbeacon *lb;
  lsys_sink_telegram *tg;
  lsys_tg_collapse *collapse; /* NULL: collapsing off */
  job *head, *tail;           /* queue, in submit order */
  job *done_head, *done_tail; /* finished, to report */
  size_t pending;             /* messages submitted and not reported */
  size_t capacity;
  uint64_t pass;
  struct {
    _Atomic uint64_t delivered, retry, permanent, requests, tg_429, collapsed, rate_limited_waits,
        key_store_errors;
  } st;
};

#define BUMP(d, field) atomic_fetch_add_explicit(&(d)->st.field, 1, memory_order_relaxed)

static void set_result(lsys_delivery_result *r, lsys_outcome o, const char *reason) {
  r->outcome = o;
  r->http_status = 0;
  snprintf(r->reason, sizeof r->reason, "%s", reason);
}

static void q_append(lsys_deliverer *d, job *j) {
  j->next = NULL;
  j->prev = d->tail;
  if (d->tail != NULL)
    d->tail->next = j;
  else
    d->head = j;
  d->tail = j;
}

static void q_remove(lsys_deliverer *d, job *j) {
  if (j->prev != NULL)
    j->prev->next = j->next;
  else
    d->head = j->next;
  if (j->next != NULL)
    j->next->prev = j->prev;
  else
    d->tail = j->prev;
  j->prev = j->next = NULL;
}

static void done_push(lsys_deliverer *d, job *j) {
  j->state = JOB_DONE;
  j->next = NULL;
  j->prev = NULL;
  if (d->done_tail != NULL)
    d->done_tail->next = j;
  else
    d->done_head = j;
  d->done_tail = j;
}

static void job_free(lsys_deliverer *d, job *j) {
  if (j == NULL)
    return;
  lsys_sink_logbeacon_msg_free(j->lb);
  lsys_sink_telegram_msg_free(d->tg, j->tg);
  free(j->key);
  free(j->held);
  free(j);
}

/* finish moves queued or running j to the done list with outcome r and tells
 * the collapse table when the send of a key failed. */
static void finish(lsys_deliverer *d, job *j, const lsys_delivery_result *r) {
  j->result = *r;
  if (j->role != ROLE_PLAIN && r->outcome != LSYS_OUTCOME_OK && d->collapse != NULL)
    lsys_tg_collapse_failed(d->collapse, j->key);
  q_remove(d, j);
  done_push(d, j);
}

/* report hands one message's outcome to the owner. */
static void report(lsys_deliverer *d, job *j, const lsys_delivery_result *r) {
  d->pending--;
  if (r->outcome == LSYS_OUTCOME_OK)
    BUMP(d, delivered);
  else if (r->outcome == LSYS_OUTCOME_RETRY)
    BUMP(d, retry);
  else
    BUMP(d, permanent);
  d->fn(d->arg, j->token, r);
}

/* report_done reports and frees the done list (a summary reports the messages
 * it stands for); returns the number of messages reported. */
static int report_done(lsys_deliverer *d) {
  int n = 0;

  while (d->done_head != NULL) {
    job *j = d->done_head;
    d->done_head = j->next;
    if (d->done_head == NULL)
      d->done_tail = NULL;
    if (j->role == ROLE_SUMMARY) {
      lsys_delivery_result r = j->result;
      if (r.outcome == LSYS_OUTCOME_OK) {
        char reason[sizeof r.reason];
        snprintf(reason, sizeof reason, "collapsed into one message: %.220s", j->result.reason);
        memcpy(r.reason, reason, sizeof reason);
      }
      for (size_t i = 0; i < j->nheld; i++) {
        if (r.outcome == LSYS_OUTCOME_OK)
          BUMP(d, collapsed);
        report(d, j->held[i], &r);
        job_free(d, j->held[i]);
        n++;
      }
    } else {
      report(d, j, &j->result);
      n++;
    }
    job_free(d, j);
  }
  return n;
}

/* on_done takes the answer to job token's request (called by http_multi). */
static void on_done(void *arg, void *token, const lsys_http_response *resp) {
  lsys_deliverer *d = arg;
  job *j = token;
  lsys_delivery_result r;

  if (d->kind == LSYS_SINK_KIND_LOGBEACON) {
    if (lsys_sink_logbeacon_response(d->lb, j->lb, resp, &r) != LSYS_OK)
      BUMP(d, key_store_errors);
    finish(d, j, &r);
    return;
  }
  int rc = lsys_sink_telegram_response(d->tg, j->tg, resp, lsys_clock_ms(), &r);
  if (r.http_status == 429)
    BUMP(d, tg_429);
  if (rc == LSYS_TG_DONE) {
    finish(d, j, &r);
  } else { /* NEXT part, or the same part after a 429 wait */
    j->state = JOB_QUEUED;
    j->waiting = 0;
  }
}

/* post starts j's request; a failure to start is reported through on_done
 * like a transfer that failed, so the sinks see one path. */
static void post(lsys_deliverer *d, job *j, int rc, const char *url, const char *body, size_t len) {
  j->state = JOB_RUNNING;
  if (rc == LSYS_OK)
    rc = lsys_http_multi_post(d->http, url, body, len, j);
  if (rc == LSYS_OK) {
    BUMP(d, requests);
    return;
  }
  lsys_http_response fake = {
      .curl_code = rc == LSYS_ENOMEM ? CURLE_OUT_OF_MEMORY : CURLE_FAILED_INIT,
      .body = "",
      .retry_after_s = -1,
  };
  on_done(d, j, &fake);
}

/* start_summary turns a queued summary into a sendable one at its start:
 * takes the held messages and makes the text with their count. The chat was
 * acquired through proto, the first held message, whose chat the summary
 * shares. Returns 0 when the summary was finished or dropped instead. */
static int start_summary(lsys_deliverer *d, job *j, int64_t now) {
  lsys_delivery_result r;
  void **items = NULL;
  unsigned span = 0;
  size_t n = lsys_tg_collapse_take(d->collapse, j->key, now, &items, &span);

  if (n == 0) {
    lsys_sink_telegram_cancel(d->tg, j->proto->tg);
    q_remove(d, j);
    job_free(d, j);
    return 0;
  }
  j->held = (job **)items;
  j->nheld = n;
  if (lsys_sink_telegram_summary(d->tg, j->held[0]->tg, (unsigned)n, span, &j->tg) != LSYS_OK) {
    lsys_sink_telegram_cancel(d->tg, j->proto->tg);
    set_result(&r, LSYS_OUTCOME_RETRY, "out of memory");
    finish(d, j, &r);
    return 0;
  }
  j->proto = NULL;
  lsys_tg_collapse_started(d->collapse, j->key, now);
  return 1;
}

/* start_tg starts j's next Telegram part when its chat and rate windows
 * allow; otherwise lowers *wake to when it may. */
static void start_tg(lsys_deliverer *d, job *j, int64_t now, int64_t *wake) {
  lsys_tg_msg *probe = j->tg != NULL ? j->tg : j->proto->tg;
  int64_t at = INT64_MAX;
  const char *url = NULL, *body = NULL;
  size_t len = 0;
  int rc = lsys_sink_telegram_acquire(d->tg, probe, now, d->pass, &at);

  if (rc == LSYS_TG_BUSY)
    return;
  if (rc == LSYS_TG_LIMITED) {
    if (!j->waiting) {
      BUMP(d, rate_limited_waits);
      j->waiting = 1;
    }
    if (at < *wake)
      *wake = at;
    return;
  }
  j->waiting = 0;
  if (j->role == ROLE_SUMMARY && j->tg == NULL) {
    if (!start_summary(d, j, now))
      return;
  } else if (j->role == ROLE_LEADER && !j->started) {
    lsys_tg_collapse_started(d->collapse, j->key, now);
    j->started = 1;
  }
  rc = lsys_sink_telegram_request(d->tg, j->tg, &url, &body, &len);
  post(d, j, rc, url, body, len);
}

/* schedule starts what may start, in submit order; returns the earliest time
 * something held back may start (INT64_MAX: nothing is waiting for time). */
static int64_t schedule(lsys_deliverer *d, int64_t now) {
  int64_t wake = INT64_MAX;
  int limit = d->cfg->concurrency;
  job *j, *next;

  d->pass++;
  for (j = d->head; j != NULL && lsys_http_multi_in_flight(d->http) < limit; j = next) {
    next = j->next; /* j may leave the queue */
    if (j->state != JOB_QUEUED)
      continue;
    if (d->kind == LSYS_SINK_KIND_TELEGRAM) {
      start_tg(d, j, now, &wake);
    } else {
      const char *url = NULL, *body = NULL;
      size_t len = 0;
      int rc = lsys_sink_logbeacon_request(d->lb, j->lb, &url, &body, &len);
      post(d, j, rc, url, body, len);
    }
  }
  return wake;
}

/* make_summaries queues one summary job per collapse key whose held messages
 * are due; returns when the next key becomes due. */
static int64_t make_summaries(lsys_deliverer *d, int64_t now) {
  const char *key;
  void *first;

  if (d->collapse == NULL)
    return INT64_MAX;
  while (lsys_tg_collapse_due(d->collapse, now, &key, &first)) {
    job *j = calloc(1, sizeof *j);
    if (j == NULL || (j->key = strdup(key)) == NULL) {
      /* Cannot queue a summary: give the held messages back to the retry queue. */
      void **items = NULL;
      unsigned span;
      size_t n = lsys_tg_collapse_take(d->collapse, key, now, &items, &span);
      for (size_t i = 0; i < n; i++) {
        job *h = items[i];
        set_result(&h->result, LSYS_OUTCOME_RETRY, "out of memory");
        done_push(d, h);
      }
      free(items);
      free(j);
      continue;
    }
    j->role = ROLE_SUMMARY;
    j->state = JOB_QUEUED;
    j->proto = first;
    q_append(d, j);
  }
  return lsys_tg_collapse_next_due(d->collapse, now);
}

int lsys_deliverer_create(lsys_deliverer **out, lsys_sink_kind kind, const lsys_config *cfg,
                          lsys_delivered_fn fn, void *arg, char *err, size_t errlen) {
  lsys_deliverer *d = NULL;
  int rc = LSYS_EINVAL;

  if (out == NULL || cfg == NULL || fn == NULL ||
      (kind != LSYS_SINK_KIND_LOGBEACON && kind != LSYS_SINK_KIND_TELEGRAM)) {
    snprintf(err, errlen, "invalid argument");
    goto fail;
  }
  rc = LSYS_ECONFIG;
  if (cfg->concurrency < 1 || cfg->http_timeout_ms < 1 ||
      (kind == LSYS_SINK_KIND_TELEGRAM &&
       (cfg->tg_bot_rate_per_s < 1 || cfg->tg_chat_rate_per_min < 1 || cfg->tg_collapse_window_s < 0))) {
    snprintf(err, errlen,
             "LOGSYS_CONCURRENCY, LOGSYS_HTTP_TIMEOUT_MS and the Telegram rates must be positive");
    goto fail;
  }
  rc = LSYS_ENOMEM;
  if ((d = calloc(1, sizeof *d)) == NULL) {
    snprintf(err, errlen, "out of memory");
    goto fail;
  }
  d->kind = kind;
  d->cfg = cfg;
  d->fn = fn;
  d->arg = arg;
  d->capacity = (size_t)LSYS_DELIVERER_HOLD_FACTOR * (size_t)cfg->concurrency;
  if (kind == LSYS_SINK_KIND_LOGBEACON)
    rc = lsys_sink_logbeacon_create(&d->lb, cfg, err, errlen);
  else
    rc = lsys_sink_telegram_create(&d->tg, cfg, err, errlen);
  if (rc != LSYS_OK)
    goto fail;
  if (kind == LSYS_SINK_KIND_TELEGRAM && cfg->tg_collapse_window_s > 0 &&
      (rc = lsys_tg_collapse_create(&d->collapse, (int64_t)cfg->tg_collapse_window_s * 1000,
                                    d->capacity / 2)) != LSYS_OK) {
    snprintf(err, errlen, "out of memory");
    goto fail;
  }
  if ((rc = lsys_http_multi_create(&d->http, cfg->concurrency, cfg->http_timeout_ms, on_done, d)) !=
      LSYS_OK) {
    snprintf(err, errlen, "cannot set up libcurl: %s", lsys_strerror(rc));
    goto fail;
  }
  *out = d;
  return LSYS_OK;

fail:
  lsys_deliverer_destroy(d);
  return rc;
}

int lsys_deliverer_submit(lsys_deliverer *d, const char *body, size_t len, void *token) {
  lsys_delivery_result r;
  job *j;
  int rc;

  if (d->pending >= d->capacity)
    return LSYS_EFULL;
  if ((j = calloc(1, sizeof *j)) == NULL)
    return LSYS_ENOMEM;
  j->token = token;
  j->state = JOB_QUEUED;
  if (d->kind == LSYS_SINK_KIND_LOGBEACON)
    rc = lsys_sink_logbeacon_parse(d->lb, body, len, &j->lb, &r);
  else
    rc = lsys_sink_telegram_parse(d->tg, body, len, &j->tg, &r);
  if (rc == LSYS_ENOMEM) {
    free(j);
    return LSYS_ENOMEM;
  }
  d->pending++;
  if (rc != LSYS_OK) { /* not a deliverable message: reported PERMANENT by the next poll */
    j->result = r;
    done_push(d, j);
    return LSYS_OK;
  }
  const char *key = d->collapse ? lsys_sink_telegram_collapse_key(j->tg) : NULL;
  if (key != NULL) {
    if (lsys_tg_collapse_admit(d->collapse, key, lsys_clock_ms(), j) == LSYS_TG_COLLAPSE_HOLD) {
      j->state = JOB_HELD;
      return LSYS_OK;
    }
    if ((j->key = strdup(key)) != NULL)
      j->role = ROLE_LEADER;
    else
      lsys_tg_collapse_failed(d->collapse, key); /* sent as a plain message */
  }
  q_append(d, j);
  return LSYS_OK;
}

int lsys_deliverer_poll(lsys_deliverer *d, int timeout_ms) {
  int64_t deadline = lsys_clock_ms() + (timeout_ms > 0 ? timeout_ms : 0);

  if (report_done(d) > 0)
    return LSYS_OK;
  for (;;) {
    int64_t now = lsys_clock_ms();
    int64_t wake = make_summaries(d, now);
    int64_t at = schedule(d, now);
    int64_t until = deadline;
    if (at < wake)
      wake = at;
    if (wake < until)
      until = wake;
    lsys_http_multi_run(d->http, until > now ? (int)(until - now) : 0);
    if (report_done(d) > 0 || lsys_clock_ms() >= deadline)
      return LSYS_OK;
  }
}

size_t lsys_deliverer_pending(const lsys_deliverer *d) {
  return d->pending;
}

void lsys_deliverer_stats(const lsys_deliverer *d, lsys_delivery_stats *out) {
#define LOAD(field) atomic_load_explicit(&d->st.field, memory_order_relaxed)
  out->delivered = LOAD(delivered);
  out->retry = LOAD(retry);
  out->permanent = LOAD(permanent);
  out->requests = LOAD(requests);
  out->tg_429 = LOAD(tg_429);
  out->collapsed = LOAD(collapsed);
  out->rate_limited_waits = LOAD(rate_limited_waits);
  out->key_store_errors = LOAD(key_store_errors);
#undef LOAD
}

/* shut_held reports a message still held by the collapse table (shutdown). */
static void shut_held(void *arg, void *item) {
  lsys_deliverer *d = arg;
  job *j = item;
  set_result(&j->result, LSYS_OUTCOME_RETRY, "shutting down");
  done_push(d, j);
}

void lsys_deliverer_destroy(lsys_deliverer *d) {
  lsys_delivery_result r;

  if (d == NULL)
    return;
  /* Transfers in flight come back through on_done as "shutting down". */
  lsys_http_multi_destroy(d->http);
  d->http = NULL;
  set_result(&r, LSYS_OUTCOME_RETRY, "shutting down");
  while (d->head != NULL)
    finish(d, d->head, &r);
  if (d->collapse != NULL)
    lsys_tg_collapse_drain(d->collapse, shut_held, d);
  report_done(d);
  lsys_tg_collapse_destroy(d->collapse);
  lsys_sink_logbeacon_destroy(d->lb);
  lsys_sink_telegram_destroy(d->tg);
  free(d);
}
