/* clock.h - the monotonic clock every timeout, backoff and deadline is measured on. */
#ifndef LSYS_CLOCK_H
#define LSYS_CLOCK_H

#include <stdint.h>

/* lsys_clock_ms returns CLOCK_MONOTONIC in milliseconds. */
int64_t lsys_clock_ms(void);

#endif
