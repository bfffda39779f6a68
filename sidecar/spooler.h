/* spooler.h - the sidecar's use of the disk spool: message copies that could not
 * be published (RabbitMQ down, not confirming, or shutting down) are written
 * here and acknowledged to the client once synced, then replayed in order and
 * released as RabbitMQ confirms them (SPEC section 4, durable accept).
 *
 * A spooled entry is one routed copy: its queue, its message_id (the log_id)
 * and its JSON body. Owned by the publisher thread; only lsys_spooler_bytes
 * and lsys_spooler_records may be called from other threads. */
#ifndef LSYS_SPOOLER_H
#define LSYS_SPOOLER_H

#include <stddef.h>
#include <stdint.h>

#include "sidecar_metrics.h"

typedef struct lsys_spooler lsys_spooler;

/* lsys_spooler_open opens the spool in dir (damage found on disk is reported on
 * stderr). inflight_max bounds the replayed copies awaiting confirms (the
 * confirm window). *out written on success; errors in err. */
int lsys_spooler_open(lsys_spooler **out, const char *dir, uint64_t max_bytes, size_t inflight_max,
                      lsys_sidecar_metrics *m, char *err, size_t errlen);

/* lsys_spooler_put appends one copy (not yet durable: call lsys_spooler_sync
 * before acknowledging). Returns LSYS_OK, LSYS_EFULL (spool full), LSYS_EIO. */
int lsys_spooler_put(lsys_spooler *sp, int queue, const char *message_id, const char *body,
                     size_t len);

/* lsys_spooler_sync makes every put so far durable. */
int lsys_spooler_sync(lsys_spooler *sp);

/* lsys_spooler_failures counts failed appends and syncs so far. Each one rolls
 * the spool back to its last sync, dropping every copy put since then: a copy
 * put before the count moved is not durable, whatever a later sync says. */
uint64_t lsys_spooler_failures(const lsys_spooler *sp);

/* lsys_spooler_active reports whether records are waiting: while they are, new
 * copies must be spooled too, to keep the order. */
int lsys_spooler_active(const lsys_spooler *sp);

/* lsys_spooler_next hands out the next copy to replay (pointers valid until the
 * next call). Returns LSYS_OK, or LSYS_EFULL when inflight_max copies await
 * their confirms, or LSYS_ETIMEDOUT when nothing is left to hand out. */
int lsys_spooler_next(lsys_spooler *sp, uint64_t *seq, int *queue, const char **message_id,
                      const char **body, size_t *len);

/* lsys_spooler_settled records the broker's answer for a replayed copy and
 * releases the confirmed prefix. A nack makes everything unreleased replay again. */
void lsys_spooler_settled(lsys_spooler *sp, uint64_t seq, int ack);

/* lsys_spooler_lost forgets the replayed copies in flight (the connection
 * died): they are handed out again. */
void lsys_spooler_lost(lsys_spooler *sp);

/* lsys_spooler_bytes / _records: size of the spool (any thread). */
uint64_t lsys_spooler_bytes(const lsys_spooler *sp);
uint64_t lsys_spooler_records(const lsys_spooler *sp);

/* lsys_spooler_close syncs and closes; NULL is allowed. */
void lsys_spooler_close(lsys_spooler *sp);

#endif
