/* topology.c - names and declarations of {queue}, {queue}.retry, {queue}.dlq. */
#include "topology.h"

#include <stdio.h>
#include <string.h>

#include "errors.h"

/* name writes "{domain}_{suffix}{ext}" into buf (LSYS_TOPOLOGY_NAME_MAX). */
static int name(char *buf, const char *domain, const char *suffix, const char *ext) {
  int n = snprintf(buf, LSYS_TOPOLOGY_NAME_MAX, "%s_%s%s", domain, suffix, ext);
  return n > 0 && n < LSYS_TOPOLOGY_NAME_MAX ? LSYS_OK : LSYS_EINVAL;
}

int lsys_topology_names(lsys_topology *t, const char *domain, lsys_sink_kind kind) {
  const char *suffix = kind == LSYS_SINK_KIND_TELEGRAM ? "tg" : "logbeacon";
  if (!domain || !*domain)
    return LSYS_EINVAL;
  if (name(t->queue, domain, suffix, "") != LSYS_OK || name(t->retry, domain, suffix, ".retry") ||
      name(t->dlq, domain, suffix, ".dlq"))
    return LSYS_EINVAL;
  return LSYS_OK;
}

int lsys_topology_declare(lsys_amqp *s, const lsys_topology *t, char *err, size_t errlen) {
  const lsys_amqp_field retry_args[] = {
      {.key = "x-dead-letter-exchange", .kind = LSYS_AMQP_FIELD_STR, .str = ""},
      {.key = "x-dead-letter-routing-key", .kind = LSYS_AMQP_FIELD_STR, .str = t->queue},
  };
  char why[512];
  const char *failed = t->queue;
  int rc = lsys_amqp_declare(s, t->queue, NULL, 0, why, sizeof why);
  if (rc == LSYS_OK) {
    failed = t->retry;
    rc = lsys_amqp_declare(s, t->retry, retry_args, 2, why, sizeof why);
  }
  if (rc == LSYS_OK) {
    failed = t->dlq;
    rc = lsys_amqp_declare(s, t->dlq, NULL, 0, why, sizeof why);
  }
  if (rc == LSYS_ECONFIG)
    snprintf(err, errlen,
             "%s; queue %s exists with other settings than logsys-worker needs (durable%s); "
             "delete it or declare it that way",
             why, failed,
             failed == t->retry ? ", x-dead-letter-exchange \"\", x-dead-letter-routing-key {queue}"
                                : ", no arguments");
  else if (rc != LSYS_OK)
    snprintf(err, errlen, "%s", why);
  return rc;
}
