/* sender.c - the client's background thread: batch, send, handle the reply, resend.
 *
 * Only the sender thread touches the socket and the records it holds (pending,
 * carry); other threads meet it through atomics (sleeping, stop, counters) and
 * the mutex/condvar pair used for waking it and for logsys_flush(). */
#include "sender.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "logrec.h"
#include "logsys/v1/logsys.pb-c.h"

#define IDLE_POLL_MS 1    /* when idle, first poll the ring this often ... */
#define IDLE_POLLS 20     /* ... this many times, then sleep until woken ... */
#define IDLE_WAIT_MS 100  /* ... or this long */
#define BACKOFF_MIN_MS 50 /* pause after a request that made no progress ... */
#define BACKOFF_MAX_MS 500 /* ... doubling up to this */
#define RECONNECT_MIN_MS 50
#define RECONNECT_MAX_MS 2000
#define BATCH_OVERHEAD 64 /* LogBatch bytes besides its records and program name */
#define SYNC_MU 1u        /* sync_ready bits */
#define SYNC_WAKE 2u
#define SYNC_DONE 4u

struct lsys_sender {
  /* Set at create, read-only afterwards. */
  char *url;
  char *program;
  char client_id[17]; /* random per client: lets the sidecar count drops per client */
  size_t program_len;
  unsigned batch_max;
  int reply_timeout_ms;
  logsys_result_fn on_result;
  void *on_result_arg;
  int report_all;
  lsys_ring *ring;
  lsys_pool *pool;
  const _Atomic uint64_t *dropped;

  nng_socket sock;
  int sock_open;
  pthread_t thread;
  int thread_started;
  pthread_mutex_t mu;   /* guards the waits below, nothing else */
  pthread_cond_t wake;  /* the sender waits here when idle or backing off */
  pthread_cond_t done;  /* flushers wait here; broadcast after each reply */
  unsigned sync_ready;  /* SYNC_* bits: which of the three exist */

  _Alignas(64) atomic_int sleeping; /* read by every producer: own cache line */
  _Alignas(64) atomic_bool stop;
  _Atomic uint64_t acknowledged;
  _Atomic uint64_t rejected;
  _Atomic uint64_t resent;

  /* Sender thread only. pending[0..npending) are in logging order; the first
   * `limit` of them go in the next request. */
  lsys_logrec **pending;
  unsigned npending;
  size_t pending_bytes;
  lsys_logrec *carry; /* popped but did not fit the batch: goes first next time */
  unsigned limit;     /* records per request: batch_max, halved after a refusal */
  int backoff_ms;
  int idle_rounds;    /* idle() calls since the last record */
  uint64_t batch_id;
  Logsys__V1__LogRecord *pb; /* batch_max protobuf records pointing into pending */
  Logsys__V1__LogRecord **pbp;
};

/* deadline_after returns CLOCK_MONOTONIC now + ms, for pthread_cond_timedwait. */
static struct timespec deadline_after(int ms) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  t.tv_sec += ms / 1000;
  t.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (t.tv_nsec >= 1000000000L) {
    t.tv_sec++;
    t.tv_nsec -= 1000000000L;
  }
  return t;
}

/* stopping reports whether lsys_sender_stop() asked the thread to end. */
static int stopping(lsys_sender *s) {
  return atomic_load_explicit(&s->stop, memory_order_acquire);
}

/* record_bytes is a record's share of the batch budget. */
static size_t record_bytes(const lsys_sender *s, const lsys_logrec *r) {
  return r->wire_size + s->program_len;
}

/* fill tops pending up from carry and the ring: at most batch_max records and,
 * unless pending is empty, within LSYS_SENDER_MAX_BATCH_BYTES. */
static void fill(lsys_sender *s) {
  size_t budget = LSYS_SENDER_MAX_BATCH_BYTES - BATCH_OVERHEAD - s->program_len;
  while (s->npending < s->batch_max) {
    lsys_logrec *r = s->carry;
    void *item;
    if (r == NULL) {
      if (lsys_ring_pop(s->ring, &item) != LSYS_OK)
        return;
      r = item;
    }
    s->carry = NULL;
    if (s->npending > 0 && s->pending_bytes + record_bytes(s, r) > budget) {
      s->carry = r;
      return;
    }
    s->pending[s->npending++] = r;
    s->pending_bytes += record_bytes(s, r);
  }
}

/* nap waits ms or until kicked (lsys_sender_kick, stop): a light idle wait
 * that producers never pay for, as "sleeping" stays clear. */
static void nap(lsys_sender *s, int ms) {
  struct timespec until = deadline_after(ms);
  pthread_mutex_lock(&s->mu);
  if (!stopping(s))
    pthread_cond_timedwait(&s->wake, &s->mu, &until);
  pthread_mutex_unlock(&s->mu);
}

/* idle waits for records. For the first IDLE_POLLS rounds after the last record
 * it only naps and polls, so a steady trickle of logsys_log() calls never makes
 * a system call to wake us. After that it sleeps deeply: "sleeping" is published
 * before the ring is re-checked, and producers check it after their push (both
 * behind a full fence), so either we see the record or the producer sees the
 * flag and signals; the mutex keeps the signal from falling between our check
 * and our wait. */
static void idle(lsys_sender *s) {
  struct timespec until;
  if (s->idle_rounds < IDLE_POLLS) {
    s->idle_rounds++;
    nap(s, IDLE_POLL_MS);
    return;
  }
  until = deadline_after(IDLE_WAIT_MS);
  pthread_mutex_lock(&s->mu);
  atomic_store(&s->sleeping, 1);
  atomic_thread_fence(memory_order_seq_cst);
  if (!stopping(s) && lsys_ring_empty(s->ring))
    pthread_cond_timedwait(&s->wake, &s->mu, &until);
  atomic_store(&s->sleeping, 0);
  pthread_mutex_unlock(&s->mu);
}

/* pause_ms waits ms, or less when stopping. */
static void pause_ms(lsys_sender *s, int ms) {
  struct timespec until = deadline_after(ms);
  pthread_mutex_lock(&s->mu);
  while (!stopping(s) && pthread_cond_timedwait(&s->wake, &s->mu, &until) != ETIMEDOUT)
    ;
  pthread_mutex_unlock(&s->mu);
}

/* backoff returns the next pause after a request that made no progress. */
static int backoff(lsys_sender *s) {
  s->backoff_ms = s->backoff_ms == 0 ? BACKOFF_MIN_MS : s->backoff_ms * 2;
  if (s->backoff_ms > BACKOFF_MAX_MS)
    s->backoff_ms = BACKOFF_MAX_MS;
  return s->backoff_ms;
}

/* report calls on_result for one record; outside any lock. */
static void report(lsys_sender *s, const lsys_logrec *r, int result, unsigned flags,
                   const char *reason) {
  if (s->on_result != NULL)
    s->on_result(s->on_result_arg, r->log_id, result, flags, reason != NULL ? reason : "");
}

/* finish settles pending[i] for good: reports it, then counts it (so a flusher
 * that sees the count also sees what on_result did), then frees it. The slot is
 * left dangling; the caller compacts. */
static void finish(lsys_sender *s, unsigned i, int result, unsigned flags, const char *reason) {
  lsys_logrec *r = s->pending[i];
  if (result == LOGSYS_RESULT_REJECTED) {
    report(s, r, result, 0, reason);
    atomic_fetch_add_explicit(&s->rejected, 1, memory_order_release);
  } else {
    if (flags != 0 || s->report_all)
      report(s, r, result, flags, reason);
    atomic_fetch_add_explicit(&s->acknowledged, 1, memory_order_release);
  }
  s->pending_bytes -= record_bytes(s, r);
  lsys_logrec_destroy(r, s->pool);
  s->pending[i] = NULL;
}

/* compact closes the gaps finish() left, keeping order. */
static void compact(lsys_sender *s) {
  unsigned keep = 0;
  for (unsigned i = 0; i < s->npending; i++)
    if (s->pending[i] != NULL)
      s->pending[keep++] = s->pending[i];
  s->npending = keep;
}

/* notify_done wakes logsys_flush() callers after counters moved. */
static void notify_done(lsys_sender *s) {
  pthread_mutex_lock(&s->mu);
  pthread_cond_broadcast(&s->done);
  pthread_mutex_unlock(&s->mu);
}

/* send_batch packs pending[0..n) into one request and sends it. Returns 0 or an
 * nng error; on success the records are marked sent (and counted as resent if
 * they had been before). */
static int send_batch(lsys_sender *s, unsigned n) {
  Logsys__V1__LogBatch batch = LOGSYS__V1__LOG_BATCH__INIT;
  nng_msg *msg = NULL;
  int rv;

  for (unsigned i = 0; i < n; i++) {
    const lsys_logrec *r = s->pending[i];
    Logsys__V1__LogRecord *p = &s->pb[i];
    logsys__v1__log_record__init(p);
    p->level = (uint32_t)r->level;
    p->program_name = s->program;
    p->def_name = r->def_name;
    p->message = r->message;
    p->extra_info = r->extra_info;
    p->hash = r->hash;
    p->log_id = (char *)r->log_id;
    p->time_unix_ms = r->time_unix_ms;
    s->pbp[i] = p;
  }
  batch.batch_id = ++s->batch_id;
  batch.program_name = s->program;
  batch.n_records = n;
  batch.records = s->pbp;
  batch.client_dropped = atomic_load_explicit(s->dropped, memory_order_relaxed);
  batch.client_id = s->client_id;
  rv = nng_msg_alloc(&msg, logsys__v1__log_batch__get_packed_size(&batch));
  if (rv != 0)
    return rv;
  logsys__v1__log_batch__pack(&batch, nng_msg_body(msg));
  rv = nng_sendmsg(s->sock, msg, 0);
  if (rv != 0) {
    nng_msg_free(msg); /* still ours on failure */
    return rv;
  }
  for (unsigned i = 0; i < n; i++) {
    if (s->pending[i]->sent)
      atomic_fetch_add_explicit(&s->resent, 1, memory_order_relaxed);
    s->pending[i]->sent = 1;
  }
  return 0;
}

/* receive waits for the reply and decodes it into *out (free with
 * logsys__v1__batch_reply__free_unpacked). Returns 0, an nng error, or NNG_EPROTO
 * for a reply that is not a BatchReply. */
static int receive(lsys_sender *s, Logsys__V1__BatchReply **out) {
  nng_msg *msg;
  int rv = nng_recvmsg(s->sock, &msg, 0);
  if (rv != 0)
    return rv;
  *out = logsys__v1__batch_reply__unpack(NULL, nng_msg_len(msg), nng_msg_body(msg));
  nng_msg_free(msg);
  return *out != NULL ? 0 : NNG_EPROTO;
}

/* apply_results settles pending[0..n) from the per-record results. A result
 * must sit at the record's index and name its log_id; anything else (RETRY, a
 * missing or mismatched result) keeps the record for the next request.
 * Returns how many records were settled. */
static unsigned apply_results(lsys_sender *s, unsigned n, const Logsys__V1__BatchReply *rep) {
  unsigned settled = 0;
  for (unsigned i = 0; i < n && i < rep->n_results; i++) {
    const Logsys__V1__RecordResult *res = rep->results[i];
    if (res == NULL || res->log_id == NULL || strcmp(res->log_id, s->pending[i]->log_id) != 0)
      continue;
    if (res->status == LOGSYS__V1__RECORD_STATUS__RECORD_ACCEPTED) {
      finish(s, i, LOGSYS_RESULT_ACCEPTED,
             res->flags & (LOGSYS_FLAG_TRUNCATED | LOGSYS_FLAG_UTF8_REPAIRED), res->reason);
      settled++;
    } else if (res->status == LOGSYS__V1__RECORD_STATUS__RECORD_REJECTED) {
      finish(s, i, LOGSYS_RESULT_REJECTED, 0, res->reason);
      settled++;
    }
  }
  compact(s);
  return settled;
}

/* refused handles BATCH_MALFORMED / BATCH_TOO_LARGE: a request of several
 * records is split (the first half goes next); a single record is rejected. */
static void refused(lsys_sender *s, unsigned n, const Logsys__V1__BatchReply *rep) {
  const char *why = rep->error != NULL && rep->error[0] != '\0' ? rep->error
                    : rep->status == LOGSYS__V1__BATCH_STATUS__BATCH_TOO_LARGE
                        ? "request too large"
                        : "request malformed";
  if (n > 1) {
    s->limit = n / 2;
    return;
  }
  finish(s, 0, LOGSYS_RESULT_REJECTED, 0, why);
  compact(s);
  notify_done(s);
}

/* exchange sends the first records of pending and handles the reply. Returns
 * how long to pause before the next request (0: go on at once). */
static int exchange(lsys_sender *s) {
  Logsys__V1__BatchReply *rep = NULL;
  unsigned n = s->npending < s->limit ? s->npending : s->limit;
  int pause = 0;
  int rv;

  rv = send_batch(s, n);
  if (rv == 0) {
    rv = receive(s, &rep);
    if (rv == NNG_ETIMEDOUT && n > 1)
      s->limit = n / 2; /* maybe too big for the peer: resend smaller */
  }
  if (rv != 0) {
    /* Not sent, no reply or garbage: keep everything and try again soon.
     * (NNG_ECLOSED means we are stopping; the loop sees it.) */
    return rv == NNG_ECLOSED ? 0 : backoff(s);
  }
  switch (rep->status) {
  case LOGSYS__V1__BATCH_STATUS__BATCH_OK:
    if (apply_results(s, n, rep) > 0) {
      s->backoff_ms = 0;
      s->limit = s->batch_max;
      notify_done(s);
    } else {
      pause = backoff(s); /* all RETRY: the sidecar cannot take them now */
    }
    break;
  case LOGSYS__V1__BATCH_STATUS__BATCH_MALFORMED:
  case LOGSYS__V1__BATCH_STATUS__BATCH_TOO_LARGE:
    refused(s, n, rep);
    break;
  default: /* BATCH_UNAVAILABLE, or a status newer than us */
    pause = backoff(s);
    break;
  }
  logsys__v1__batch_reply__free_unpacked(rep, NULL);
  return pause;
}

/* run is the sender thread. */
static void *run(void *arg) {
  lsys_sender *s = arg;
  while (!stopping(s)) {
    fill(s);
    if (s->npending == 0) {
      idle(s);
      continue;
    }
    s->idle_rounds = 0;
    int pause = exchange(s);
    if (pause > 0 && !stopping(s))
      pause_ms(s, pause);
  }
  return NULL;
}

/* map_nng turns an nng error from setup into an LSYS_ code. */
static int map_nng(int rv) {
  switch (rv) {
  case NNG_ENOMEM:
    return LSYS_ENOMEM;
  case NNG_EADDRINVAL:
  case NNG_ENOTSUP:
  case NNG_EINVAL:
    return LSYS_EINVAL;
  default:
    return LSYS_EIO;
  }
}

/* open_socket makes the req0 socket: no protocol-level resend (we resend
 * ourselves, with our own timeouts), and starts dialing in the background. */
static int open_socket(lsys_sender *s) {
  int rv = nng_req0_open(&s->sock);
  if (rv != 0)
    return map_nng(rv);
  s->sock_open = 1;
  if ((rv = nng_socket_set_ms(s->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE)) != 0 ||
      (rv = nng_socket_set_ms(s->sock, NNG_OPT_RECVTIMEO, s->reply_timeout_ms)) != 0 ||
      (rv = nng_socket_set_ms(s->sock, NNG_OPT_SENDTIMEO, s->reply_timeout_ms)) != 0 ||
      (rv = nng_socket_set_ms(s->sock, NNG_OPT_RECONNMINT, RECONNECT_MIN_MS)) != 0 ||
      (rv = nng_socket_set_ms(s->sock, NNG_OPT_RECONNMAXT, RECONNECT_MAX_MS)) != 0 ||
      (rv = nng_dial(s->sock, s->url, NULL, NNG_FLAG_NONBLOCK)) != 0)
    return map_nng(rv);
  return LSYS_OK;
}

/* init_sync makes the mutex and condvars (waits use CLOCK_MONOTONIC); each one
 * made sets its bit in sync_ready so lsys_sender_destroy undoes exactly those. */
static int init_sync(lsys_sender *s) {
  pthread_condattr_t ca;
  if (pthread_condattr_init(&ca) != 0)
    return LSYS_ENOMEM;
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  if (pthread_mutex_init(&s->mu, NULL) == 0)
    s->sync_ready |= SYNC_MU;
  if (pthread_cond_init(&s->wake, &ca) == 0)
    s->sync_ready |= SYNC_WAKE;
  if (pthread_cond_init(&s->done, &ca) == 0)
    s->sync_ready |= SYNC_DONE;
  pthread_condattr_destroy(&ca);
  return s->sync_ready == (SYNC_MU | SYNC_WAKE | SYNC_DONE) ? LSYS_OK : LSYS_ENOMEM;
}

/* start_thread runs run() with every signal blocked, so the application's
 * signal handlers never land on our thread. */
static int start_thread(lsys_sender *s) {
  sigset_t all, old;
  int rv;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  rv = pthread_create(&s->thread, NULL, run, s);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rv != 0)
    return rv == EAGAIN ? LSYS_ENOMEM : LSYS_EIO;
  s->thread_started = 1;
  return LSYS_OK;
}

/* lsys_sender_create builds the sender step by step; lsys_sender_destroy undoes
 * whatever part was built. */
/* make_client_id writes 16 random hex digits (pid and clock when getrandom fails). */
static void make_client_id(char out[17]) {
  uint64_t r = 0;
  if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    r = ((uint64_t)getpid() << 32) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20);
  }
  static const char hex[] = "0123456789abcdef";
  for (int i = 0; i < 16; i++)
    out[i] = hex[(r >> (i * 4)) & 0xf];
  out[16] = '\0';
}

int lsys_sender_create(lsys_sender **out, const lsys_sender_config *cfg) {
  lsys_sender *s = NULL;
  int rc = LSYS_EINVAL;

  if (out == NULL || cfg == NULL || cfg->url == NULL || cfg->program_name == NULL ||
      cfg->ring == NULL || cfg->dropped == NULL || cfg->batch_records == 0 ||
      cfg->reply_timeout_ms <= 0)
    goto fail;
  rc = LSYS_ENOMEM;
  s = aligned_alloc(_Alignof(lsys_sender), sizeof *s); /* calloc would not honour _Alignas(64) */
  if (s == NULL)
    goto fail;
  memset(s, 0, sizeof *s);
  s->batch_max = cfg->batch_records < LSYS_SENDER_MAX_BATCH_RECORDS ? cfg->batch_records
                                                                     : LSYS_SENDER_MAX_BATCH_RECORDS;
  s->limit = s->batch_max;
  s->reply_timeout_ms = cfg->reply_timeout_ms;
  s->on_result = cfg->on_result;
  s->on_result_arg = cfg->on_result_arg;
  s->report_all = cfg->report_all;
  s->ring = cfg->ring;
  s->pool = cfg->pool;
  s->dropped = cfg->dropped;
  atomic_init(&s->sleeping, 0);
  atomic_init(&s->stop, 0);
  atomic_init(&s->acknowledged, 0);
  atomic_init(&s->rejected, 0);
  atomic_init(&s->resent, 0);
  s->url = strdup(cfg->url);
  s->program = strdup(cfg->program_name);
  s->pending = calloc(s->batch_max, sizeof *s->pending);
  s->pb = calloc(s->batch_max, sizeof *s->pb);
  s->pbp = calloc(s->batch_max, sizeof *s->pbp);
  if (s->url == NULL || s->program == NULL || s->pending == NULL || s->pb == NULL ||
      s->pbp == NULL)
    goto fail;
  s->program_len = strlen(s->program);
  make_client_id(s->client_id);
  if ((rc = init_sync(s)) != LSYS_OK || (rc = open_socket(s)) != LSYS_OK ||
      (rc = start_thread(s)) != LSYS_OK)
    goto fail;
  *out = s;
  return LSYS_OK;
fail:
  lsys_sender_destroy(s);
  return rc;
}

/* lsys_sender_kick wakes the sender from any idle wait (not from a backoff). */
void lsys_sender_kick(lsys_sender *s) {
  pthread_mutex_lock(&s->mu);
  pthread_cond_signal(&s->wake);
  pthread_mutex_unlock(&s->mu);
}

/* lsys_sender_wake signals the sender only if it is asleep, and only once per
 * sleep (the exchange), so a busy sender costs producers a fence and a load. */
void lsys_sender_wake(lsys_sender *s) {
  atomic_thread_fence(memory_order_seq_cst);
  if (atomic_load_explicit(&s->sleeping, memory_order_relaxed) == 0 ||
      atomic_exchange(&s->sleeping, 0) == 0)
    return;
  pthread_mutex_lock(&s->mu);
  pthread_cond_signal(&s->wake);
  pthread_mutex_unlock(&s->mu);
}

/* lsys_sender_settled sums the two final outcomes. */
uint64_t lsys_sender_settled(lsys_sender *s) {
  return atomic_load_explicit(&s->acknowledged, memory_order_acquire) +
         atomic_load_explicit(&s->rejected, memory_order_acquire);
}

/* lsys_sender_wait checks under the mutex the sender broadcasts under, so no
 * reply can slip between the check and the wait. */
int lsys_sender_wait(lsys_sender *s, uint64_t target, int timeout_ms) {
  struct timespec until = deadline_after(timeout_ms > 0 ? timeout_ms : 0);
  int rc = LSYS_OK;
  pthread_mutex_lock(&s->mu);
  while (lsys_sender_settled(s) < target) {
    if (timeout_ms <= 0 || pthread_cond_timedwait(&s->done, &s->mu, &until) == ETIMEDOUT) {
      rc = lsys_sender_settled(s) >= target ? LSYS_OK : LSYS_ETIMEDOUT;
      break;
    }
  }
  pthread_mutex_unlock(&s->mu);
  return rc;
}

/* lsys_sender_counts_get reads the counters. */
void lsys_sender_counts_get(lsys_sender *s, lsys_sender_counts *out) {
  out->acknowledged = atomic_load_explicit(&s->acknowledged, memory_order_acquire);
  out->rejected = atomic_load_explicit(&s->rejected, memory_order_acquire);
  out->resent = atomic_load_explicit(&s->resent, memory_order_relaxed);
}

/* lsys_sender_stop raises stop, closes the socket (which aborts a blocked send
 * or receive with NNG_ECLOSED), joins the thread and frees what it held. */
uint64_t lsys_sender_stop(lsys_sender *s) {
  uint64_t n = 0;
  if (s->thread_started) {
    pthread_mutex_lock(&s->mu);
    atomic_store(&s->stop, 1);
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->mu);
  }
  if (s->sock_open) {
    nng_close(s->sock);
    s->sock_open = 0;
  }
  if (s->thread_started) {
    pthread_join(s->thread, NULL);
    s->thread_started = 0;
  }
  for (unsigned i = 0; i < s->npending; i++, n++)
    lsys_logrec_destroy(s->pending[i], s->pool);
  s->npending = 0;
  s->pending_bytes = 0;
  if (s->carry != NULL) {
    lsys_logrec_destroy(s->carry, s->pool);
    s->carry = NULL;
    n++;
  }
  return n;
}

/* lsys_sender_destroy copes with a sender that create() left half built. */
void lsys_sender_destroy(lsys_sender *s) {
  if (s == NULL)
    return;
  lsys_sender_stop(s);
  if (s->sync_ready & SYNC_DONE)
    pthread_cond_destroy(&s->done);
  if (s->sync_ready & SYNC_WAKE)
    pthread_cond_destroy(&s->wake);
  if (s->sync_ready & SYNC_MU)
    pthread_mutex_destroy(&s->mu);
  free(s->pbp);
  free(s->pb);
  free(s->pending);
  free(s->program);
  free(s->url);
  free(s);
}
