/* batch_test.c - request decoding and per-record validation in the sidecar. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "batch.h"
#include "utf8.h"

static lsys_route_table routes;
static lsys_batch_limits lim = {4u << 20, 64, &routes};

/* pack_one packs a batch of n records into a new buffer. */
static uint8_t *pack(Logsys__V1__LogRecord **recs, size_t n, size_t *len) {
  Logsys__V1__LogBatch b = LOGSYS__V1__LOG_BATCH__INIT;
  b.batch_id = 9;
  b.program_name = "batchprog";
  b.n_records = n;
  b.records = recs;
  *len = logsys__v1__log_batch__get_packed_size(&b);
  uint8_t *buf = malloc(*len);
  logsys__v1__log_batch__pack(&b, buf);
  return buf;
}

static int setup(void **state) {
  (void)state;
  lsys_routing_default(&routes);
  return 0;
}

static void malformed_empty_and_too_large(void **state) {
  (void)state;
  lsys_batch *b = NULL;
  static const uint8_t garbage[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f};
  assert_int_equal(lsys_batch_decode(&b, garbage, sizeof garbage, &lim), 0);
  assert_int_equal(b->status, LOGSYS__V1__BATCH_STATUS__BATCH_MALFORMED);
  assert_non_null(strstr(b->error, "malformed"));
  lsys_batch_destroy(b);

  assert_int_equal(lsys_batch_decode(&b, "", 0, &lim), 0);
  assert_int_equal(b->status, LOGSYS__V1__BATCH_STATUS__BATCH_MALFORMED);
  assert_non_null(strstr(b->error, "empty"));
  lsys_batch_destroy(b);

  lsys_batch_limits small = {16, 64, &routes};
  assert_int_equal(lsys_batch_decode(&b, garbage, 17, &small), 0);
  assert_int_equal(b->status, LOGSYS__V1__BATCH_STATUS__BATCH_TOO_LARGE);
  assert_non_null(strstr(b->error, "LOGSYS_MAX_REQUEST_BYTES"));
  lsys_batch_destroy(b);

  /* A well-formed batch without records is an error too. */
  size_t len;
  uint8_t *buf = pack(NULL, 0, &len);
  assert_int_equal(lsys_batch_decode(&b, buf, len, &lim), 0);
  assert_int_equal(b->status, LOGSYS__V1__BATCH_STATUS__BATCH_MALFORMED);
  lsys_batch_destroy(b);
  free(buf);
}

static void unknown_level_rejected_others_kept(void **state) {
  (void)state;
  Logsys__V1__LogRecord bad = LOGSYS__V1__LOG_RECORD__INIT, good = LOGSYS__V1__LOG_RECORD__INIT;
  Logsys__V1__LogRecord *recs[2] = {&bad, &good};
  bad.level = 5;
  bad.log_id = "id-bad";
  good.level = 9;
  good.log_id = "id-good";
  good.message = "boom";
  size_t len;
  uint8_t *buf = pack(recs, 2, &len);
  lsys_batch *b = NULL;
  assert_int_equal(lsys_batch_decode(&b, buf, len, &lim), 0);
  assert_int_equal(b->status, LOGSYS__V1__BATCH_STATUS__BATCH_OK);
  assert_int_equal(b->n, 2);
  assert_int_equal(b->items[0].status, LOGSYS__V1__RECORD_STATUS__RECORD_REJECTED);
  assert_non_null(strstr(b->items[0].reason, "unknown level 5"));
  assert_non_null(strstr(b->items[0].reason, "99 (Monitor)"));
  assert_null(b->items[0].route);
  assert_int_equal(b->items[1].status, LOGSYS__V1__RECORD_STATUS__RECORD_ACCEPTED);
  assert_string_equal(b->items[1].rec.level_name, "Error");
  assert_string_equal(b->items[1].rec.program_name, "batchprog"); /* from the batch */
  assert_string_equal(b->items[1].rec.hash, "id-good");           /* none given: the log_id */
  assert_true(b->items[1].rec.time_unix_ms > 0);                   /* none given: now */
  assert_null(b->items[1].reason);

  /* The reply carries one result per record, in order. */
  uint8_t *out = NULL;
  size_t out_len = 0;
  assert_int_equal(lsys_batch_pack_reply(b, &out, &out_len), 0);
  Logsys__V1__BatchReply *r = logsys__v1__batch_reply__unpack(NULL, out_len, out);
  assert_non_null(r);
  assert_int_equal(r->batch_id, 9);
  assert_int_equal(r->n_results, 2);
  assert_string_equal(r->results[0]->log_id, "id-bad");
  assert_int_equal(r->results[0]->status, LOGSYS__V1__RECORD_STATUS__RECORD_REJECTED);
  assert_string_equal(r->results[1]->log_id, "id-good");
  logsys__v1__batch_reply__free_unpacked(r, NULL);
  free(out);
  lsys_batch_destroy(b);
  free(buf);
}

static void oversized_and_invalid_text_are_repaired(void **state) {
  (void)state;
  char big[200];
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  Logsys__V1__LogRecord r = LOGSYS__V1__LOG_RECORD__INIT;
  Logsys__V1__LogRecord *recs[1] = {&r};
  r.level = 1;
  r.log_id = "id-1";
  r.message = big;
  r.def_name = "bad \xff\xfe utf8";
  size_t len;
  uint8_t *buf = pack(recs, 1, &len);
  lsys_batch *b = NULL;
  assert_int_equal(lsys_batch_decode(&b, buf, len, &lim), 0);
  lsys_batch_item *it = &b->items[0];
  assert_int_equal(it->status, LOGSYS__V1__RECORD_STATUS__RECORD_ACCEPTED);
  assert_int_equal(it->flags, LOGSYS__V1__RECORD_FLAG__RECORD_FLAG_TRUNCATED |
                                  LOGSYS__V1__RECORD_FLAG__RECORD_FLAG_UTF8_REPAIRED);
  assert_true(strlen(it->rec.message) <= 64);
  size_t ml = strlen(it->rec.message), mk = strlen(LSYS_TRUNCATION_MARKER);
  assert_string_equal(it->rec.message + ml - mk, LSYS_TRUNCATION_MARKER);
  assert_non_null(strstr(it->rec.def_name, "\xef\xbf\xbd"));
  assert_true(lsys_utf8_valid(it->rec.def_name, strlen(it->rec.def_name)));
  assert_non_null(strstr(it->reason, "message: truncated from 199"));
  assert_non_null(strstr(it->reason, "def_name: invalid UTF-8"));
  lsys_batch_destroy(b);
  free(buf);
}

static void bad_or_missing_log_id(void **state) {
  (void)state;
  char long_id[LSYS_LOG_ID_MAX + 2];
  memset(long_id, 'x', sizeof long_id - 1);
  long_id[sizeof long_id - 1] = '\0';
  Logsys__V1__LogRecord a = LOGSYS__V1__LOG_RECORD__INIT, c = LOGSYS__V1__LOG_RECORD__INIT,
                        d = LOGSYS__V1__LOG_RECORD__INIT;
  Logsys__V1__LogRecord *recs[3] = {&a, &c, &d};
  a.level = c.level = d.level = 1;
  a.log_id = long_id;
  /* c and d: no log_id: the sidecar makes distinct ones */
  size_t len;
  uint8_t *buf = pack(recs, 3, &len);
  lsys_batch *b = NULL;
  assert_int_equal(lsys_batch_decode(&b, buf, len, &lim), 0);
  assert_int_equal(b->items[0].status, LOGSYS__V1__RECORD_STATUS__RECORD_REJECTED);
  assert_non_null(strstr(b->items[0].reason, "log_id"));
  assert_int_equal(b->items[1].status, LOGSYS__V1__RECORD_STATUS__RECORD_ACCEPTED);
  assert_int_equal(strlen(b->items[1].rec.log_id), 32);
  assert_string_not_equal(b->items[1].rec.log_id, b->items[2].rec.log_id);
  lsys_batch_destroy(b);
  free(buf);
}

static void retry_and_fail_all(void **state) {
  (void)state;
  Logsys__V1__LogRecord a = LOGSYS__V1__LOG_RECORD__INIT;
  Logsys__V1__LogRecord *recs[1] = {&a};
  a.level = 1;
  a.log_id = "r1";
  size_t len;
  uint8_t *buf = pack(recs, 1, &len);
  lsys_batch *b = NULL;
  assert_int_equal(lsys_batch_decode(&b, buf, len, &lim), 0);
  lsys_batch_retry(b, 0, "broker down");
  assert_int_equal(b->items[0].status, LOGSYS__V1__RECORD_STATUS__RECORD_RETRY);
  assert_string_equal(b->items[0].reason, "broker down");
  lsys_batch_fail_all(b, LOGSYS__V1__BATCH_STATUS__BATCH_UNAVAILABLE, "shutting down");
  uint8_t *out = NULL;
  size_t out_len = 0;
  assert_int_equal(lsys_batch_pack_reply(b, &out, &out_len), 0);
  Logsys__V1__BatchReply *r = logsys__v1__batch_reply__unpack(NULL, out_len, out);
  assert_int_equal(r->status, LOGSYS__V1__BATCH_STATUS__BATCH_UNAVAILABLE);
  assert_string_equal(r->error, "shutting down");
  assert_int_equal(r->n_results, 0);
  logsys__v1__batch_reply__free_unpacked(r, NULL);
  free(out);
  lsys_batch_destroy(b);
  free(buf);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(malformed_empty_and_too_large),
      cmocka_unit_test(unknown_level_rejected_others_kept),
      cmocka_unit_test(oversized_and_invalid_text_are_repaired),
      cmocka_unit_test(bad_or_missing_log_id),
      cmocka_unit_test(retry_and_fail_all),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
