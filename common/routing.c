/* routing.c - the level routing table of SPEC section 2 and its text form
 * ("console,logbeacon,tg_developer,tg_customer" or "none") used by the
 * LOGSYS_ROUTE_<level> settings and --check-config. */
#include "routing.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "errors.h"

#define ALL_SINKS \
  (LSYS_SINK_CONSOLE | LSYS_SINK_LOGBEACON | LSYS_SINK_TG_DEVELOPER | LSYS_SINK_TG_CUSTOMER)

static const lsys_route default_rows[LSYS_LEVEL_COUNT] = {
    {0, "Debug", LSYS_SINK_CONSOLE},
    {1, "Info", LSYS_SINK_CONSOLE | LSYS_SINK_LOGBEACON},
    {9, "Error", LSYS_SINK_CONSOLE | LSYS_SINK_LOGBEACON | LSYS_SINK_TG_DEVELOPER},
    {11, "Info_CTG", LSYS_SINK_CONSOLE | LSYS_SINK_LOGBEACON | LSYS_SINK_TG_CUSTOMER},
    {91, "Error_CTG", ALL_SINKS},
    {99, "Monitor", LSYS_SINK_CONSOLE},
};

/* Sink names in bit order; format_sinks writes them in this order. */
static const struct {
  const char *name;
  unsigned bit;
} sink_names[] = {
    {"console", LSYS_SINK_CONSOLE},
    {"logbeacon", LSYS_SINK_LOGBEACON},
    {"tg_developer", LSYS_SINK_TG_DEVELOPER},
    {"tg_customer", LSYS_SINK_TG_CUSTOMER},
};

#define SINK_NAME_COUNT (sizeof sink_names / sizeof sink_names[0])

void lsys_routing_default(lsys_route_table *t) {
  memcpy(t->rows, default_rows, sizeof default_rows);
}

/* row_index returns the index of level in the fixed level list, or -1. */
static int row_index(long level) {
  for (int i = 0; i < LSYS_LEVEL_COUNT; i++)
    if (default_rows[i].level == level)
      return i;
  return -1;
}

const lsys_route *lsys_routing_lookup(const lsys_route_table *t, long level) {
  int i = row_index(level);
  return (i < 0) ? NULL : &t->rows[i];
}

int lsys_routing_set(lsys_route_table *t, long level, unsigned sinks) {
  int i = row_index(level);
  if (i < 0 || (sinks & ~(unsigned)ALL_SINKS) != 0)
    return LSYS_EINVAL;
  t->rows[i].sinks = sinks;
  return LSYS_OK;
}

/* sink_bit returns the bit of the sink named by n bytes at word, or 0. */
static unsigned sink_bit(const char *word, size_t n) {
  for (size_t i = 0; i < SINK_NAME_COUNT; i++)
    if (strlen(sink_names[i].name) == n && memcmp(sink_names[i].name, word, n) == 0)
      return sink_names[i].bit;
  return 0;
}

int lsys_routing_parse_sinks(const char *spec, unsigned *sinks) {
  unsigned acc = 0;
  int items = 0, saw_none = 0;

  if (spec == NULL || sinks == NULL)
    return LSYS_EINVAL;
  const char *p = spec;
  for (;;) {
    const char *end = strchr(p, ',');
    if (end == NULL)
      end = p + strlen(p);
    const char *a = p, *b = end;
    while (a < b && isspace((unsigned char)*a))
      a++;
    while (b > a && isspace((unsigned char)b[-1]))
      b--;
    if (a == b)
      return LSYS_EINVAL; /* empty spec or empty item ("console,,logbeacon") */
    if ((size_t)(b - a) == 4 && memcmp(a, "none", 4) == 0) {
      saw_none = 1;
    } else {
      unsigned bit = sink_bit(a, (size_t)(b - a));
      if (bit == 0)
        return LSYS_EINVAL;
      acc |= bit;
    }
    items++;
    if (*end == '\0')
      break;
    p = end + 1;
  }
  if (saw_none && items > 1)
    return LSYS_EINVAL; /* "none" only makes sense alone */
  *sinks = acc;
  return LSYS_OK;
}

void lsys_routing_format_sinks(unsigned sinks, char *buf, size_t len) {
  size_t used = 0;

  if (buf == NULL || len == 0)
    return;
  buf[0] = '\0';
  for (size_t i = 0; i < SINK_NAME_COUNT; i++) {
    if (!(sinks & sink_names[i].bit))
      continue;
    int n = snprintf(buf + used, len - used, "%s%s", used ? "," : "", sink_names[i].name);
    if (n < 0 || (size_t)n >= len - used)
      return; /* truncated; snprintf left buf terminated */
    used += (size_t)n;
  }
  if (used == 0)
    snprintf(buf, len, "none");
}

const char *lsys_routing_valid_levels(void) {
  return "0 (Debug), 1 (Info), 9 (Error), 11 (Info_CTG), 91 (Error_CTG), 99 (Monitor)";
}

const char *lsys_routing_level_name(long level) {
  int i = row_index(level);
  return (i < 0) ? NULL : default_rows[i].name;
}
