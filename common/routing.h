/* routing.h - the level routing table (SPEC section 2).
 *
 * A table is built once at start-up (defaults plus LOGSYS_ROUTE_<level>
 * overrides) and is read-only afterwards, shared by every thread. */
#ifndef LSYS_ROUTING_H
#define LSYS_ROUTING_H

#include <stddef.h>

/* Destinations a record can be routed to (bit mask). */
enum {
  LSYS_SINK_CONSOLE = 1u << 0,
  LSYS_SINK_LOGBEACON = 1u << 1,
  LSYS_SINK_TG_DEVELOPER = 1u << 2,
  LSYS_SINK_TG_CUSTOMER = 1u << 3,
};

#define LSYS_LEVEL_COUNT 6

typedef struct lsys_route {
  int level;        /* 0, 1, 9, 11, 91, 99 */
  const char *name; /* "Debug", "Info", ... (static) */
  unsigned sinks;   /* LSYS_SINK_* bits */
} lsys_route;

typedef struct lsys_route_table {
  lsys_route rows[LSYS_LEVEL_COUNT];
} lsys_route_table;

/* lsys_routing_default fills t with the default table of SPEC section 2. */
void lsys_routing_default(lsys_route_table *t);

/* lsys_routing_lookup returns the row for level, or NULL for an unknown level. */
const lsys_route *lsys_routing_lookup(const lsys_route_table *t, long level);

/* lsys_routing_set overrides the sinks of an existing level.
 * Returns LSYS_EINVAL for an unknown level. */
int lsys_routing_set(lsys_route_table *t, long level, unsigned sinks);

/* lsys_routing_parse_sinks parses "console,logbeacon,tg_developer,tg_customer"
 * (any subset, comma separated, or "none") into *sinks.
 * Returns LSYS_EINVAL naming nothing on an unknown word. */
int lsys_routing_parse_sinks(const char *spec, unsigned *sinks);

/* lsys_routing_format_sinks writes the comma-separated names of sinks into buf. */
void lsys_routing_format_sinks(unsigned sinks, char *buf, size_t len);

/* lsys_routing_valid_levels returns the static text
 * "0 (Debug), 1 (Info), 9 (Error), 11 (Info_CTG), 91 (Error_CTG), 99 (Monitor)"
 * for error messages. */
const char *lsys_routing_valid_levels(void);

/* lsys_routing_level_name returns the default name of level, or NULL. */
const char *lsys_routing_level_name(long level);

#endif
