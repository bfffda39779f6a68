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

/* lsys_amqp_abandon marks s unusable so that lsys_amqp_destroy closes the
 * socket without the polite channel/connection close (which waits for the
 * broker's answer, up to the RPC timeout): for a broker that stopped answering. */
void lsys_amqp_abandon(lsys_amqp *s);

/* lsys_amqp_destroy closes the channel and connection (best effort) and frees s;
 * NULL is allowed. */
void lsys_amqp_destroy(lsys_amqp *s);

/* ---- Consumer side (logsys-worker) ----------------------------------------
 * Consuming and publisher confirms share the channel. rabbitmq-c 0.11's
 * amqp_consume_message cannot be mixed with confirms, so lsys_amqp_pump reads
 * every frame itself and assembles basic.deliver / basic.get-ok + content
 * header + body frames into an lsys_amqp_msg. Frames that arrive during a
 * synchronous call (declare, qos, cancel) are queued by the library and come
 * out of the next pump in order. */

/* A received message: delivery tag, body and a private copy of its properties. */
typedef struct lsys_amqp_msg lsys_amqp_msg;

/* A header-table entry or a queue argument (key must be non-empty). */
typedef enum lsys_amqp_field_kind {
  LSYS_AMQP_FIELD_STR = 0, /* str: a UTF-8 string (longstr) */
  LSYS_AMQP_FIELD_INT,     /* num: a signed 64-bit integer */
  LSYS_AMQP_FIELD_DEL,     /* remove key (republish only) */
} lsys_amqp_field_kind;

typedef struct lsys_amqp_field {
  const char *key;
  lsys_amqp_field_kind kind;
  const char *str;
  long long num;
} lsys_amqp_field;

/* What lsys_amqp_pump reports; any member may be NULL. */
typedef struct lsys_amqp_events {
  void *arg;
  /* A publisher confirm, as for lsys_amqp_poll. */
  lsys_amqp_confirm_fn confirm;
  /* A complete message from the consumer or from lsys_amqp_get; takes
   * ownership of m (free with lsys_amqp_msg_free). Without this callback,
   * messages are freed unseen. */
  void (*message)(void *arg, lsys_amqp_msg *m);
  /* basic.get-empty: the queue of the last lsys_amqp_get had nothing. */
  void (*get_empty)(void *arg);
  /* The broker cancelled our consumer (e.g. the queue was deleted). */
  void (*cancelled)(void *arg);
} lsys_amqp_events;

/* lsys_amqp_pump is lsys_amqp_poll for every kind of frame: it reads frames
 * for up to timeout_ms (0: only what is buffered or readable now), reports
 * confirms, assembled messages, get-empty and consumer cancellation, and
 * returns after the first batch of frames or the timeout. Returns LSYS_OK, or
 * LSYS_ECONN when the connection is lost, the broker closed it or a message
 * could not be assembled (out of memory); lsys_amqp_error then says why. */
int lsys_amqp_pump(lsys_amqp *s, int timeout_ms, const lsys_amqp_events *ev);

/* lsys_amqp_declare declares a durable queue with arguments args[0..n) (STR
 * and INT fields; none: as lsys_amqp_declare_queue). Returns LSYS_ECONFIG when
 * the queue exists with other arguments or flags (PRECONDITION_FAILED: the
 * session is unusable afterwards), LSYS_ECONN on a lost connection. */
int lsys_amqp_declare(lsys_amqp *s, const char *queue, const lsys_amqp_field *args, size_t n,
                      char *err, size_t errlen);

/* lsys_amqp_queue_depth asks (passive declare) how many messages are ready in
 * queue and how many consumers it has; either pointer may be NULL. A missing
 * queue closes the channel: LSYS_ECONN, session unusable. */
int lsys_amqp_queue_depth(lsys_amqp *s, const char *queue, uint32_t *messages,
                          uint32_t *consumers, char *err, size_t errlen);

/* lsys_amqp_qos limits unacknowledged deliveries on the channel to prefetch. */
int lsys_amqp_qos(lsys_amqp *s, int prefetch, char *err, size_t errlen);

/* lsys_amqp_consume starts consuming queue with manual acknowledgements;
 * messages come out of lsys_amqp_pump. One consumer per session. */
int lsys_amqp_consume(lsys_amqp *s, const char *queue, char *err, size_t errlen);

/* lsys_amqp_cancel stops the consumer (basic.cancel, waits for cancel-ok).
 * Messages already sent by the broker may still come out of lsys_amqp_pump:
 * the caller settles (or rejects) them. No-op without a consumer. */
int lsys_amqp_cancel(lsys_amqp *s, char *err, size_t errlen);

/* lsys_amqp_get asks for one message of queue (basic.get, manual ack) without
 * waiting: the answer comes out of lsys_amqp_pump as a message or get_empty.
 * Ask again only after the answer came. */
int lsys_amqp_get(lsys_amqp *s, const char *queue);

/* lsys_amqp_ack acknowledges delivery tag (and every earlier one when
 * multiple). Success only means the frame was written. */
int lsys_amqp_ack(lsys_amqp *s, uint64_t tag, int multiple);

/* lsys_amqp_reject rejects delivery tag (basic.nack), requeued when requeue. */
int lsys_amqp_reject(lsys_amqp *s, uint64_t tag, int requeue);

/* lsys_amqp_republish publishes m's body with m's properties to queue through
 * the default exchange, persistent, with m's headers changed by set[0..n)
 * (STR/INT replace or add a key, DEL removes it) and expiration (milliseconds
 * as text, e.g. "1500"; NULL: none). In confirm mode *tag is its delivery
 * tag. m stays the caller's. Returns LSYS_ECONN when the connection is gone,
 * LSYS_ENOMEM. */
int lsys_amqp_republish(lsys_amqp *s, const char *queue, const lsys_amqp_msg *m,
                        const lsys_amqp_field *set, size_t n, const char *expiration,
                        uint64_t *tag);

/* lsys_amqp_error returns why the session broke (no credentials), or "". */
const char *lsys_amqp_error(const lsys_amqp *s);

/* lsys_amqp_msg_tag returns m's delivery tag (on the channel it came from). */
uint64_t lsys_amqp_msg_tag(const lsys_amqp_msg *m);

/* lsys_amqp_msg_redelivered tells whether the broker flagged m redelivered. */
int lsys_amqp_msg_redelivered(const lsys_amqp_msg *m);

/* lsys_amqp_msg_body returns m's body (NUL-terminated after *len bytes; may
 * hold NULs itself), owned by m. */
const char *lsys_amqp_msg_body(const lsys_amqp_msg *m, size_t *len);

/* lsys_amqp_msg_message_id copies m's message_id property into buf as a
 * NUL-terminated string and returns 1, or returns 0 when m has none (or an
 * empty one, or one with a NUL byte, or one that does not fit). */
int lsys_amqp_msg_message_id(const lsys_amqp_msg *m, char *buf, size_t len);

/* lsys_amqp_msg_header_int reads integer header key (any AMQP integer kind,
 * or a string of decimal digits) into *out and returns 1; 0 when absent or
 * not a number. */
int lsys_amqp_msg_header_int(const lsys_amqp_msg *m, const char *key, long long *out);

/* lsys_amqp_msg_header_str copies string header key into buf (cut to fit)
 * and returns 1; 0 when absent or not a string. */
int lsys_amqp_msg_header_str(const lsys_amqp_msg *m, const char *key, char *buf, size_t len);

/* lsys_amqp_msg_free frees m; NULL is allowed. */
void lsys_amqp_msg_free(lsys_amqp_msg *m);

#endif
