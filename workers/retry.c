/* retry.c - attempt counting and the x-* headers of retried and
 * dead-lettered messages. */
#include "retry.h"

#include <stdio.h>
#include <string.h>

#include "utf8.h"

int lsys_retry_attempt(int has_header, long long attempts_header) {
  if (!has_header || attempts_header < 0)
    return 1;
  if (attempts_header >= 1000000)
    return 1000000;
  return (int)attempts_header + 1;
}

int lsys_retry_should_retry(int attempt, int max_attempts) { return attempt < max_attempts; }

/* add appends one field to h. */
static void add(lsys_retry_headers *h, const char *key, lsys_amqp_field_kind kind, const char *str,
                long long num) {
  lsys_amqp_field *f = &h->fields[h->n++];
  f->key = key;
  f->kind = kind;
  f->str = str;
  f->num = num;
}

/* reset clears h and keeps a copy of reason, cut at a character boundary. */
static void reset(lsys_retry_headers *h, const char *reason) {
  memset(h, 0, sizeof *h);
  if (!reason || !*reason)
    reason = "unknown";
  size_t n = lsys_utf8_cut_len(reason, strlen(reason), sizeof h->reason - 1);
  memcpy(h->reason, reason, n);
  h->reason[n] = '\0';
}

void lsys_retry_headers_retry(lsys_retry_headers *h, int attempt, const char *reason, long delay_ms) {
  reset(h, reason);
  snprintf(h->expiration, sizeof h->expiration, "%ld", delay_ms > 0 ? delay_ms : 0);
  add(h, "x-attempts", LSYS_AMQP_FIELD_INT, NULL, attempt);
  add(h, "x-last-reason", LSYS_AMQP_FIELD_STR, h->reason, 0);
}

void lsys_retry_headers_dlq(lsys_retry_headers *h, int attempt, const char *reason,
                            const char *queue, time_t now) {
  struct tm tm;
  reset(h, reason);
  snprintf(h->queue, sizeof h->queue, "%s", queue);
  if (gmtime_r(&now, &tm) == NULL || strftime(h->failed_at, sizeof h->failed_at,
                                              "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    snprintf(h->failed_at, sizeof h->failed_at, "%lld", (long long)now);
  add(h, "x-reason", LSYS_AMQP_FIELD_STR, h->reason, 0);
  add(h, "x-attempts", LSYS_AMQP_FIELD_INT, NULL, attempt);
  add(h, "x-original-queue", LSYS_AMQP_FIELD_STR, h->queue, 0);
  add(h, "x-failed-at", LSYS_AMQP_FIELD_STR, h->failed_at, 0);
}

void lsys_retry_headers_replay(lsys_retry_headers *h) {
  reset(h, NULL);
  add(h, "x-attempts", LSYS_AMQP_FIELD_DEL, NULL, 0);
  add(h, "x-last-reason", LSYS_AMQP_FIELD_DEL, NULL, 0);
  add(h, "x-reason", LSYS_AMQP_FIELD_DEL, NULL, 0);
  add(h, "x-original-queue", LSYS_AMQP_FIELD_DEL, NULL, 0);
  add(h, "x-failed-at", LSYS_AMQP_FIELD_DEL, NULL, 0);
}
