/* replay.h - logsys-worker --replay-dlq: move every message of {queue}.dlq
 * back to {queue} for another try (SPEC section 6).
 *
 * Each message is republished to {queue} with its body and properties, minus
 * the retry and DLQ headers (so its attempts start again), and taken off the
 * DLQ only once RabbitMQ confirmed the copy: a crash in between leaves a
 * duplicate, never a loss (and the worker's deduplication absorbs the
 * duplicate). At most as many messages as the DLQ held at the start are
 * moved, so messages that fail again while the replay runs are not looped. */
#ifndef LSYS_REPLAY_H
#define LSYS_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "topology.h"

/* lsys_replay_run connects with cfg's AMQP settings, declares t's queues and
 * moves t->dlq to t->queue; *moved gets the number moved (also on failure:
 * those are moved). Returns LSYS_OK, or LSYS_ECONN / LSYS_ECONFIG /
 * LSYS_ETIMEDOUT with a message in err (no credentials). */
int lsys_replay_run(const lsys_config *cfg, const lsys_topology *t, uint64_t *moved, char *err,
                    size_t errlen);

#endif
