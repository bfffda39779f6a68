/* client_drops.h - turns the cumulative drop totals that clients report in
 * their batches (LogBatch.client_dropped, per client_id) into increments for
 * the logsys_client_dropped_total counter.
 *
 * A fixed table of the most recent clients (older entries are overwritten, so
 * memory stays bounded); owned by the publisher thread, not thread-safe. */
#ifndef LSYS_CLIENT_DROPS_H
#define LSYS_CLIENT_DROPS_H

#include <stdint.h>

#define LSYS_CLIENT_DROPS_SLOTS 256

typedef struct lsys_client_drops {
  struct {
    char id[17];
    uint64_t total;
  } slot[LSYS_CLIENT_DROPS_SLOTS];
} lsys_client_drops;

/* lsys_client_drops_update records client_id's new total and returns how many
 * drops are new since its last report (all of them for an unknown client, 0 for
 * an empty client_id). */
uint64_t lsys_client_drops_update(lsys_client_drops *t, const char *client_id, uint64_t total);

#endif
