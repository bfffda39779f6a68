/* batch.c - decode a LogBatch request, validate each record, pack the reply. */
#include "batch.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "errors.h"
#include "utf8.h"

/* set_text replaces *dst (owned, may be NULL) by a formatted string. */
static void set_text(char **dst, const char *fmt, ...) {
  va_list ap;
  char *s = NULL;
  va_start(ap, fmt);
  if (vasprintf(&s, fmt, ap) < 0)
    s = NULL;
  va_end(ap);
  free(*dst);
  *dst = s;
}

/* add_reason appends "; text" to the item's reason. */
static void add_reason(lsys_batch_item *it, const char *fmt, ...) {
  va_list ap;
  char *s = NULL;
  va_start(ap, fmt);
  if (vasprintf(&s, fmt, ap) < 0)
    s = NULL;
  va_end(ap);
  if (!s)
    return;
  if (!it->reason) {
    it->reason = s;
    return;
  }
  set_text(&it->reason, "%s; %s", it->reason, s);
  free(s);
}

/* make_log_id writes a fresh idempotency key for a record that came without
 * one: a random per-process prefix and a counter, 32 hex characters. */
static void make_log_id(char buf[40]) {
  static _Atomic uint64_t prefix, counter;
  uint64_t p = atomic_load(&prefix);
  if (p == 0) {
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
      r = (uint64_t)time(NULL) ^ ((uint64_t)clock() << 32);
    r |= 1; /* never 0 */
    uint64_t expected = 0;
    atomic_compare_exchange_strong(&prefix, &expected, r);
    p = atomic_load(&prefix);
  }
  snprintf(buf, 40, "%016llx%016llx", (unsigned long long)p,
           (unsigned long long)atomic_fetch_add(&counter, 1));
}

/* clean_field makes *field valid UTF-8 of at most max bytes, keeping a copy in
 * *slot when it had to change, and records what was done on the item. */
static int clean_field(lsys_batch_item *it, const char *name, const char **field, char **slot,
                       size_t max) {
  const char *s = *field ? *field : "";
  size_t len = strlen(s), out_len = 0;
  unsigned f = 0;
  char *copy = NULL;

  if (len <= max && lsys_utf8_valid(s, len)) {
    *field = s;
    return LSYS_OK;
  }
  int rc = lsys_utf8_sanitize(s, len, max, &copy, &out_len, &f);
  if (rc != LSYS_OK)
    return rc;
  *slot = copy;
  *field = copy;
  if (f & LSYS_TEXT_REPAIRED) {
    it->flags |= LOGSYS__V1__RECORD_FLAG__RECORD_FLAG_UTF8_REPAIRED;
    add_reason(it, "%s: invalid UTF-8 replaced by U+FFFD", name);
  }
  if (f & LSYS_TEXT_TRUNCATED) {
    it->flags |= LOGSYS__V1__RECORD_FLAG__RECORD_FLAG_TRUNCATED;
    add_reason(it, "%s: truncated from %zu to %zu bytes (LOGSYS_MAX_FIELD_BYTES=%zu)", name, len,
               out_len, max);
  }
  return LSYS_OK;
}

/* validate_record fills item it from the decoded record pr. */
static int validate_record(lsys_batch *b, lsys_batch_item *it, const Logsys__V1__LogRecord *pr,
                           const lsys_batch_limits *lim) {
  lsys_record *r = &it->rec;
  size_t max = lim->max_field_bytes;
  int rc = LSYS_OK;

  it->status = LOGSYS__V1__RECORD_STATUS__RECORD_ACCEPTED;
  r->log_id = pr->log_id;
  if (!r->log_id || !*r->log_id) {
    make_log_id(it->gen_id);
    r->log_id = it->gen_id;
  } else if (strlen(r->log_id) > LSYS_LOG_ID_MAX || !lsys_utf8_valid(r->log_id, strlen(r->log_id))) {
    it->status = LOGSYS__V1__RECORD_STATUS__RECORD_REJECTED;
    r->log_id = "";
    add_reason(it, "log_id must be valid UTF-8 of at most %d bytes", LSYS_LOG_ID_MAX);
    return LSYS_OK;
  }
  it->route = lsys_routing_lookup(lim->routes, pr->level);
  if (!it->route) {
    it->status = LOGSYS__V1__RECORD_STATUS__RECORD_REJECTED;
    add_reason(it, "unknown level %u; valid levels: %s", pr->level, lsys_routing_valid_levels());
    return LSYS_OK;
  }
  r->level = it->route->level;
  r->level_name = it->route->name;
  r->program_name = (pr->program_name && *pr->program_name) ? pr->program_name
                    : (b->pb->program_name && *b->pb->program_name) ? b->pb->program_name
                                                                   : "unknown";
  r->def_name = pr->def_name;
  r->message = pr->message;
  r->extra_info = pr->extra_info;
  r->hash = pr->hash;
  if ((rc = clean_field(it, "program_name", &r->program_name, &it->owned[0], max)) ||
      (rc = clean_field(it, "def_name", &r->def_name, &it->owned[1], max)) ||
      (rc = clean_field(it, "message", &r->message, &it->owned[2], max)) ||
      (rc = clean_field(it, "extra_info", &r->extra_info, &it->owned[3], max)) ||
      (rc = clean_field(it, "hash", &r->hash, &it->owned[4], max)))
    return rc;
  if (!*r->hash)
    r->hash = r->log_id;
  r->time_unix_ms = pr->time_unix_ms;
  if (r->time_unix_ms <= 0) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    r->time_unix_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
  }
  return LSYS_OK;
}

int lsys_batch_decode(lsys_batch **out, const void *buf, size_t len, const lsys_batch_limits *lim) {
  lsys_batch *b = calloc(1, sizeof *b);
  int rc = LSYS_ENOMEM;

  if (!b)
    return LSYS_ENOMEM;
  b->status = LOGSYS__V1__BATCH_STATUS__BATCH_OK;
  if (len > lim->max_request_bytes) {
    b->status = LOGSYS__V1__BATCH_STATUS__BATCH_TOO_LARGE;
    set_text(&b->error, "request of %zu bytes is over the limit of %zu bytes (LOGSYS_MAX_REQUEST_BYTES)",
             len, lim->max_request_bytes);
    goto done;
  }
  if (len == 0) {
    b->status = LOGSYS__V1__BATCH_STATUS__BATCH_MALFORMED;
    set_text(&b->error, "empty request: expected a logsys.v1.LogBatch with at least one record");
    goto done;
  }
  b->pb = logsys__v1__log_batch__unpack(NULL, len, buf);
  if (!b->pb) {
    b->status = LOGSYS__V1__BATCH_STATUS__BATCH_MALFORMED;
    set_text(&b->error, "malformed request: %zu bytes are not a valid logsys.v1.LogBatch protobuf", len);
    goto done;
  }
  b->batch_id = b->pb->batch_id;
  b->client_dropped = b->pb->client_dropped;
  if (b->pb->n_records == 0) {
    b->status = LOGSYS__V1__BATCH_STATUS__BATCH_MALFORMED;
    set_text(&b->error, "empty batch: expected at least one record");
    goto done;
  }
  b->items = calloc(b->pb->n_records, sizeof *b->items);
  if (!b->items)
    goto fail;
  b->n = b->pb->n_records;
  for (size_t i = 0; i < b->n; i++)
    if ((rc = validate_record(b, &b->items[i], b->pb->records[i], lim)) != LSYS_OK)
      goto fail;
done:
  *out = b;
  return LSYS_OK;
fail:
  lsys_batch_destroy(b);
  return rc;
}

void lsys_batch_retry(lsys_batch *b, size_t i, const char *reason) {
  lsys_batch_item *it = &b->items[i];
  if (it->status != LOGSYS__V1__RECORD_STATUS__RECORD_ACCEPTED)
    return;
  it->status = LOGSYS__V1__RECORD_STATUS__RECORD_RETRY;
  add_reason(it, "%s", reason);
}

void lsys_batch_fail_all(lsys_batch *b, Logsys__V1__BatchStatus status, const char *error) {
  b->status = status;
  set_text(&b->error, "%s", error);
}

int lsys_batch_pack_reply(const lsys_batch *b, uint8_t **out, size_t *len) {
  Logsys__V1__BatchReply reply = LOGSYS__V1__BATCH_REPLY__INIT;
  Logsys__V1__RecordResult *res = NULL, **ptrs = NULL;
  uint8_t *buf = NULL;
  int ok = b->status == LOGSYS__V1__BATCH_STATUS__BATCH_OK;
  size_t n = ok ? b->n : 0;

  reply.batch_id = b->batch_id;
  reply.status = b->status;
  reply.error = b->error ? b->error : (char *)"";
  if (n) {
    res = calloc(n, sizeof *res);
    ptrs = calloc(n, sizeof *ptrs);
    if (!res || !ptrs)
      goto fail;
  }
  for (size_t i = 0; i < n; i++) {
    const lsys_batch_item *it = &b->items[i];
    logsys__v1__record_result__init(&res[i]);
    res[i].log_id = (char *)(it->rec.log_id ? it->rec.log_id : "");
    res[i].status = it->status;
    res[i].flags = it->flags;
    res[i].reason = it->reason ? it->reason : (char *)"";
    ptrs[i] = &res[i];
  }
  reply.n_results = n;
  reply.results = ptrs;
  *len = logsys__v1__batch_reply__get_packed_size(&reply);
  buf = malloc(*len ? *len : 1);
  if (!buf)
    goto fail;
  logsys__v1__batch_reply__pack(&reply, buf);
  free(res);
  free(ptrs);
  *out = buf;
  return LSYS_OK;
fail:
  free(res);
  free(ptrs);
  return LSYS_ENOMEM;
}

void lsys_batch_destroy(lsys_batch *b) {
  if (!b)
    return;
  for (size_t i = 0; i < b->n; i++) {
    free(b->items[i].reason);
    for (size_t k = 0; k < sizeof b->items[i].owned / sizeof b->items[i].owned[0]; k++)
      free(b->items[i].owned[k]);
  }
  free(b->items);
  free(b->error);
  if (b->pb)
    logsys__v1__log_batch__free_unpacked(b->pb, NULL);
  free(b);
}
