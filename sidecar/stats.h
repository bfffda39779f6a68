/* stats.h - the sidecar's counters: plain atomics bumped where things happen.
 * Rendered as Prometheus metrics by the admin endpoint (later) and summarised
 * on stderr at exit. */
#ifndef LSYS_SIDECAR_STATS_H
#define LSYS_SIDECAR_STATS_H

#include <stdatomic.h>

typedef struct lsys_sidecar_stats {
  atomic_ullong requests;       /* requests received */
  atomic_ullong bad_requests;   /* malformed, empty or too large */
  atomic_ullong received;       /* records received */
  atomic_ullong accepted;       /* records durably accepted */
  atomic_ullong rejected;       /* records rejected (invalid) */
  atomic_ullong retry;          /* records answered "resend later" */
  atomic_ullong truncated;      /* records with a field cut at the size limit */
  atomic_ullong repaired;       /* records with invalid UTF-8 repaired */
  atomic_ullong published;      /* messages published */
  atomic_ullong confirmed;      /* messages confirmed by the broker */
  atomic_ullong nacked;         /* messages nacked or lost with the connection */
  atomic_ullong client_dropped; /* largest drop count a client reported */
} lsys_sidecar_stats;

#endif
