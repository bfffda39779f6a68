/* client_drops.c - per-client drop totals to counter increments. */
#include "client_drops.h"

#include <stdio.h>
#include <string.h>

uint64_t lsys_client_drops_update(lsys_client_drops *t, const char *client_id, uint64_t total) {
  uint64_t h = 1469598103934665603ULL, delta;
  if (!client_id || !*client_id)
    return 0;
  for (const unsigned char *p = (const unsigned char *)client_id; *p; p++)
    h = (h ^ *p) * 1099511628211ULL;
  size_t i = (size_t)(h % LSYS_CLIENT_DROPS_SLOTS);
  if (strncmp(t->slot[i].id, client_id, sizeof t->slot[i].id - 1) != 0) {
    snprintf(t->slot[i].id, sizeof t->slot[i].id, "%s", client_id); /* new or evicted */
    t->slot[i].total = 0;
  }
  delta = total > t->slot[i].total ? total - t->slot[i].total : 0;
  if (total > t->slot[i].total)
    t->slot[i].total = total;
  return delta;
}
