/* job.h - one message held by the worker, from its delivery by RabbitMQ
 * until it is acknowledged or handed back, and the lists that hold jobs.
 *
 * A job lives in exactly one list of the worker at a time; the list says
 * what it waits for (admission, its twin's delivery, the sink, the outcome
 * being handled, a publisher confirm). Lists are intrusive and unordered
 * except by insertion: FIFO. */
#ifndef LSYS_JOB_H
#define LSYS_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "amqp_session.h"
#include "dedup.h"
#include "delivery.h"

typedef struct lsys_job {
  struct lsys_job *prev, *next;
  lsys_amqp_msg *msg;          /* owned */
  unsigned epoch;              /* connection it came on: its tag is void on any other */
  int attempt;                 /* 1 for a first delivery, x-attempts + 1 after retries */
  int has_key;                 /* deduplicated (it has a log_id) */
  char key[LSYS_DEDUP_KEY_MAX];
  struct lsys_job *blocker;    /* while blocked: the job with the same key being delivered */
  int64_t submitted_ms;        /* handed to the deliverer (monotonic), for latency */
  lsys_delivery_result result; /* once delivered */
  uint64_t publish_tag;        /* while its retry/DLQ copy awaits the confirm */
  int to_dlq;                  /* that copy goes to the DLQ (else the retry queue) */
  int confirmed;               /* the confirm was an ack (else a nack) */
} lsys_job;

typedef struct lsys_job_list {
  lsys_job *head, *tail;
  size_t n;
} lsys_job_list;

/* lsys_job_create makes a job for m (taking ownership of m on success; on
 * failure the caller still owns it). *out is written only on success. */
int lsys_job_create(lsys_job **out, lsys_amqp_msg *m, unsigned epoch);

/* lsys_job_free frees j and its message; NULL is allowed. j must be in no list. */
void lsys_job_free(lsys_job *j);

/* lsys_job_push appends j to l. */
void lsys_job_push(lsys_job_list *l, lsys_job *j);

/* lsys_job_push_front puts j first in l. */
void lsys_job_push_front(lsys_job_list *l, lsys_job *j);

/* lsys_job_remove takes j out of l (it must be in l). */
void lsys_job_remove(lsys_job_list *l, lsys_job *j);

/* lsys_job_pop takes the first job out of l, or returns NULL. */
lsys_job *lsys_job_pop(lsys_job_list *l);

/* lsys_job_find_key returns the first job of l with key, or NULL. */
lsys_job *lsys_job_find_key(const lsys_job_list *l, const char *key);

/* lsys_job_free_all frees every job of l. */
void lsys_job_free_all(lsys_job_list *l);

#endif
