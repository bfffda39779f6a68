/* ingest.c - nng rep0 listener with a pool of contexts (the async server
 * pattern of nng's reqrep demo: each context cycles recv -> work -> send). */
#include "ingest.h"

#include <errno.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/transport/ipc/ipc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errors.h"

enum { CTX_IDLE, CTX_RECV, CTX_WORK, CTX_SEND };

struct lsys_request {
  lsys_ingest *owner;
  nng_ctx ctx;
  nng_aio *aio;
  nng_msg *msg; /* the request while in CTX_WORK */
  int state;
};

struct lsys_ingest {
  nng_socket sock;
  int sock_open;
  nng_listener listener;
  lsys_ingest_fn fn;
  void *arg;
  atomic_int stopping;
  pthread_mutex_t mu; /* guards busy */
  pthread_cond_t cv;
  int busy;           /* contexts not idle */
  int nctx;
  lsys_request *ctxs;
};

/* set_idle marks r idle and wakes lsys_ingest_wait_idle. */
static void set_idle(lsys_request *r) {
  lsys_ingest *in = r->owner;
  pthread_mutex_lock(&in->mu);
  r->state = CTX_IDLE;
  in->busy--;
  pthread_cond_broadcast(&in->cv);
  pthread_mutex_unlock(&in->mu);
}

/* rearm waits for the next request on r. A stop that came in between the
 * caller's check and the arming found nothing to cancel: look again and cancel
 * it ourselves (the callback then sees the cancel and goes idle). */
static void rearm(lsys_request *r) {
  r->state = CTX_RECV;
  nng_ctx_recv(r->ctx, r->aio);
  if (atomic_load(&r->owner->stopping))
    nng_aio_cancel(r->aio);
}

/* ctx_cb runs on an nng thread when a context's receive or send completes. */
static void ctx_cb(void *arg) {
  lsys_request *r = arg;
  lsys_ingest *in = r->owner;

  switch (r->state) {
  case CTX_RECV:
    if (nng_aio_result(r->aio) != 0) {
      int rv = nng_aio_result(r->aio);
      if (rv == NNG_ECLOSED || rv == NNG_ECANCELED || atomic_load(&in->stopping)) {
        set_idle(r); /* closed, or cancelled by stop */
        return;
      }
      rearm(r); /* anything else (e.g. out of memory): keep serving */
      return;
    }
    r->msg = nng_aio_get_msg(r->aio);
    nng_aio_set_msg(r->aio, NULL);
    r->state = CTX_WORK;
    in->fn(in->arg, r);
    return;
  case CTX_SEND:
    if (nng_aio_result(r->aio) != 0) {
      nng_msg *m = nng_aio_get_msg(r->aio);
      nng_aio_set_msg(r->aio, NULL);
      if (m)
      nng_msg_free(m); /* the peer went away; it will resend */
    }
    if (atomic_load(&in->stopping)) {
      set_idle(r);
      return;
    }
    rearm(r);
    return;
  default:
    return;
  }
}

int lsys_ingest_create(lsys_ingest **out, const lsys_ingest_opts *o, char *err, size_t errlen) {
  lsys_ingest *in = calloc(1, sizeof *in);
  int rv = 0, rc = LSYS_EIO;
  const char *step = "";

  if (!in) {
    snprintf(err, errlen, "out of memory");
    return LSYS_ENOMEM;
  }
  pthread_mutex_init(&in->mu, NULL);
  pthread_cond_init(&in->cv, NULL);
  in->fn = o->fn;
  in->arg = o->arg;
  if (!(in->ctxs = calloc((size_t)o->contexts, sizeof *in->ctxs))) {
    snprintf(err, errlen, "out of memory");
    rc = LSYS_ENOMEM;
    goto fail;
  }
  if ((rv = nng_rep0_open(&in->sock)) != 0) {
    step = "open rep0 socket";
    goto nng_fail;
  }
  in->sock_open = 1;
  if ((rv = nng_socket_set_size(in->sock, NNG_OPT_RECVMAXSZ, o->max_recv_bytes)) != 0) {
    step = "set receive limit";
    goto nng_fail;
  }
  if ((rv = nng_listener_create(&in->listener, in->sock, o->url)) != 0) {
    step = "create listener";
    goto nng_fail;
  }
  if (strncmp(o->url, "ipc://", 6) == 0 &&
      (rv = nng_listener_set_int(in->listener, NNG_OPT_IPC_PERMISSIONS, o->ipc_mode)) != 0) {
    step = "set IPC permissions";
    goto nng_fail;
  }
  if ((rv = nng_listener_start(in->listener, 0)) != 0) {
    step = "listen";
    goto nng_fail;
  }
  for (int i = 0; i < o->contexts; i++) {
    lsys_request *r = &in->ctxs[i];
    r->owner = in;
    if ((rv = nng_aio_alloc(&r->aio, ctx_cb, r)) != 0) {
      step = "allocate aio";
      goto nng_fail;
    }
    in->nctx = i + 1;
    if ((rv = nng_ctx_open(&r->ctx, in->sock)) != 0) {
      step = "open context";
      goto nng_fail;
    }
  }
  for (int i = 0; i < in->nctx; i++) {
    lsys_request *r = &in->ctxs[i];
    in->busy++;
    r->state = CTX_RECV;
    nng_ctx_recv(r->ctx, r->aio);
  }
  *out = in;
  return LSYS_OK;

nng_fail:
  snprintf(err, errlen, "%s on %s: %s", step, o->url, nng_strerror(rv));
fail:
  lsys_ingest_destroy(in);
  return rc;
}

const void *lsys_request_data(const lsys_request *r, size_t *len) {
  *len = nng_msg_len(r->msg);
  return nng_msg_body(r->msg);
}

void lsys_request_reply(lsys_request *r, const void *buf, size_t len) {
  nng_msg *m = NULL;

  nng_msg_free(r->msg);
  r->msg = NULL;
  if (nng_msg_alloc(&m, 0) != 0 || nng_msg_append(m, buf, len) != 0) {
    /* No memory for the reply: the client times out and resends. */
    if (m)
      nng_msg_free(m);
    if (atomic_load(&r->owner->stopping)) {
      set_idle(r);
      return;
    }
    rearm(r);
    return;
  }
  r->state = CTX_SEND;
  nng_aio_set_msg(r->aio, m);
  nng_ctx_send(r->ctx, r->aio);
}

void lsys_ingest_stop(lsys_ingest *in) {
  if (!in || atomic_exchange(&in->stopping, 1))
    return;
  /* Contexts waiting for a request give up; those holding one finish it. */
  for (int i = 0; i < in->nctx; i++)
    nng_aio_cancel(in->ctxs[i].aio);
}

int lsys_ingest_wait_idle(lsys_ingest *in, int timeout_ms) {
  struct timespec dl;
  int rc = LSYS_OK;

  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += timeout_ms / 1000;
  dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
  if (dl.tv_nsec >= 1000000000L) {
    dl.tv_sec++;
    dl.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&in->mu);
  while (in->busy > 0) {
    if (pthread_cond_timedwait(&in->cv, &in->mu, &dl) == ETIMEDOUT) {
      rc = LSYS_ETIMEDOUT;
      break;
    }
  }
  pthread_mutex_unlock(&in->mu);
  return rc;
}

void lsys_ingest_destroy(lsys_ingest *in) {
  if (!in)
    return;
  if (in->sock_open)
    nng_close(in->sock); /* aborts pending aios, closes pipes and the listener */
  for (int i = 0; i < in->nctx; i++) {
    nng_aio_stop(in->ctxs[i].aio);
    if (in->ctxs[i].msg)
      nng_msg_free(in->ctxs[i].msg);
    nng_aio_free(in->ctxs[i].aio);
  }
  pthread_cond_destroy(&in->cv);
  pthread_mutex_destroy(&in->mu);
  free(in->ctxs);
  free(in);
}
