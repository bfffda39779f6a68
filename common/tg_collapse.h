/* tg_collapse.h - collapsing bursts of the same Telegram notification.
 *
 * A key names "the same notification" (the deliverer uses type, chat and
 * notify_key, or notify_msg for old messages). The first message of a key is
 * sent (it "leads"); a message with that key arriving while the leader waits
 * to be sent, or less than the window after the last send of the key, is held
 * here. When the window after the last send ends, the held messages are due:
 * the owner sends ONE summary for them and reports them all with its outcome.
 * The summary counts as a send of the key, so a burst that goes on produces
 * one summary per window.
 *
 * Bounds: when max_held messages are held in all, the key that receives one
 * more is due at once (its summary goes out early). A summary that is queued
 * but not started yet keeps absorbing messages of its key; the owner takes
 * them all when it starts the summary.
 *
 * Items are the owner's opaque pointers; this table never frees them. Time is
 * the caller's millisecond clock (any monotonic one). Not thread-safe. */
#ifndef LSYS_TG_COLLAPSE_H
#define LSYS_TG_COLLAPSE_H

#include <stddef.h>
#include <stdint.h>

typedef struct lsys_tg_collapse lsys_tg_collapse;

enum {
  LSYS_TG_COLLAPSE_SEND = 0, /* send the message: it leads its key */
  LSYS_TG_COLLAPSE_HOLD = 1, /* the message is held here */
};

/* lsys_tg_collapse_create makes a table for window_ms (> 0) and at most
 * max_held (>= 1) held messages before summaries go out early. *out (free
 * with lsys_tg_collapse_destroy) is written only on success. Returns LSYS_OK,
 * LSYS_EINVAL or LSYS_ENOMEM. */
int lsys_tg_collapse_create(lsys_tg_collapse **out, int64_t window_ms, size_t max_held);

/* lsys_tg_collapse_destroy frees c (not the items still held: drain first);
 * NULL is allowed. */
void lsys_tg_collapse_destroy(lsys_tg_collapse *c);

/* lsys_tg_collapse_admit decides for a new message item with key at now_ms:
 * LSYS_TG_COLLAPSE_SEND (it leads; call lsys_tg_collapse_started when it starts
 * and lsys_tg_collapse_failed if it fails) or LSYS_TG_COLLAPSE_HOLD (item is
 * held). When memory runs out it answers SEND: a message is never lost for it. */
int lsys_tg_collapse_admit(lsys_tg_collapse *c, const char *key, int64_t now_ms, void *item);

/* lsys_tg_collapse_started records that a send of key (its leader, or a
 * summary) started at now_ms: the window runs from here. */
void lsys_tg_collapse_started(lsys_tg_collapse *c, const char *key, int64_t now_ms);

/* lsys_tg_collapse_failed records that the last send of key failed: messages
 * held behind it are due at once (their summary stands for them). */
void lsys_tg_collapse_failed(lsys_tg_collapse *c, const char *key);

/* lsys_tg_collapse_due finds a key whose held messages are due at now_ms and
 * for which no summary is queued, marks its summary queued and returns 1 with
 * *key (valid until that key's lsys_tg_collapse_take) and *first (the first
 * held item). Returns 0 when there is none. Also forgets idle keys. */
int lsys_tg_collapse_due(lsys_tg_collapse *c, int64_t now_ms, const char **key, void **first);

/* lsys_tg_collapse_take hands the held items of key over for its summary,
 * started now: *items is a new array (caller frees with free()) of the
 * returned count, *span_s the seconds since the key's last send (to the nearest
 * second, at least 1; the window when unknown). Returns 0 (and *items NULL)
 * when nothing is held. */
size_t lsys_tg_collapse_take(lsys_tg_collapse *c, const char *key, int64_t now_ms, void ***items,
                             unsigned *span_s);

/* lsys_tg_collapse_next_due returns the earliest time after which
 * lsys_tg_collapse_due will find a key (now_ms when one is due already), or
 * INT64_MAX when no message is held. */
int64_t lsys_tg_collapse_next_due(const lsys_tg_collapse *c, int64_t now_ms);

/* lsys_tg_collapse_held returns how many messages are held in all. */
size_t lsys_tg_collapse_held(const lsys_tg_collapse *c);

/* lsys_tg_collapse_drain calls fn(arg, item) for every held item, in arrival
 * order per key, and forgets all keys (shutdown). */
void lsys_tg_collapse_drain(lsys_tg_collapse *c, void (*fn)(void *arg, void *item), void *arg);

#endif
