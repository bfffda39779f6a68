/* batch.h - one client request, decoded and validated (SPEC section 4).
 *
 * Decoding never fails on bad input: a request that is not a LogBatch, is
 * empty or too large yields a batch with a non-OK status and no items; each
 * record gets its own status, flags and reason. The publisher fills in the
 * outcome of accepted records and packs the reply. */
#ifndef LSYS_BATCH_H
#define LSYS_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "logsys/v1/logsys.pb-c.h"
#include "record.h"
#include "routing.h"

#define LSYS_LOG_ID_MAX 128

typedef struct lsys_batch_limits {
  size_t max_request_bytes;      /* LOGSYS_MAX_REQUEST_BYTES */
  size_t max_field_bytes;        /* LOGSYS_MAX_FIELD_BYTES */
  const lsys_route_table *routes;
} lsys_batch_limits;

typedef struct lsys_batch_item {
  lsys_record rec;               /* strings point into the batch (valid until destroy) */
  const lsys_route *route;       /* NULL when rejected */
  Logsys__V1__RecordStatus status;
  unsigned flags;                /* LOGSYS__V1__RECORD_FLAG__* bits */
  char *reason;                  /* owned; NULL when there is nothing to say */
  int spooled;                   /* a copy went to the spool (answer after its sync) */
  char *owned[6];                /* sanitized copies of fields, when changed */
  char gen_id[40];               /* log_id made here when the client sent none */
} lsys_batch_item;

typedef struct lsys_batch {
  Logsys__V1__BatchStatus status;
  char *error;                   /* owned; for a non-OK status */
  uint64_t batch_id;
  uint64_t client_dropped;
  size_t n;
  lsys_batch_item *items;
  Logsys__V1__LogBatch *pb;      /* the decoded request (owned) */
} lsys_batch;

/* lsys_batch_decode decodes and validates len bytes at buf. *out is written on
 * success (always, unless LSYS_ENOMEM) and freed with lsys_batch_destroy. */
int lsys_batch_decode(lsys_batch **out, const void *buf, size_t len, const lsys_batch_limits *lim);

/* lsys_batch_retry marks item i as not accepted now (resend later) with reason. */
void lsys_batch_retry(lsys_batch *b, size_t i, const char *reason);

/* lsys_batch_fail_all gives the whole batch a non-OK status (e.g. shutting down). */
void lsys_batch_fail_all(lsys_batch *b, Logsys__V1__BatchStatus status, const char *error);

/* lsys_batch_pack_reply packs the BatchReply into a new buffer (caller frees
 * *out with free()). */
int lsys_batch_pack_reply(const lsys_batch *b, uint8_t **out, size_t *len);

/* lsys_batch_destroy frees b; NULL is allowed. */
void lsys_batch_destroy(lsys_batch *b);

#endif
