/* ids.c - log_id generation: random prefix + atomic counter, as hex. */
#include "ids.h"

#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

struct lsys_ids {
  uint64_t prefix;                   /* read-only after create */
  alignas(64) atomic_uint_fast64_t counter; /* contended: own cache line */
};

/* splitmix64 is a bijective 64-bit mixer: spreads small differences (pid, time)
 * over all bits. */
static uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15u;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
  return x ^ (x >> 31);
}

/* random64 returns 64 bits from getrandom(), or 0 when there are none (the
 * caller mixes in other sources so the prefix stays unique in practice). */
static uint64_t random64(void) {
  uint64_t v = 0;
  size_t got = 0;
  while (got < sizeof v) {
    ssize_t n = getrandom((unsigned char *)&v + got, sizeof v - got, 0);
    if (n <= 0)
      return 0;
    got += (size_t)n;
  }
  return v;
}

/* lsys_ids_create picks the prefix: random bits xor a mix of pid, wall clock,
 * monotonic clock and the generator's address. */
int lsys_ids_create(lsys_ids **out) {
  struct timespec rt = {0, 0}, mono = {0, 0};
  lsys_ids *g;
  uint64_t salt;

  if (out == NULL)
    return LSYS_EINVAL;
  g = aligned_alloc(alignof(lsys_ids), sizeof *g);
  if (g == NULL)
    return LSYS_ENOMEM;
  clock_gettime(CLOCK_REALTIME, &rt);
  clock_gettime(CLOCK_MONOTONIC, &mono);
  salt = splitmix64((uint64_t)getpid());
  salt = splitmix64(salt ^ ((uint64_t)rt.tv_sec * 1000000000u + (uint64_t)rt.tv_nsec));
  salt = splitmix64(salt ^ ((uint64_t)mono.tv_sec * 1000000000u + (uint64_t)mono.tv_nsec));
  salt = splitmix64(salt ^ (uint64_t)(uintptr_t)g);
  g->prefix = random64() ^ salt;
  atomic_init(&g->counter, 0);
  *out = g;
  return LSYS_OK;
}

/* lsys_ids_destroy frees the generator. */
void lsys_ids_destroy(lsys_ids *g) {
  free(g);
}

/* put_hex writes v as 16 lowercase hex digits. */
static void put_hex(char *p, uint64_t v) {
  static const char digits[] = "0123456789abcdef";
  for (int i = 15; i >= 0; i--) {
    p[i] = digits[v & 0xf];
    v >>= 4;
  }
}

/* lsys_ids_next formats prefix and the next counter value. */
void lsys_ids_next(lsys_ids *g, char out[LSYS_ID_LEN + 1]) {
  uint64_t n = atomic_fetch_add_explicit(&g->counter, 1, memory_order_relaxed);
  put_hex(out, g->prefix);
  put_hex(out + 16, n);
  out[LSYS_ID_LEN] = '\0';
}
