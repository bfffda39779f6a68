/* topology.h - the queues of one worker kind (SPEC section 6):
 *
 *   {queue}        {domain}_logbeacon or {domain}_tg: durable, no arguments,
 *                  exactly as logsysd and the old Python system declare it
 *                  (arguments are never added: that would fail against the
 *                  old system's queue with PRECONDITION_FAILED)
 *   {queue}.retry  durable delay queue: messages wait there for their
 *                  per-message expiration, then RabbitMQ dead-letters them
 *                  through the default exchange back to {queue}
 *   {queue}.dlq    durable, no arguments: failed messages, kept for
 *                  inspection and --replay-dlq
 *
 * Declaring is idempotent; every worker declares all three at connect. */
#ifndef LSYS_TOPOLOGY_H
#define LSYS_TOPOLOGY_H

#include <stddef.h>

#include "amqp_session.h"
#include "delivery.h"

#define LSYS_TOPOLOGY_NAME_MAX 256 /* AMQP short strings: 255 bytes + NUL */

typedef struct lsys_topology {
  char queue[LSYS_TOPOLOGY_NAME_MAX];
  char retry[LSYS_TOPOLOGY_NAME_MAX];
  char dlq[LSYS_TOPOLOGY_NAME_MAX];
} lsys_topology;

/* lsys_topology_names fills t with the queue names of kind for domain.
 * Returns LSYS_EINVAL when a name would exceed 255 bytes. */
int lsys_topology_names(lsys_topology *t, const char *domain, lsys_sink_kind kind);

/* lsys_topology_declare declares the three queues on s. Returns LSYS_OK,
 * LSYS_ECONFIG when one exists with other arguments (err names it and says
 * what to do), or LSYS_ECONN. On failure s is unusable. */
int lsys_topology_declare(lsys_amqp *s, const lsys_topology *t, char *err, size_t errlen);

#endif
