/* proto_test.c - the wire protocol survives a pack/unpack round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "logsys/v1/logsys.pb-c.h"

static void batch_round_trip(void **state) {
  (void)state;
  Logsys__V1__LogRecord r0 = LOGSYS__V1__LOG_RECORD__INIT, r1 = LOGSYS__V1__LOG_RECORD__INIT;
  Logsys__V1__LogRecord *recs[2] = {&r0, &r1};
  Logsys__V1__LogBatch b = LOGSYS__V1__LOG_BATCH__INIT;
  r0.level = 91;
  r0.program_name = "api_server";
  r0.def_name = "process_order";
  r0.message = "訂單失敗 \"quoted\"";
  r0.extra_info = "order=42";
  r0.hash = "h-1";
  r0.log_id = "0123456789abcdef0123456789abcdef";
  r0.time_unix_ms = 1764153000123;
  r1.level = 0;
  b.batch_id = UINT64_MAX;
  b.program_name = "api_server";
  b.n_records = 2;
  b.records = recs;
  b.client_dropped = 7;

  size_t n = logsys__v1__log_batch__get_packed_size(&b);
  uint8_t *buf = malloc(n);
  assert_non_null(buf);
  assert_int_equal(logsys__v1__log_batch__pack(&b, buf), n);
  Logsys__V1__LogBatch *d = logsys__v1__log_batch__unpack(NULL, n, buf);
  assert_non_null(d);
  assert_true(d->batch_id == UINT64_MAX);
  assert_int_equal(d->client_dropped, 7);
  assert_string_equal(d->program_name, "api_server");
  assert_int_equal(d->n_records, 2);
  assert_int_equal(d->records[0]->level, 91);
  assert_string_equal(d->records[0]->message, r0.message);
  assert_string_equal(d->records[0]->extra_info, "order=42");
  assert_string_equal(d->records[0]->hash, "h-1");
  assert_string_equal(d->records[0]->log_id, r0.log_id);
  assert_true(d->records[0]->time_unix_ms == 1764153000123);
  assert_int_equal(d->records[1]->level, 0);
  assert_string_equal(d->records[1]->message, ""); /* proto3 default */
  logsys__v1__log_batch__free_unpacked(d, NULL);
  free(buf);
}

static void reply_round_trip(void **state) {
  (void)state;
  Logsys__V1__RecordResult a = LOGSYS__V1__RECORD_RESULT__INIT, c = LOGSYS__V1__RECORD_RESULT__INIT;
  Logsys__V1__RecordResult *res[2] = {&a, &c};
  Logsys__V1__BatchReply r = LOGSYS__V1__BATCH_REPLY__INIT;
  a.log_id = "x";
  a.status = LOGSYS__V1__RECORD_STATUS__RECORD_ACCEPTED;
  a.flags = LOGSYS__V1__RECORD_FLAG__RECORD_FLAG_TRUNCATED | LOGSYS__V1__RECORD_FLAG__RECORD_FLAG_UTF8_REPAIRED;
  a.reason = "message: truncated";
  c.log_id = "y";
  c.status = LOGSYS__V1__RECORD_STATUS__RECORD_REJECTED;
  r.batch_id = 5;
  r.status = LOGSYS__V1__BATCH_STATUS__BATCH_OK;
  r.n_results = 2;
  r.results = res;

  size_t n = logsys__v1__batch_reply__get_packed_size(&r);
  uint8_t *buf = malloc(n);
  assert_non_null(buf);
  logsys__v1__batch_reply__pack(&r, buf);
  Logsys__V1__BatchReply *d = logsys__v1__batch_reply__unpack(NULL, n, buf);
  assert_non_null(d);
  assert_int_equal(d->batch_id, 5);
  assert_int_equal(d->n_results, 2);
  assert_int_equal(d->results[0]->flags, 3);
  assert_string_equal(d->results[0]->reason, "message: truncated");
  assert_int_equal(d->results[1]->status, LOGSYS__V1__RECORD_STATUS__RECORD_REJECTED);
  logsys__v1__batch_reply__free_unpacked(d, NULL);
  free(buf);
}

static void garbage_does_not_decode(void **state) {
  (void)state;
  static const uint8_t bad[][8] = {
      {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f}, /* length-delimited field 1 with a huge length */
      {0x1a, 0x05, 0x01},                   /* record of 5 bytes, truncated */
      {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, /* endless varint */
  };
  static const size_t lens[] = {6, 3, 8};
  for (size_t i = 0; i < 3; i++)
    assert_null(logsys__v1__log_batch__unpack(NULL, lens[i], bad[i]));
  /* A zero-length buffer decodes as an empty batch: the sidecar must reject it itself. */
  Logsys__V1__LogBatch *e = logsys__v1__log_batch__unpack(NULL, 0, (const uint8_t *)"");
  assert_non_null(e);
  assert_int_equal(e->n_records, 0);
  logsys__v1__log_batch__free_unpacked(e, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(batch_round_trip),
      cmocka_unit_test(reply_round_trip),
      cmocka_unit_test(garbage_does_not_decode),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
