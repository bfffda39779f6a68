/* spooler.c - spool entry encoding, replay cursor and confirm-ordered release.
 *
 * Entry payload: queue (1 byte), message_id length (1 byte), message_id, body. */
#include "spooler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "spool.h"

typedef struct inflight {
  uint64_t seq;
  int acked;
} inflight;

struct lsys_spooler {
  lsys_spool *spool;
  lsys_sidecar_metrics *m;
  inflight *fifo; /* replayed copies in publish order */
  size_t cap, head, len;
  int need_rewind;
  uint64_t failures; /* failed appends or syncs: each drops every unsynced record */
  char *buf; /* encoding buffer for put */
  size_t buf_cap;
  char msgid[256];
};

/* report prints spool damage found at open. */
static void report(void *arg, const char *line) {
  (void)arg;
  fprintf(stderr, "logsysd: spool: %s\n", line);
}

/* update_gauges mirrors the spool's size into the metrics. */
static void update_gauges(lsys_spooler *sp) {
  lsys_gauge_set(sp->m->spool_bytes, (double)lsys_spool_bytes(sp->spool));
  lsys_gauge_set(sp->m->spool_records, (double)lsys_spool_records(sp->spool));
}

int lsys_spooler_open(lsys_spooler **out, const char *dir, uint64_t max_bytes, size_t inflight_max,
                      lsys_sidecar_metrics *m, char *err, size_t errlen) {
  lsys_spooler *sp = calloc(1, sizeof *sp);
  lsys_spool_opts o = {.dir = dir, .max_bytes = max_bytes, .report = report};
  int rc = LSYS_ENOMEM;

  if (!sp || !(sp->fifo = calloc(inflight_max ? inflight_max : 1, sizeof *sp->fifo))) {
    snprintf(err, errlen, "out of memory");
    goto fail;
  }
  sp->cap = inflight_max ? inflight_max : 1;
  sp->m = m;
  if ((rc = lsys_spool_open(&sp->spool, &o, err, errlen)) != LSYS_OK)
    goto fail;
  update_gauges(sp);
  *out = sp;
  return LSYS_OK;
fail:
  lsys_spooler_close(sp);
  return rc;
}

int lsys_spooler_put(lsys_spooler *sp, int queue, const char *message_id, const char *body,
                     size_t len) {
  size_t idlen = strlen(message_id);
  if (idlen > 255)
    idlen = 255; /* log_ids are at most 128 bytes (batch validation) */
  size_t need = 2 + idlen + len;
  if (need > sp->buf_cap) {
    char *nb = realloc(sp->buf, need);
    if (!nb)
      return LSYS_ENOMEM;
    sp->buf = nb;
    sp->buf_cap = need;
  }
  sp->buf[0] = (char)queue;
  sp->buf[1] = (char)idlen;
  memcpy(sp->buf + 2, message_id, idlen);
  memcpy(sp->buf + 2 + idlen, body, len);
  int rc = lsys_spool_append(sp->spool, sp->buf, need, NULL);
  if (rc != LSYS_OK && rc != LSYS_EFULL)
    sp->failures++; /* the spool rolled back to its last sync */
  if (rc == LSYS_OK)
    lsys_counter_add(sp->m->spooled, 1);
  else if (rc == LSYS_EFULL)
    lsys_counter_add(sp->m->spool_rejected, 1);
  update_gauges(sp);
  return rc;
}

int lsys_spooler_sync(lsys_spooler *sp) {
  int rc = lsys_spool_sync(sp->spool);
  if (rc != LSYS_OK)
    sp->failures++;
  return rc;
}

uint64_t lsys_spooler_failures(const lsys_spooler *sp) { return sp->failures; }

int lsys_spooler_active(const lsys_spooler *sp) { return lsys_spool_records(sp->spool) > 0; }

int lsys_spooler_next(lsys_spooler *sp, uint64_t *seq, int *queue, const char **message_id,
                      const char **body, size_t *len) {
  const void *buf;
  size_t n;
  if (sp->need_rewind && sp->len == 0) {
    lsys_spool_rewind(sp->spool);
    sp->need_rewind = 0;
  }
  if (sp->need_rewind)
    return LSYS_ETIMEDOUT; /* wait for the copies in flight to settle first */
  if (sp->len == sp->cap)
    return LSYS_EFULL;
  for (;;) {
    int rc = lsys_spool_next(sp->spool, seq, &buf, &n);
    if (rc != LSYS_OK)
      return LSYS_ETIMEDOUT;
    const unsigned char *p = buf;
    if (n >= 2 && (size_t)p[1] + 2 <= n && p[0] < LSYS_Q_COUNT) {
      memcpy(sp->msgid, p + 2, p[1]);
      sp->msgid[p[1]] = '\0';
      *queue = p[0];
      *message_id = sp->msgid;
      *body = (const char *)p + 2 + p[1];
      *len = n - 2 - p[1];
      break;
    }
    /* A checksummed entry we cannot decode: not ours; report and release it. */
    fprintf(stderr, "logsysd: spool: entry %llu is not a logsys message copy; skipped\n",
            (unsigned long long)*seq);
    if (sp->len == 0)
      lsys_spool_release(sp->spool, *seq);
  }
  sp->fifo[(sp->head + sp->len) % sp->cap] = (inflight){*seq, 0};
  sp->len++;
  return LSYS_OK;
}

void lsys_spooler_settled(lsys_spooler *sp, uint64_t seq, int ack) {
  uint64_t release = 0;
  for (size_t i = 0; i < sp->len; i++) {
    inflight *f = &sp->fifo[(sp->head + i) % sp->cap];
    if (f->seq == seq) {
      f->acked = ack ? 1 : -1;
      break;
    }
  }
  if (!ack)
    sp->need_rewind = 1;
  while (sp->len > 0 && sp->fifo[sp->head].acked != 0) {
    inflight *f = &sp->fifo[sp->head];
    if (f->acked > 0 && !sp->need_rewind) {
      release = f->seq;
      lsys_counter_add(sp->m->replayed, 1);
    }
    sp->head = (sp->head + 1) % sp->cap;
    sp->len--;
  }
  if (release)
    lsys_spool_release(sp->spool, release);
  update_gauges(sp);
}

void lsys_spooler_lost(lsys_spooler *sp) {
  sp->head = sp->len = 0;
  lsys_spool_rewind(sp->spool);
  sp->need_rewind = 0;
}

uint64_t lsys_spooler_bytes(const lsys_spooler *sp) { return lsys_spool_bytes(sp->spool); }

uint64_t lsys_spooler_records(const lsys_spooler *sp) { return lsys_spool_records(sp->spool); }

void lsys_spooler_close(lsys_spooler *sp) {
  if (!sp)
    return;
  lsys_spool_close(sp->spool);
  free(sp->fifo);
  free(sp->buf);
  free(sp);
}
