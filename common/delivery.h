/* delivery.h - deliver queue messages to their sink: the one implementation of
 * "deliver this message to LogBeacon / Telegram", used by logsys-worker and by
 * logsysd's embedded and fallback modes (SPEC sections 4 and 6).
 *
 * A deliverer takes queue message bodies (the JSON of SPEC section 5), delivers
 * them concurrently over kept-alive HTTP connections (libcurl multi) and reports
 * each outcome once through a callback. It never blocks its caller for long: the
 * owner thread drives it with lsys_deliverer_poll, which also gives the owner a
 * chance to service its AMQP connection between calls.
 *
 * Sink rules that belong to the sink (not to the queue) live here too:
 * LogBeacon api_key per (domain, program); Telegram credentials, HTML escaping,
 * splitting over 4096 characters, per-bot and per-chat rate limits, 429
 * retry_after (waited out here, never an attempt), collapsing bursts of the
 * same notification. Retry scheduling across attempts (delay queue, DLQ) is the
 * caller's: the outcome says what kind of failure it was.
 *
 * One deliverer is owned by one thread. */
#ifndef LSYS_DELIVERY_H
#define LSYS_DELIVERY_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

typedef enum lsys_outcome {
  LSYS_OUTCOME_OK = 0,    /* 2xx: delivered (or a duplicate already delivered) */
  LSYS_OUTCOME_RETRY,     /* connection error, timeout, 429 beyond our wait, 5xx */
  LSYS_OUTCOME_PERMANENT, /* other 4xx, or a message that cannot be delivered (bad JSON, missing keys) */
} lsys_outcome;

typedef struct lsys_delivery_result {
  lsys_outcome outcome;
  long http_status;  /* last HTTP status, 0 when there was no response */
  char reason[256];  /* for logs and the DLQ x-reason header; never holds a secret */
} lsys_delivery_result;

typedef enum lsys_sink_kind {
  LSYS_SINK_KIND_LOGBEACON = 0, /* {domain}_logbeacon messages */
  LSYS_SINK_KIND_TELEGRAM,      /* {domain}_tg messages */
} lsys_sink_kind;

typedef struct lsys_deliverer lsys_deliverer;

/* Called once per submitted message from inside lsys_deliverer_poll (or
 * lsys_deliverer_destroy, with RETRY "shutting down"). token is the caller's;
 * r is valid during the call. The callback may call lsys_deliverer_submit,
 * never lsys_deliverer_poll or lsys_deliverer_destroy. */
typedef void (*lsys_delivered_fn)(void *arg, void *token, const lsys_delivery_result *r);

/* lsys_deliverer_create makes a deliverer for kind with cfg's settings
 * (cfg must outlive it). Fails with LSYS_ECONFIG and a message in err when a
 * setting the sink needs is missing (e.g. LOGSYS_LOGBEACON_URL). *out is
 * written only on success. */
int lsys_deliverer_create(lsys_deliverer **out, lsys_sink_kind kind, const lsys_config *cfg,
                          lsys_delivered_fn fn, void *arg, char *err, size_t errlen);

/* Most messages a deliverer holds (submitted, not yet reported): in flight,
 * waiting for a rate limit or a 429, or held by Telegram burst collapsing. */
#define LSYS_DELIVERER_HOLD_FACTOR 4 /* times LOGSYS_CONCURRENCY */

/* lsys_deliverer_submit queues one message body (copied) for delivery; token
 * comes back in the callback. Returns LSYS_OK, or LSYS_EFULL when
 * LSYS_DELIVERER_HOLD_FACTOR * LOGSYS_CONCURRENCY messages are already held
 * (poll, then retry). A body that is not a valid message is accepted here and
 * reported PERMANENT by the next poll. May be called from the callback. */
int lsys_deliverer_submit(lsys_deliverer *d, const char *body, size_t len, void *token);

/* lsys_deliverer_poll runs transfers for up to timeout_ms (returns earlier
 * when an outcome was reported) and reports finished messages. It never waits
 * longer than timeout_ms (0: just a non-blocking step), whatever a sink does.
 * Returns LSYS_OK. */
int lsys_deliverer_poll(lsys_deliverer *d, int timeout_ms);

/* lsys_deliverer_pending returns the number of messages submitted and not yet reported. */
size_t lsys_deliverer_pending(const lsys_deliverer *d);

/* Counters of a deliverer since its creation. */
typedef struct lsys_delivery_stats {
  uint64_t delivered;          /* messages reported OK (collapsed ones included) */
  uint64_t retry;              /* messages reported RETRY */
  uint64_t permanent;          /* messages reported PERMANENT */
  uint64_t requests;           /* HTTP requests made (one per Telegram part) */
  uint64_t tg_429;             /* 429 answers from Telegram (waited out or not) */
  uint64_t collapsed;          /* messages reported OK through a collapse summary */
  uint64_t rate_limited_waits; /* sends that had to wait for a rate window or 429 block */
  uint64_t key_store_errors;   /* LogBeacon api_keys received but not written to disk */
} lsys_delivery_stats;

/* lsys_deliverer_stats copies d's counters into *out. The counters are atomic:
 * another thread (metrics) may call this while d's owner uses d. */
void lsys_deliverer_stats(const lsys_deliverer *d, lsys_delivery_stats *out);

/* lsys_deliverer_destroy reports every pending message, then frees d; NULL is
 * allowed. Messages already finished are reported with their outcome, all
 * others as RETRY ("shutting down"), including those in flight (the sink may
 * have received them: the log_id lets it, or the next worker, spot the
 * duplicate). Not to be called from the callback. */
void lsys_deliverer_destroy(lsys_deliverer *d);

#endif
