/* replay.c - move {queue}.dlq back to {queue}, confirmed, one basic.get at a
 * time with up to WINDOW copies awaiting their confirm. */
#include "replay.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "amqp_session.h"
#include "clock.h"
#include "errors.h"
#include "retry.h"

#define WINDOW 256
#define WAIT_MS 100
#define STALL_MS 30000 /* no answer from the broker this long: give up */

/* One copy awaiting its confirm: ack the DLQ message dtag when it comes. */
typedef struct pending {
  uint64_t ptag, dtag;
  int settled, ack;
} pending;

typedef struct replay {
  lsys_amqp *s;
  const lsys_topology *t;
  lsys_amqp_msg *got; /* the answer to the outstanding basic.get */
  int asked, empty;
  pending win[WINDOW];
  size_t n; /* entries in win, in tag order */
  uint64_t taken, moved, refused;
} replay;

static void on_message(void *arg, lsys_amqp_msg *m) {
  replay *r = arg;
  lsys_amqp_msg_free(r->got); /* cannot happen: one get at a time */
  r->got = m;
  r->asked = 0;
}

static void on_empty(void *arg) {
  replay *r = arg;
  r->empty = 1;
  r->asked = 0;
}

static void on_confirm(void *arg, uint64_t tag, int multiple, int ack) {
  replay *r = arg;
  for (size_t i = 0; i < r->n; i++) {
    if (r->win[i].ptag == tag || (multiple && r->win[i].ptag < tag)) {
      r->win[i].settled = 1;
      r->win[i].ack = ack;
    }
  }
}

/* settle acks (or hands back) the DLQ messages whose copies were confirmed. */
static int settle(replay *r) {
  size_t k = 0;
  for (size_t i = 0; i < r->n; i++) {
    pending *p = &r->win[i];
    if (!p->settled) {
      r->win[k++] = *p;
      continue;
    }
    int rc = p->ack ? lsys_amqp_ack(r->s, p->dtag, 0) : lsys_amqp_reject(r->s, p->dtag, 1);
    if (rc != LSYS_OK)
      return rc;
    if (p->ack)
      r->moved++;
    else
      r->refused++;
  }
  r->n = k;
  return LSYS_OK;
}

/* forward republishes the message just taken from the DLQ. */
static int forward(replay *r) {
  lsys_retry_headers h;
  uint64_t tag = 0;
  lsys_retry_headers_replay(&h);
  int rc = lsys_amqp_republish(r->s, r->t->queue, r->got, h.fields, h.n, NULL, &tag);
  if (rc == LSYS_OK)
    r->win[r->n++] = (pending){.ptag = tag, .dtag = lsys_amqp_msg_tag(r->got)};
  lsys_amqp_msg_free(r->got);
  r->got = NULL;
  r->taken++;
  return rc;
}

int lsys_replay_run(const lsys_config *cfg, const lsys_topology *t, uint64_t *moved, char *err,
                    size_t errlen) {
  replay r = {.t = t};
  const lsys_amqp_events ev = {.arg = &r, .confirm = on_confirm, .message = on_message,
                               .get_empty = on_empty};
  uint32_t depth = 0;
  int64_t last_progress;
  int rc;

  *moved = 0;
  if ((rc = lsys_amqp_connect(&r.s, cfg->amqp_url, cfg->amqp_heartbeat_s, 1, err, errlen)) != LSYS_OK)
    return rc;
  if ((rc = lsys_topology_declare(r.s, t, err, errlen)) != LSYS_OK ||
      (rc = lsys_amqp_queue_depth(r.s, t->dlq, &depth, NULL, err, errlen)) != LSYS_OK)
    goto done;
  last_progress = lsys_clock_ms();
  while (!((r.empty || r.taken >= depth) && r.n == 0 && !r.asked)) {
    uint64_t before = r.moved + r.taken;
    if (!r.asked && !r.empty && r.taken < depth && r.n < WINDOW) {
      if ((rc = lsys_amqp_get(r.s, t->dlq)) != LSYS_OK)
        break;
      r.asked = 1;
    }
    if ((rc = lsys_amqp_pump(r.s, WAIT_MS, &ev)) != LSYS_OK)
      break;
    if (r.got && (rc = forward(&r)) != LSYS_OK)
      break;
    if ((rc = settle(&r)) != LSYS_OK)
      break;
    if (r.moved + r.taken != before)
      last_progress = lsys_clock_ms();
    else if (lsys_clock_ms() - last_progress > STALL_MS) {
      rc = LSYS_ETIMEDOUT;
      snprintf(err, errlen, "RabbitMQ did not answer for %d s", STALL_MS / 1000);
      goto done;
    }
  }
  if (rc == LSYS_ECONN)
    snprintf(err, errlen, "%s", lsys_amqp_error(r.s));
  if (rc == LSYS_OK && r.refused > 0)
    fprintf(stderr, "logsys-worker: RabbitMQ refused %llu copies; they stay in %s\n",
            (unsigned long long)r.refused, t->dlq);
done:
  *moved = r.moved;
  lsys_amqp_msg_free(r.got);
  lsys_amqp_destroy(r.s);
  return rc;
}
