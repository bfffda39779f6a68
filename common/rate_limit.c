/* rate_limit.c - sliding-window send limiter (see rate_limit.h). */
#include "rate_limit.h"

#include <stdlib.h>

#include "errors.h"

struct lsys_rate_limit {
  uint32_t max;          /* N: events allowed in any window */
  uint32_t count;        /* events remembered, <= max */
  uint32_t head;         /* index of the oldest remembered event */
  int64_t period_ms;     /* P */
  int64_t blocked_until; /* no event before this (429 retry_after); 0: none */
  int64_t events[];      /* ring of the last count event times */
};

int lsys_rate_limit_create(lsys_rate_limit **out, uint32_t max_events, int64_t period_ms) {
  lsys_rate_limit *rl;

  if (out == NULL || max_events == 0 || period_ms <= 0)
    return LSYS_EINVAL;
  rl = calloc(1, sizeof *rl + (size_t)max_events * sizeof rl->events[0]);
  if (rl == NULL)
    return LSYS_ENOMEM;
  rl->max = max_events;
  rl->period_ms = period_ms;
  *out = rl;
  return LSYS_OK;
}

void lsys_rate_limit_destroy(lsys_rate_limit *rl) {
  free(rl);
}

int64_t lsys_rate_limit_wait(const lsys_rate_limit *rl, int64_t now_ms) {
  int64_t wait = 0;

  if (rl->blocked_until > now_ms)
    wait = rl->blocked_until - now_ms;
  if (rl->count == rl->max) {
    /* The oldest of the last N events leaves the window P ms after it happened. */
    int64_t free_at = rl->events[rl->head] + rl->period_ms;
    if (free_at - now_ms > wait)
      wait = free_at - now_ms;
  }
  return wait;
}

void lsys_rate_limit_take(lsys_rate_limit *rl, int64_t now_ms) {
  if (rl->count < rl->max) {
    rl->events[(rl->head + rl->count) % rl->max] = now_ms;
    rl->count++;
  } else {
    rl->events[rl->head] = now_ms;
    rl->head = (rl->head + 1) % rl->max;
  }
}

void lsys_rate_limit_block(lsys_rate_limit *rl, int64_t until_ms) {
  if (until_ms > rl->blocked_until)
    rl->blocked_until = until_ms;
}

int lsys_rate_limit_idle(const lsys_rate_limit *rl, int64_t now_ms) {
  if (rl->blocked_until > now_ms)
    return 0;
  /* Event times only grow, so the newest one decides. */
  return rl->count == 0 || rl->events[(rl->head + rl->count - 1) % rl->max] + rl->period_ms <= now_ms;
}
