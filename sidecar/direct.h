/* direct.h - delivering spooled copies straight to LogBeacon and Telegram
 * through the shared delivery code (common/delivery.h): logsysd's embedded
 * mode (no RabbitMQ) and LOGSYS_FALLBACK=direct (while RabbitMQ is down).
 *
 * Copies are taken from the spool (so they are durable before the client is
 * acknowledged) and released once delivered or dead-lettered. Retries follow
 * the workers' rules: exponential backoff (LOGSYS_RETRY_BASE_MS/MAX_MS) up to
 * LOGSYS_MAX_ATTEMPTS, then the dead-letter file
 * {LOGSYS_SPOOL_DIR}/dead-letters.jsonl (one JSON object a line with queue,
 * reason, attempts, failed_at and the message). Owned by the publisher thread. */
#ifndef LSYS_DIRECT_H
#define LSYS_DIRECT_H

#include <stddef.h>

#include "config.h"
#include "sidecar_metrics.h"
#include "spooler.h"

typedef struct lsys_direct lsys_direct;

/* lsys_direct_create makes the two deliverers and opens the dead-letter file
 * in spool_dir; fails with a message naming the missing setting (e.g.
 * LOGSYS_LOGBEACON_URL). cfg, sp and m must outlive it. */
int lsys_direct_create(lsys_direct **out, const lsys_config *cfg, const char *spool_dir,
                       lsys_spooler *sp, lsys_sidecar_metrics *m, char *err, size_t errlen);

/* lsys_direct_pump hands spooled copies to the deliverers (only when take_new),
 * resubmits retries that are due, and drives transfers for up to timeout_ms. */
void lsys_direct_pump(lsys_direct *d, int take_new, int timeout_ms);

/* lsys_direct_inflight returns the copies taken from the spool and not settled. */
size_t lsys_direct_inflight(const lsys_direct *d);

/* lsys_direct_destroy stops delivering (unsettled copies stay in the spool for
 * the next start) and frees d; NULL is allowed. */
void lsys_direct_destroy(lsys_direct *d);

#endif
