/* direct.c - spooled copies to the sinks with retries and a dead-letter file. */
#include "direct.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backoff.h"
#include "clock.h"
#include "delivery.h"
#include "errors.h"
#include "queue_json.h"

/* One spooled copy being delivered. */
typedef struct entry {
  uint64_t seq;
  int queue;        /* LSYS_Q_LOGBEACON or LSYS_Q_TG */
  char *body;
  size_t len;
  int attempts;     /* failed attempts so far */
  int64_t due_ms;   /* when a waiting retry may go again */
  struct entry *next;
} entry;

struct lsys_direct {
  const lsys_config *cfg;
  lsys_spooler *sp;
  lsys_sidecar_metrics *m;
  lsys_deliverer *dlv[LSYS_Q_COUNT];
  entry *waiting;   /* retries not yet due, or not taken by a full deliverer */
  size_t inflight;  /* entries taken from the spool, not settled */
  int dlq_fd;
  int closing;      /* destroy: what comes back stays in the spool */
  char q_name[LSYS_Q_COUNT][256];
};

/* settle releases e from the spool and frees it. */
static void settle(lsys_direct *d, entry *e) {
  lsys_spooler_settled(d->sp, e->seq, 1);
  d->inflight--;
  free(e->body);
  free(e);
}

/* dead_letter appends e to the dead-letter file (synced) and settles it. */
static void dead_letter(lsys_direct *d, entry *e, const char *reason) {
  char ts[20];
  struct timespec now;
  cJSON *o = cJSON_CreateObject();
  char *line = NULL, *msg = strndup(e->body, e->len);

  clock_gettime(CLOCK_REALTIME, &now);
  lsys_qjson_timestamp((int64_t)now.tv_sec * 1000, ts);
  if (o && msg && cJSON_AddStringToObject(o, "queue", d->q_name[e->queue]) &&
      cJSON_AddStringToObject(o, "reason", reason) &&
      cJSON_AddNumberToObject(o, "attempts", e->attempts) &&
      cJSON_AddStringToObject(o, "failed_at", ts) && cJSON_AddStringToObject(o, "message", msg))
    line = cJSON_PrintUnformatted(o);
  int ok = line && d->dlq_fd >= 0 && dprintf(d->dlq_fd, "%s\n", line) >= 0 && fdatasync(d->dlq_fd) == 0;
  free(line);
  free(msg);
  cJSON_Delete(o);
  if (!ok) {
    /* Not written: the copy stays in the spool and is tried again later. */
    fprintf(stderr, "logsysd: cannot write the dead-letter file; a message of %s stays in the "
                    "spool (%s)\n", d->q_name[e->queue], reason);
    e->due_ms = lsys_clock_ms() + d->cfg->retry_max_ms;
    e->next = d->waiting;
    d->waiting = e;
    return;
  }
  lsys_counter_add(d->m->dead_lettered[e->queue], 1);
  settle(d, e);
}

/* delivered is the deliverers' callback. */
static void delivered(void *arg, void *token, const lsys_delivery_result *r) {
  lsys_direct *d = arg;
  entry *e = token;
  if (d->closing && r->outcome != LSYS_OUTCOME_OK) {
    free(e->body); /* not settled: replayed from the spool at the next start */
    free(e);
    return;
  }
  lsys_counter_add(d->m->deliveries[e->queue][r->outcome], 1);
  if (r->outcome == LSYS_OUTCOME_OK) {
    settle(d, e);
  } else if (r->outcome == LSYS_OUTCOME_PERMANENT) {
    e->attempts++;
    dead_letter(d, e, r->reason);
  } else if (++e->attempts >= d->cfg->max_attempts) {
    dead_letter(d, e, r->reason);
  } else {
    e->due_ms = lsys_clock_ms() + lsys_backoff_ms(d->cfg->retry_base_ms, d->cfg->retry_max_ms, e->attempts,
                                           (uint32_t)rand());
    e->next = d->waiting;
    d->waiting = e;
  }
}

/* submit hands e to its deliverer, or parks it when the deliverer is full. */
static int submit(lsys_direct *d, entry *e) {
  if (lsys_deliverer_submit(d->dlv[e->queue], e->body, e->len, e) == LSYS_OK)
    return LSYS_OK;
  e->due_ms = 0;
  e->next = d->waiting;
  d->waiting = e;
  return LSYS_EFULL;
}

/* resubmit_due submits the waiting entries whose time has come. */
static void resubmit_due(lsys_direct *d) {
  entry *list = d->waiting, *e;
  int64_t now = lsys_clock_ms();
  d->waiting = NULL;
  while ((e = list) != NULL) {
    list = e->next;
    if (e->due_ms > now) {
      e->next = d->waiting;
      d->waiting = e;
    } else {
      submit(d, e);
    }
  }
}

void lsys_direct_pump(lsys_direct *d, int take_new, int timeout_ms) {
  uint64_t seq;
  int q;
  const char *id, *body;
  size_t len;

  resubmit_due(d);
  while (take_new && lsys_spooler_next(d->sp, &seq, &q, &id, &body, &len) == LSYS_OK) {
    entry *e = calloc(1, sizeof *e);
    if (!e || !(e->body = malloc(len ? len : 1))) {
      free(e);
      lsys_spooler_lost(d->sp); /* out of memory: hand it out again later */
      break;
    }
    memcpy(e->body, body, len);
    e->len = len;
    e->seq = seq;
    e->queue = q;
    d->inflight++;
    if (submit(d, e) != LSYS_OK)
      break;
  }
  int busy_lb = lsys_deliverer_pending(d->dlv[LSYS_Q_LOGBEACON]) > 0;
  lsys_deliverer_poll(d->dlv[LSYS_Q_LOGBEACON], busy_lb ? timeout_ms / 2 : 0);
  lsys_deliverer_poll(d->dlv[LSYS_Q_TG], busy_lb ? timeout_ms / 2 : timeout_ms);
}

size_t lsys_direct_inflight(const lsys_direct *d) { return d->inflight; }

int lsys_direct_create(lsys_direct **out, const lsys_config *cfg, const char *spool_dir,
                       lsys_spooler *sp, lsys_sidecar_metrics *m, char *err, size_t errlen) {
  lsys_direct *d = calloc(1, sizeof *d);
  char path[4096];
  int rc = LSYS_ENOMEM;

  if (!d) {
    snprintf(err, errlen, "out of memory");
    return rc;
  }
  d->cfg = cfg;
  d->sp = sp;
  d->m = m;
  d->dlq_fd = -1;
  lsys_qjson_queue_name(cfg->domain, "logbeacon", d->q_name[LSYS_Q_LOGBEACON], sizeof d->q_name[0]);
  lsys_qjson_queue_name(cfg->domain, "tg", d->q_name[LSYS_Q_TG], sizeof d->q_name[0]);
  if ((rc = lsys_deliverer_create(&d->dlv[LSYS_Q_LOGBEACON], LSYS_SINK_KIND_LOGBEACON, cfg, delivered,
                                  d, err, errlen)) != LSYS_OK ||
      (rc = lsys_deliverer_create(&d->dlv[LSYS_Q_TG], LSYS_SINK_KIND_TELEGRAM, cfg, delivered, d, err,
                                  errlen)) != LSYS_OK)
    goto fail;
  snprintf(path, sizeof path, "%s/dead-letters.jsonl", spool_dir);
  d->dlq_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (d->dlq_fd < 0) {
    snprintf(err, errlen, "cannot open the dead-letter file %s", path);
    rc = LSYS_EIO;
    goto fail;
  }
  *out = d;
  return LSYS_OK;
fail:
  lsys_direct_destroy(d);
  return rc;
}

void lsys_direct_destroy(lsys_direct *d) {
  entry *e;
  if (!d)
    return;
  /* Pending deliveries come back as RETRY: they stay in the spool. */
  d->closing = 1;
  for (int q = 0; q < LSYS_Q_COUNT; q++)
    lsys_deliverer_destroy(d->dlv[q]);
  while ((e = d->waiting) != NULL) {
    d->waiting = e->next;
    free(e->body);
    free(e);
  }
  if (d->dlq_fd >= 0)
    close(d->dlq_fd);
  free(d);
}
