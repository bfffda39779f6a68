/* retry.h - when a failed message is tried again, and the headers that carry
 * its history (SPEC section 6).
 *
 * A message that failed with a retryable outcome goes to {queue}.retry with
 * expiration = lsys_backoff_ms(...) and the header x-attempts = the
 * number of attempts made so far; RabbitMQ dead-letters it back to {queue}
 * when it expires. After LOGSYS_MAX_ATTEMPTS attempts, or on a permanent
 * failure, it goes to {queue}.dlq with x-reason, x-attempts, x-original-queue
 * and x-failed-at. --replay-dlq removes those headers again. */
#ifndef LSYS_RETRY_H
#define LSYS_RETRY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "amqp_session.h"

#define LSYS_RETRY_REASON_MAX 256
#define LSYS_RETRY_FIELDS_MAX 6

/* The delay before the next attempt is lsys_backoff_ms (common/backoff.h), the
 * schedule every logsys retry and reconnect uses. */

/* lsys_retry_attempt returns the number of this attempt of a message that
 * carried header x-attempts = attempts_header (has_header 0: none): 1 for a
 * first delivery, attempts + 1 after that. */
int lsys_retry_attempt(int has_header, long long attempts_header);

/* lsys_retry_should_retry tells whether a retryable failure of attempt goes
 * to the delay queue (1) or, out of attempts, to the DLQ (0). */
int lsys_retry_should_retry(int attempt, int max_attempts);

/* Header changes of a republished message; fields[] point into the struct
 * itself, so it must stay in place while fields are used. */
typedef struct lsys_retry_headers {
  lsys_amqp_field fields[LSYS_RETRY_FIELDS_MAX];
  size_t n;
  char expiration[24]; /* "" when the message gets no expiration */
  char reason[LSYS_RETRY_REASON_MAX];
  char failed_at[32];
  char queue[256];
} lsys_retry_headers;

/* lsys_retry_headers_retry fills h for {queue}.retry: x-attempts = attempt,
 * x-last-reason = reason (cut to fit), expiration = delay_ms. */
void lsys_retry_headers_retry(lsys_retry_headers *h, int attempt, const char *reason, long delay_ms);

/* lsys_retry_headers_dlq fills h for {queue}.dlq: x-reason, x-attempts =
 * attempt, x-original-queue = queue, x-failed-at = now as UTC ISO 8601
 * ("2025-11-26T10:30:00Z"), no expiration. */
void lsys_retry_headers_dlq(lsys_retry_headers *h, int attempt, const char *reason,
                            const char *queue, time_t now);

/* lsys_retry_headers_replay fills h for a message moved from the DLQ back to
 * its queue: the retry and DLQ headers removed (attempts start again). */
void lsys_retry_headers_replay(lsys_retry_headers *h);

#endif
