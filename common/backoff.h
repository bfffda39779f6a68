/* backoff.h - exponential backoff with jitter, the one schedule used for
 * reconnects (sidecar, workers) and delivery retries (workers, embedded mode). */
#ifndef LSYS_BACKOFF_H
#define LSYS_BACKOFF_H

#include <stdint.h>

/* lsys_backoff_ms returns the delay after failed attempt number attempt
 * (1, 2, ...): d = min(max_ms, base_ms * 2^(attempt-1)), less a jitter of up
 * to a quarter of d chosen by rnd (any 32-bit value, e.g. random()), so the
 * result is within [d - d/4, d]: never above max_ms, and the ranges of
 * successive attempts do not overlap until the cap is reached. */
long lsys_backoff_ms(int base_ms, int max_ms, int attempt, uint32_t rnd);

#endif
