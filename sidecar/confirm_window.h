/* confirm_window.h - delivery tags published but not yet confirmed by the broker.
 *
 * Publisher confirms arrive as acks/nacks for one tag or for every tag up to one
 * ("multiple"). The window remembers, for each unsettled tag, which owner
 * (a job) and which item of it the message belongs to, and settles each tag
 * exactly once. Its size bounds the messages in flight. Owned by one thread. */
#ifndef LSYS_CONFIRM_WINDOW_H
#define LSYS_CONFIRM_WINDOW_H

#include <stddef.h>
#include <stdint.h>

typedef struct lsys_confirms lsys_confirms;

/* Called once per settled tag: ack 1 = confirmed, 0 = nacked or abandoned. */
typedef void (*lsys_confirms_fn)(void *arg, void *owner, size_t item, int ack);

/* lsys_confirms_create makes a window of size tags; *out written on success. */
int lsys_confirms_create(lsys_confirms **out, size_t size);

/* lsys_confirms_reset forgets everything: the next tag expected is 1 (a new
 * channel). Call lsys_confirms_abandon first if tags are in flight. */
void lsys_confirms_reset(lsys_confirms *c);

/* lsys_confirms_full reports whether no more tags fit. */
int lsys_confirms_full(const lsys_confirms *c);

/* lsys_confirms_inflight returns the number of unsettled tags. */
size_t lsys_confirms_inflight(const lsys_confirms *c);

/* lsys_confirms_add records that tag (which must be the next one: 1, 2, ...)
 * belongs to (owner, item). Returns LSYS_EFULL or LSYS_EINVAL on misuse. */
int lsys_confirms_add(lsys_confirms *c, uint64_t tag, void *owner, size_t item);

/* lsys_confirms_settle applies one basic.ack/basic.nack. Tags outside the
 * window or already settled are ignored. */
void lsys_confirms_settle(lsys_confirms *c, uint64_t tag, int multiple, int ack, lsys_confirms_fn fn,
                          void *arg);

/* lsys_confirms_abandon settles every unsettled tag as not confirmed (the
 * connection died) and resets the window. */
void lsys_confirms_abandon(lsys_confirms *c, lsys_confirms_fn fn, void *arg);

/* lsys_confirms_destroy frees c; NULL is allowed. */
void lsys_confirms_destroy(lsys_confirms *c);

#endif
