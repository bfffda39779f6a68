/* client.c - the public liblogsys API: open, log, flush, stats, close.
 *
 * logsys_log() builds a record (one block, usually recycled from the pool),
 * pushes it into the lock-free ring and, only if the sender thread is asleep,
 * wakes it; everything that waits for the sidecar happens on the sender thread
 * (sender.c). A client does not survive fork(): use it in the process that
 * opened it. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "logrec.h"
#include "ring.h"
#include "sender.h"

#ifdef LOGSYS_BUILDING
#define LOGSYS_API __attribute__((visibility("default")))
#else
#define LOGSYS_API
#endif

#define DEFAULT_IPC_URL "ipc:///tmp/logsys.sock"
#define DEFAULT_BUFFER_RECORDS 65536
#define DEFAULT_BATCH_RECORDS 512
#define DEFAULT_REPLY_TIMEOUT_MS 5000
#define MAX_PROGRAM_NAME 1024
#define POOL_PER_CLASS 1024 /* free blocks kept per size class (pool.h) */

struct logsys_client {
  lsys_ring *ring; /* producers push, the sender pops */
  lsys_ids *ids;
  lsys_pool *pool; /* record memory, recycled by the sender */
  lsys_sender *sender;
  uint64_t capacity;                  /* records held at most: the ring's size */
  atomic_int closing;                 /* read by every logsys_log() */
  _Alignas(64) _Atomic uint64_t dropped; /* rarely written: own cache line */
};

/* to_public maps an internal LSYS_ code from open onto the public codes. */
static int to_public(int rc) {
  switch (rc) {
  case LSYS_OK:
    return LOGSYS_OK;
  case LSYS_EINVAL:
    return LOGSYS_EINVAL;
  case LSYS_ENOMEM:
    return LOGSYS_ENOMEM;
  default:
    return LOGSYS_ESYS;
  }
}

/* default_url: $LOGSYS_IPC_URL when set and not empty. */
static const char *default_url(void) {
  const char *env = getenv("LOGSYS_IPC_URL");
  return env != NULL && env[0] != '\0' ? env : DEFAULT_IPC_URL;
}

/* default_program: the process's short name (GNU program_invocation_short_name). */
static const char *default_program(void) {
  const char *name = program_invocation_short_name;
  return name != NULL && name[0] != '\0' ? name : "unknown";
}

/* destroy frees a client whatever part of it was built; the sender first, as it
 * borrows the ring, the pool and the drop counter. The ring must be empty. */
static void destroy(logsys_client *c) {
  if (c == NULL)
    return;
  lsys_sender_destroy(c->sender);
  lsys_ring_destroy(c->ring);
  lsys_pool_destroy(c->pool);
  lsys_ids_destroy(c->ids);
  free(c);
}

/* lsys_client_open resolves the defaults, then builds ids, ring and sender. */
int lsys_client_open(logsys_client **out, const logsys_options *opts, unsigned flags) {
  static const logsys_options none;
  lsys_sender_config cfg;
  logsys_client *c = NULL;
  int rc = LSYS_EINVAL;

  if (opts == NULL)
    opts = &none;
  memset(&cfg, 0, sizeof cfg);
  cfg.url = opts->ipc_url != NULL && opts->ipc_url[0] != '\0' ? opts->ipc_url : default_url();
  cfg.program_name = opts->program_name != NULL && opts->program_name[0] != '\0'
                         ? opts->program_name
                         : default_program();
  cfg.batch_records = opts->batch_records != 0 ? opts->batch_records : DEFAULT_BATCH_RECORDS;
  cfg.reply_timeout_ms = opts->reply_timeout_ms != 0 ? opts->reply_timeout_ms
                                                     : DEFAULT_REPLY_TIMEOUT_MS;
  cfg.on_result = opts->on_result;
  cfg.on_result_arg = opts->on_result_arg;
  cfg.report_all = (flags & LSYS_CLIENT_REPORT_ALL) != 0;
  if (out == NULL || cfg.reply_timeout_ms < 0 || strlen(cfg.program_name) > MAX_PROGRAM_NAME)
    goto fail;
  rc = LSYS_ENOMEM;
  c = aligned_alloc(_Alignof(logsys_client), sizeof *c);
  if (c == NULL)
    goto fail;
  memset(c, 0, sizeof *c);
  atomic_init(&c->closing, 0);
  atomic_init(&c->dropped, 0);
  rc = lsys_ids_create(&c->ids);
  if (rc == LSYS_OK)
    rc = lsys_pool_create(&c->pool, POOL_PER_CLASS);
  if (rc == LSYS_OK)
    rc = lsys_ring_create(&c->ring, opts->buffer_records != 0 ? opts->buffer_records
                                                              : DEFAULT_BUFFER_RECORDS);
  if (rc != LSYS_OK)
    goto fail;
  c->capacity = lsys_ring_capacity(c->ring);
  cfg.ring = c->ring;
  cfg.pool = c->pool;
  cfg.dropped = &c->dropped;
  rc = lsys_sender_create(&c->sender, &cfg);
  if (rc != LSYS_OK)
    goto fail;
  *out = c;
  return LOGSYS_OK;
fail:
  destroy(c);
  return to_public(rc);
}

/* logsys_open: see logsys.h. */
LOGSYS_API int logsys_open(logsys_client **out, const logsys_options *opts) {
  return lsys_client_open(out, opts, 0);
}

/* full reports whether the client holds buffer_records records already: in the
 * ring or in the sender's batch (logged - settled), so the configured bound
 * covers everything not yet acknowledged. Settled is read first: it can only
 * lag "logged", never pass it. Producers racing here may overshoot by a few;
 * the ring itself is the hard limit. */
static int full(logsys_client *c) {
  uint64_t settled = lsys_sender_settled(c->sender);
  return lsys_ring_pushed(c->ring) - settled >= c->capacity;
}

/* lsys_client_log is the hot path: checks, one allocation, one push, a wake
 * that costs nothing unless the sender sleeps. The log_id is copied before the
 * push: afterwards the record belongs to the sender and may already be freed. */
int lsys_client_log(logsys_client *c, int level, const char *def_name, const char *message,
                    const char *extra_info, const char *hash_value, char *log_id) {
  lsys_logrec *r;

  if (c == NULL || !logsys_level_valid(level))
    return LOGSYS_EINVAL;
  if (atomic_load_explicit(&c->closing, memory_order_relaxed))
    return LOGSYS_ECLOSED;
  if (full(c)) {
    atomic_fetch_add_explicit(&c->dropped, 1, memory_order_relaxed);
    return LOGSYS_EFULL;
  }
  if (lsys_logrec_create(&r, c->pool, c->ids, level, def_name, message, extra_info,
                         hash_value) != LSYS_OK) {
    atomic_fetch_add_explicit(&c->dropped, 1, memory_order_relaxed);
    return LOGSYS_ENOMEM;
  }
  if (log_id != NULL)
    memcpy(log_id, r->log_id, sizeof r->log_id);
  if (lsys_ring_push(c->ring, r) != LSYS_OK) {
    lsys_logrec_destroy(r, c->pool);
    atomic_fetch_add_explicit(&c->dropped, 1, memory_order_relaxed);
    return LOGSYS_EFULL;
  }
  lsys_sender_wake(c->sender);
  return LOGSYS_OK;
}

/* logsys_log: see logsys.h. */
LOGSYS_API int logsys_log(logsys_client *c, int level, const char *def_name,
                          const char *message, const char *extra_info) {
  return lsys_client_log(c, level, def_name, message, extra_info, NULL, NULL);
}

/* logsys_log_hash: see logsys.h. */
LOGSYS_API int logsys_log_hash(logsys_client *c, int level, const char *def_name,
                               const char *message, const char *extra_info,
                               const char *hash_value) {
  return lsys_client_log(c, level, def_name, message, extra_info, hash_value, NULL);
}

/* logsys_flush waits for the records pushed before the call: the ring's push
 * counter is exactly "logged so far". */
LOGSYS_API int logsys_flush(logsys_client *c, int timeout_ms) {
  if (c == NULL)
    return LOGSYS_EINVAL;
  lsys_sender_kick(c->sender); /* do not let the records wait for the next poll */
  return lsys_sender_wait(c->sender, lsys_ring_pushed(c->ring), timeout_ms) == LSYS_OK
             ? LOGSYS_OK
             : LOGSYS_ETIMEDOUT;
}

/* logsys_stats_get reads settled counters before "logged", so pending is never
 * negative except for a record pushed and settled between the reads (clamped). */
LOGSYS_API void logsys_stats_get(logsys_client *c, logsys_stats *st) {
  lsys_sender_counts sc;
  if (st == NULL)
    return;
  memset(st, 0, sizeof *st);
  if (c == NULL)
    return;
  lsys_sender_counts_get(c->sender, &sc);
  st->logged = lsys_ring_pushed(c->ring);
  st->acknowledged = sc.acknowledged;
  st->rejected = sc.rejected;
  st->resent = sc.resent;
  st->dropped = atomic_load_explicit(&c->dropped, memory_order_relaxed);
  st->pending = st->logged > sc.acknowledged + sc.rejected
                    ? st->logged - sc.acknowledged - sc.rejected
                    : 0;
}

/* logsys_close: refuse new records, flush, stop the sender, then free every
 * record still held (by the sender or in the ring) and count it undelivered. */
LOGSYS_API int logsys_close(logsys_client *c, int timeout_ms, uint64_t *undelivered) {
  uint64_t left = 0;
  void *item;

  if (c != NULL) {
    atomic_store(&c->closing, 1);
    logsys_flush(c, timeout_ms);
    left = lsys_sender_stop(c->sender);
    while (lsys_ring_pop(c->ring, &item) == LSYS_OK) {
      lsys_logrec_destroy(item, c->pool);
      left++;
    }
    destroy(c);
  }
  if (undelivered != NULL)
    *undelivered = left;
  return left == 0 ? LOGSYS_OK : LOGSYS_ETIMEDOUT;
}

/* logsys_strerror: see logsys.h. */
LOGSYS_API const char *logsys_strerror(int err) {
  switch (err) {
  case LOGSYS_OK:
    return "success";
  case LOGSYS_EINVAL:
    return "invalid argument";
  case LOGSYS_EFULL:
    return "buffer full: record dropped";
  case LOGSYS_ENOMEM:
    return "out of memory: record dropped";
  case LOGSYS_ETIMEDOUT:
    return "timed out: records still unacknowledged";
  case LOGSYS_ECLOSED:
    return "client is closing";
  case LOGSYS_ESYS:
    return "system or nng call failed";
  default:
    return "unknown error";
  }
}

/* logsys_level_valid: the six levels of the routing table. */
LOGSYS_API int logsys_level_valid(int level) {
  switch (level) {
  case LOGSYS_DEBUG:
  case LOGSYS_INFO:
  case LOGSYS_ERROR:
  case LOGSYS_INFO_CTG:
  case LOGSYS_ERROR_CTG:
  case LOGSYS_MONITOR:
    return 1;
  default:
    return 0;
  }
}
