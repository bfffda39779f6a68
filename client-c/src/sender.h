/* sender.h - the client's background thread: batches records to the sidecar and
 * resends what is not acknowledged.
 *
 * The sender is the ring's only consumer. It owns an nng req0 socket dialed in the
 * background (a missing sidecar is retried, never an error), packs up to
 * batch_records records (under 3.5 MiB) into a LogBatch, and handles the
 * BatchReply record by record: accepted and rejected records are freed and
 * counted, the others are kept in order and sent again. Memory stays bounded: the
 * ring plus one batch in flight. */
#ifndef LSYS_SENDER_H
#define LSYS_SENDER_H

#include <stdatomic.h>
#include <stdint.h>

#include "logsys.h"
#include "pool.h"
#include "ring.h"

/* Largest batch the sender packs; the sidecar refuses requests over 4 MiB. */
#define LSYS_SENDER_MAX_BATCH_BYTES ((size_t)7 << 19) /* 3.5 MiB */
/* batch_records above this are clamped to it. */
#define LSYS_SENDER_MAX_BATCH_RECORDS 65536u

typedef struct lsys_sender lsys_sender;

typedef struct lsys_sender_config {
  const char *url;                      /* nng URL, copied */
  const char *program_name;             /* copied */
  unsigned batch_records;               /* >= 1 */
  int reply_timeout_ms;                 /* >= 1 */
  logsys_result_fn on_result;           /* may be NULL */
  void *on_result_arg;
  int report_all;                       /* also report plain acceptances */
  lsys_ring *ring;                      /* borrowed; must outlive the sender */
  lsys_pool *pool;                      /* borrowed: where records go back; may be NULL */
  const _Atomic uint64_t *dropped;      /* borrowed: the client's drop counter */
} lsys_sender_config;

/* Counters the sender bumps (monotonic). */
typedef struct lsys_sender_counts {
  uint64_t acknowledged;
  uint64_t rejected;
  uint64_t resent;
} lsys_sender_counts;

/* lsys_sender_create opens the socket, starts dialing cfg->url in the background
 * and starts the thread. Borrows cfg->ring, cfg->pool and cfg->dropped. Sets *out on
 * success only. Returns LSYS_OK, LSYS_EINVAL (bad URL or config), LSYS_ENOMEM or
 * LSYS_EIO (nng or thread creation failed). */
int lsys_sender_create(lsys_sender **out, const lsys_sender_config *cfg);

/* lsys_sender_wake tells a sleeping sender that the ring has records. Called by
 * producers after every successful push: without a system call unless the
 * sender is asleep. */
void lsys_sender_wake(lsys_sender *s);

/* lsys_sender_kick makes an idle sender look at the ring now (a system call;
 * for logsys_flush(), not for the logging path). */
void lsys_sender_kick(lsys_sender *s);

/* lsys_sender_wait waits until acknowledged + rejected >= target or timeout_ms
 * passes (<= 0: just check). Returns LSYS_OK or LSYS_ETIMEDOUT. */
int lsys_sender_wait(lsys_sender *s, uint64_t target, int timeout_ms);

/* lsys_sender_settled returns acknowledged + rejected: records the sender is
 * done with. Cheap (two loads); used by producers to bound what is held. */
uint64_t lsys_sender_settled(lsys_sender *s);

/* lsys_sender_counts_get copies the sender's counters into *out. */
void lsys_sender_counts_get(lsys_sender *s, lsys_sender_counts *out);

/* lsys_sender_stop stops the thread at once (a request in flight is abandoned),
 * closes the socket, frees the records the sender held and returns how many
 * there were. Records still in the ring stay there. Idempotent. */
uint64_t lsys_sender_stop(lsys_sender *s);

/* lsys_sender_destroy stops the sender if needed and frees it (NULL and a
 * half-built sender are fine). */
void lsys_sender_destroy(lsys_sender *s);

#endif
