/* rate_limit.h - "at most N events in any P milliseconds", for Telegram's
 * per-bot and per-chat send limits, plus a "nothing before T" block for 429
 * retry_after.
 *
 * This is a token bucket whose tokens come back one by one, P ms after each
 * was spent (a sliding-window log), rather than one refilled continuously: a
 * continuously refilled bucket of N tokens lets 2N events through in some
 * window of length P (a full bucket plus its refill), which Telegram would
 * answer with 429. Here a burst of N goes out at once and then events follow
 * at the pace the window allows; no window of length P ever holds more than N.
 * It remembers the time of the last N events (8 bytes each).
 *
 * The clock is the caller's: every call takes now_ms (any monotonic
 * millisecond clock), so tests drive it by hand. Not thread-safe: one owner. */
#ifndef LSYS_RATE_LIMIT_H
#define LSYS_RATE_LIMIT_H

#include <stdint.h>

typedef struct lsys_rate_limit lsys_rate_limit;

/* lsys_rate_limit_create makes a limiter of at most max_events (>= 1) events
 * in any period_ms (>= 1) milliseconds. *out (free with lsys_rate_limit_destroy)
 * is written only on success. Returns LSYS_OK, LSYS_EINVAL or LSYS_ENOMEM. */
int lsys_rate_limit_create(lsys_rate_limit **out, uint32_t max_events, int64_t period_ms);

/* lsys_rate_limit_destroy frees rl; NULL is allowed. */
void lsys_rate_limit_destroy(lsys_rate_limit *rl);

/* lsys_rate_limit_wait returns 0 when an event may happen at now_ms, else how
 * many milliseconds until one may (the window frees a slot, or a block ends). */
int64_t lsys_rate_limit_wait(const lsys_rate_limit *rl, int64_t now_ms);

/* lsys_rate_limit_take records an event at now_ms. Call it after
 * lsys_rate_limit_wait said 0; recording more forgets the oldest event. */
void lsys_rate_limit_take(lsys_rate_limit *rl, int64_t now_ms);

/* lsys_rate_limit_block allows no event before until_ms (a later block wins;
 * an earlier one does not shorten the current block). */
void lsys_rate_limit_block(lsys_rate_limit *rl, int64_t until_ms);

/* lsys_rate_limit_idle reports whether rl holds nothing that limits events
 * after now_ms (no event within the period, no block): such a limiter can be
 * freed and made again later without changing behaviour. */
int lsys_rate_limit_idle(const lsys_rate_limit *rl, int64_t now_ms);

#endif
