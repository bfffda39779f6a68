/* publisher.h - the sidecar's one AMQP thread: validates queued requests,
 * prints records to the console, publishes each routed copy with publisher
 * confirms kept in flight as a window, and answers each request once every
 * copy of its accepted records is confirmed (SPEC section 4, durable accept).
 *
 * While RabbitMQ is unreachable or not confirming, copies are written to the
 * disk spool (LOGSYS_SPOOL_DIR) and acknowledged once synced, then replayed in
 * order; without a spool, records are answered RETRY (the client keeps them and
 * resends). The thread reconnects with backoff. */
#ifndef LSYS_PUBLISHER_H
#define LSYS_PUBLISHER_H

#include "config.h"
#include "ingest.h"
#include "jobqueue.h"
#include "sidecar_metrics.h"

typedef struct lsys_publisher lsys_publisher;

/* lsys_publisher_create starts the thread. It takes lsys_request pointers
 * from q (owned by the caller, like cfg and the metrics, which must outlive the
 * publisher) and answers each exactly once. *out written on success. */
int lsys_publisher_create(lsys_publisher **out, const lsys_config *cfg, lsys_jobq *q,
                          lsys_sidecar_metrics *m, char *err, size_t errlen);

/* lsys_publisher_ready returns LSYS_OK while records can be accepted: RabbitMQ
 * connected, or no spool (records wait with the clients), or the spool has
 * room. A broker outage alone never makes the sidecar unready. Thread-safe. */
int lsys_publisher_ready(lsys_publisher *p, char *why, size_t len);

/* lsys_publisher_phase names what the thread is doing (a static string;
 * thread-safe), for the report of a shutdown that takes too long. */
const char *lsys_publisher_phase(lsys_publisher *p);

/* lsys_publisher_healthy returns LSYS_OK while the thread's loop keeps turning,
 * else an error with the reason in why (for GET /healthz; thread-safe). */
int lsys_publisher_healthy(lsys_publisher *p, char *why, size_t len);

/* lsys_publisher_abandon makes the thread answer everything still waiting for
 * confirms, and everything it takes from now on, with "resend later"
 * (used when the drain timeout runs out). */
void lsys_publisher_abandon(lsys_publisher *p);

/* lsys_publisher_destroy stops and joins the thread (abandoning what is in
 * flight) and frees p; NULL is allowed. */
void lsys_publisher_destroy(lsys_publisher *p);

#endif
