/* backoff.c - exponential backoff with jitter. */
#include "backoff.h"

long lsys_backoff_ms(int base_ms, int max_ms, int attempt, uint32_t rnd) {
  long long d = base_ms > 0 ? base_ms : 1;
  long long cap = max_ms > 0 ? max_ms : 1;
  if (attempt < 1)
    attempt = 1;
  /* Doubling stops at the cap, so no shift overflows however large attempt is. */
  for (int i = 1; i < attempt && d < cap; i++)
    d *= 2;
  if (d > cap)
    d = cap;
  long long jitter = (long long)(((uint64_t)rnd * (uint64_t)(d / 4 + 1)) >> 32);
  return (long)(d - jitter);
}
