/* amqp_session.h - one AMQP connection with one channel in confirm mode
 * (librabbitmq-c 0.11, which has no confirm-wait helper: confirms are read as raw
 * basic.ack / basic.nack frames here).
 *
 * A session is owned by one thread; librabbitmq connections are not thread-safe.
 * Heartbeats are serviced only inside calls, so the owner must call
 * lsys_amqp_poll regularly (at least every heartbeat/2). */
#ifndef LSYS_AMQP_SESSION_H
#define LSYS_AMQP_SESSION_H

#include <stddef.h>
#include <stdint.h>

typedef struct lsys_amqp lsys_amqp;

/* Called for each confirm: every delivery tag <= tag when multiple, else just tag. */
typedef void (*lsys_amqp_confirm_fn)(void *arg, uint64_t tag, int multiple, int ack);

/* lsys_amqp_connect opens url (amqp://user:pass@host:port/vhost), opens channel 1
 * and, when confirms is set, puts it in confirm mode. Errors go into err without
 * the password. *out is written only on success; free with lsys_amqp_destroy. */
int lsys_amqp_connect(lsys_amqp **out, const char *url, int heartbeat_s, int confirms, char *err,
                      size_t errlen);

/* lsys_amqp_declare_queue declares a durable, non-exclusive, non-auto-delete
 * queue without arguments (as the old Python system did). */
int lsys_amqp_declare_queue(lsys_amqp *s, const char *queue, char *err, size_t errlen);

/* lsys_amqp_publish publishes body to queue through the default exchange as a
 * persistent application/json message with message_id. In confirm mode *tag is
 * its delivery tag (1, 2, ... per channel). Returns LSYS_ECONN when the
 * connection is gone: treat every unconfirmed tag as not confirmed. */
int lsys_amqp_publish(lsys_amqp *s, const char *queue, const char *body, size_t len,
                      const char *message_id, uint64_t *tag);

/* lsys_amqp_poll reads frames for up to timeout_ms (0: only what is already
 * buffered or readable now), calling fn for each basic.ack/nack, and returns
 * after the first batch of frames or the timeout. Returns LSYS_OK, or
 * LSYS_ECONN when the connection is lost or closed by the broker. */
int lsys_amqp_poll(lsys_amqp *s, int timeout_ms, lsys_amqp_confirm_fn fn, void *arg);

/* lsys_amqp_destroy closes the channel and connection (best effort) and frees s;
 * NULL is allowed. */
void lsys_amqp_destroy(lsys_amqp *s);

#endif
