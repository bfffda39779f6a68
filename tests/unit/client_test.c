/* client_test.c - liblogsys against no sidecar and against a scripted fake one.
 *
 * The fake sidecar is an nng rep0 socket on a private IPC path that answers each
 * LogBatch the way a test asks (accept, reject, flag, retry, refuse, stay
 * silent) and remembers every log_id it accepted. */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>

#include "client.h"
#include "logrec.h"
#include "logsys.h"
#include "logsys/v1/logsys.pb-c.h"
#include "utf8.h"

static int64_t now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void unique_url(char *buf, size_t len, const char *tag) {
  static int n;
  snprintf(buf, len, "ipc:///tmp/logsys-client-test-%d-%s-%d.sock", (int)getpid(), tag, n++);
}

/* ---- the fake sidecar ---- */

#define MAX_SEEN 100000

struct fake {
  char url[128];
  nng_socket sock;
  pthread_t thread;
  atomic_bool stop;
  /* script */
  int silent_first;       /* do not answer the first N requests */
  int unavailable_first;  /* answer BATCH_UNAVAILABLE to the first N requests */
  size_t max_records;     /* > 0: BATCH_TOO_LARGE for bigger requests */
  int retry_times;        /* "retry" messages get RECORD_RETRY this many times */
  /* observations (guarded by mu) */
  pthread_mutex_t mu;
  int requests;
  int retried;
  size_t nseen;
  char *seen[MAX_SEEN];   /* accepted log_ids, in acceptance order */
  char *seen_msg[MAX_SEEN];
  char *seen_hash[MAX_SEEN];
  uint64_t last_dropped;
};

static int starts(const char *s, const char *prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* answer builds the reply to one batch, following the script. */
static void answer(struct fake *f, const Logsys__V1__LogBatch *b, Logsys__V1__BatchReply *rep,
                   Logsys__V1__RecordResult *res, Logsys__V1__RecordResult **resp) {
  rep->batch_id = b->batch_id;
  if (f->unavailable_first > 0) {
    f->unavailable_first--;
    rep->status = LOGSYS__V1__BATCH_STATUS__BATCH_UNAVAILABLE;
    return;
  }
  int huge = 0;
  for (size_t i = 0; i < b->n_records; i++)
    huge |= starts(b->records[i]->message, "huge");
  if (huge || (f->max_records > 0 && b->n_records > f->max_records)) {
    rep->status = LOGSYS__V1__BATCH_STATUS__BATCH_TOO_LARGE;
    rep->error = (char *)"request over the limit";
    return;
  }
  rep->n_results = b->n_records;
  rep->results = resp;
  for (size_t i = 0; i < b->n_records; i++) {
    const Logsys__V1__LogRecord *r = b->records[i];
    logsys__v1__record_result__init(&res[i]);
    resp[i] = &res[i];
    res[i].log_id = r->log_id;
    if (starts(r->message, "reject")) {
      res[i].status = LOGSYS__V1__RECORD_STATUS__RECORD_REJECTED;
      res[i].reason = (char *)"unknown level 7";
      continue;
    }
    if (starts(r->message, "retry") && f->retried < f->retry_times) {
      f->retried++;
      res[i].status = LOGSYS__V1__RECORD_STATUS__RECORD_RETRY;
      continue;
    }
    if (starts(r->message, "trunc")) {
      res[i].flags = LOGSYS__V1__RECORD_FLAG__RECORD_FLAG_TRUNCATED;
      res[i].reason = (char *)"message truncated";
    }
    if (f->nseen < MAX_SEEN) {
      f->seen[f->nseen] = strdup(r->log_id);
      f->seen_msg[f->nseen] = strdup(r->message);
      f->seen_hash[f->nseen] = strdup(r->hash);
      f->nseen++;
    }
  }
}

static void *fake_run(void *arg) {
  struct fake *f = arg;
  while (!atomic_load(&f->stop)) {
    nng_msg *msg;
    if (nng_recvmsg(f->sock, &msg, 0) != 0)
      continue;
    Logsys__V1__LogBatch *b =
        logsys__v1__log_batch__unpack(NULL, nng_msg_len(msg), nng_msg_body(msg));
    nng_msg_free(msg);
    if (b == NULL)
      continue;
    pthread_mutex_lock(&f->mu);
    f->requests++;
    f->last_dropped = b->client_dropped;
    if (f->silent_first > 0) {
      f->silent_first--;
      pthread_mutex_unlock(&f->mu);
      logsys__v1__log_batch__free_unpacked(b, NULL);
      continue;
    }
    Logsys__V1__BatchReply rep = LOGSYS__V1__BATCH_REPLY__INIT;
    Logsys__V1__RecordResult *res = calloc(b->n_records + 1, sizeof *res);
    Logsys__V1__RecordResult **resp = calloc(b->n_records + 1, sizeof *resp);
    answer(f, b, &rep, res, resp);
    pthread_mutex_unlock(&f->mu);
    size_t len = logsys__v1__batch_reply__get_packed_size(&rep);
    if (nng_msg_alloc(&msg, len) == 0) {
      logsys__v1__batch_reply__pack(&rep, nng_msg_body(msg));
      if (nng_sendmsg(f->sock, msg, 0) != 0)
        nng_msg_free(msg);
    }
    free(resp);
    free(res);
    logsys__v1__log_batch__free_unpacked(b, NULL);
  }
  return NULL;
}

static struct fake *fake_new(const char *tag) {
  struct fake *f = calloc(1, sizeof *f);
  assert_non_null(f);
  unique_url(f->url, sizeof f->url, tag);
  pthread_mutex_init(&f->mu, NULL);
  return f;
}

static void fake_start(struct fake *f) {
  assert_int_equal(nng_rep0_open(&f->sock), 0);
  assert_int_equal(nng_socket_set_ms(f->sock, NNG_OPT_RECVTIMEO, 20), 0);
  assert_int_equal(nng_listen(f->sock, f->url, NULL, 0), 0);
  assert_int_equal(pthread_create(&f->thread, NULL, fake_run, f), 0);
}

static void fake_free(struct fake *f) {
  atomic_store(&f->stop, 1);
  pthread_join(f->thread, NULL);
  nng_close(f->sock);
  for (size_t i = 0; i < f->nseen; i++) {
    free(f->seen[i]);
    free(f->seen_msg[i]);
    free(f->seen_hash[i]);
  }
  pthread_mutex_destroy(&f->mu);
  free(f);
}

/* ---- on_result collection ---- */

struct outcome {
  pthread_mutex_t mu;
  int rejected, flagged, accepted;
  char reason[128];
  unsigned flags;
};

static void on_result(void *arg, const char *log_id, int result, unsigned flags,
                      const char *reason) {
  struct outcome *o = arg;
  assert_int_equal(strlen(log_id), LSYS_ID_LEN);
  pthread_mutex_lock(&o->mu);
  if (result == LOGSYS_RESULT_REJECTED)
    o->rejected++;
  else if (flags != 0)
    o->flagged++;
  else
    o->accepted++;
  o->flags |= flags;
  if (reason[0] != '\0')
    snprintf(o->reason, sizeof o->reason, "%s", reason);
  pthread_mutex_unlock(&o->mu);
}

/* ---- tests ---- */

static void test_api_errors(void **state) {
  logsys_stats st;
  (void)state;
  assert_int_equal(logsys_log(NULL, 1, "f", "m", "x"), LOGSYS_EINVAL);
  assert_int_equal(logsys_flush(NULL, 10), LOGSYS_EINVAL);
  assert_int_equal(logsys_open(NULL, NULL), LOGSYS_EINVAL);
  logsys_stats_get(NULL, &st);
  assert_int_equal(st.logged, 0);
  assert_int_equal(logsys_close(NULL, 0, NULL), LOGSYS_OK);
  for (int l = -1; l < 120; l++)
    assert_int_equal(logsys_level_valid(l),
                     l == 0 || l == 1 || l == 9 || l == 11 || l == 91 || l == 99);
  assert_string_equal(logsys_strerror(LOGSYS_EFULL), "buffer full: record dropped");
  assert_non_null(logsys_strerror(12345));
  logsys_options o = {.ipc_url = "nosuchscheme://x"};
  logsys_client *c = NULL;
  assert_int_equal(logsys_open(&c, &o), LOGSYS_EINVAL);
  assert_null(c);
  o = (logsys_options){.ipc_url = "ipc:///tmp/x", .reply_timeout_ms = -1};
  assert_int_equal(logsys_open(&c, &o), LOGSYS_EINVAL);
}

static void test_no_sidecar(void **state) {
  char url[128];
  logsys_client *c;
  logsys_stats st;
  uint64_t undelivered = 99;
  (void)state;
  unique_url(url, sizeof url, "absent");
  logsys_options o = {.ipc_url = url, .program_name = "client_test"};
  assert_int_equal(logsys_open(&c, &o), LOGSYS_OK);
  assert_int_equal(logsys_log(c, 7, "f", "bad level", ""), LOGSYS_EINVAL);
  for (int i = 0; i < 10; i++)
    assert_int_equal(logsys_log(c, LOGSYS_INFO, "f", "m", NULL), LOGSYS_OK);
  int64_t t0 = now_ms();
  assert_int_equal(logsys_flush(c, 200), LOGSYS_ETIMEDOUT);
  int64_t took = now_ms() - t0;
  assert_true(took >= 190 && took < 1000);
  logsys_stats_get(c, &st);
  assert_int_equal(st.logged, 10);
  assert_int_equal(st.pending, 10);
  assert_int_equal(st.acknowledged, 0);
  assert_int_equal(st.dropped, 0);
  t0 = now_ms();
  assert_int_equal(logsys_close(c, 100, &undelivered), LOGSYS_ETIMEDOUT);
  took = now_ms() - t0;
  assert_int_equal(undelivered, 10);
  assert_true(took < 1000);
}

static void test_buffer_full(void **state) {
  char url[128];
  logsys_client *c;
  logsys_stats st;
  uint64_t undelivered;
  (void)state;
  unique_url(url, sizeof url, "full");
  logsys_options o = {.ipc_url = url, .buffer_records = 4};
  assert_int_equal(logsys_open(&c, &o), LOGSYS_OK);
  for (int i = 0; i < 4; i++)
    assert_int_equal(logsys_log(c, LOGSYS_ERROR, "f", "m", "x"), LOGSYS_OK);
  usleep(50000); /* let the sender take them into its batch: still held */
  for (int i = 4; i < 10; i++)
    assert_int_equal(logsys_log(c, LOGSYS_ERROR, "f", "m", "x"), LOGSYS_EFULL);
  logsys_stats_get(c, &st);
  assert_int_equal(st.logged, 4);
  assert_int_equal(st.dropped, 6);
  assert_int_equal(st.pending, 4);
  assert_int_equal(logsys_close(c, 0, &undelivered), LOGSYS_ETIMEDOUT);
  assert_int_equal(undelivered, 4);
}

struct producer {
  logsys_client *c;
  int n;
  int id;
};

static void *produce(void *arg) {
  struct producer *p = arg;
  char msg[64];
  for (int i = 0; i < p->n; i++) {
    snprintf(msg, sizeof msg, "t%d-%d", p->id, i);
    assert_int_equal(logsys_log(p->c, LOGSYS_INFO, "produce", msg, NULL), LOGSYS_OK);
  }
  return NULL;
}

static void test_accept_all_threads(void **state) {
  struct fake *f = fake_new("accept");
  struct producer p[4];
  pthread_t t[4];
  logsys_client *c;
  logsys_stats st;
  uint64_t undelivered = 99;
  (void)state;
  fake_start(f);
  logsys_options o = {.ipc_url = f->url, .batch_records = 64};
  assert_int_equal(logsys_open(&c, &o), LOGSYS_OK);
  for (int i = 0; i < 4; i++) {
    p[i] = (struct producer){c, 5000, i};
    pthread_create(&t[i], NULL, produce, &p[i]);
  }
  for (int i = 0; i < 4; i++)
    pthread_join(t[i], NULL);
  assert_int_equal(logsys_flush(c, 10000), LOGSYS_OK);
  logsys_stats_get(c, &st);
  assert_int_equal(st.logged, 20000);
  assert_int_equal(st.acknowledged, 20000);
  assert_int_equal(st.pending, 0);
  assert_int_equal(st.dropped, 0);
  assert_int_equal(logsys_close(c, 1000, &undelivered), LOGSYS_OK);
  assert_int_equal(undelivered, 0);
  /* Each record exactly once, and each thread's records in its order. */
  assert_int_equal(f->nseen, 20000);
  int next[4] = {0, 0, 0, 0};
  for (size_t i = 0; i < f->nseen; i++) {
    int id, n;
    assert_int_equal(sscanf(f->seen_msg[i], "t%d-%d", &id, &n), 2);
    assert_int_equal(n, next[id]);
    next[id]++;
    assert_string_equal(f->seen_hash[i], f->seen[i]); /* no hash given: hash = log_id */
  }
  fake_free(f);
}

static void test_reject_and_flags(void **state) {
  struct fake *f = fake_new("reject");
  struct outcome out = {.mu = PTHREAD_MUTEX_INITIALIZER};
  logsys_client *c;
  logsys_stats st;
  (void)state;
  fake_start(f);
  logsys_options o = {.ipc_url = f->url, .on_result = on_result, .on_result_arg = &out};
  assert_int_equal(logsys_open(&c, &o), LOGSYS_OK);
  assert_int_equal(logsys_log(c, LOGSYS_INFO, "f", "ok", NULL), LOGSYS_OK);
  assert_int_equal(logsys_log(c, LOGSYS_INFO, "f", "reject me", NULL), LOGSYS_OK);
  assert_int_equal(logsys_log_hash(c, LOGSYS_INFO, "f", "trunc me", NULL, "order-42"), LOGSYS_OK);
  assert_int_equal(logsys_flush(c, 5000), LOGSYS_OK);
  logsys_stats_get(c, &st);
  assert_int_equal(st.acknowledged, 2);
  assert_int_equal(st.rejected, 1);
  assert_int_equal(st.pending, 0);
  assert_int_equal(out.rejected, 1);
  assert_int_equal(out.flagged, 1);
  assert_int_equal(out.accepted, 0); /* plain acceptances are not reported */
  assert_int_equal(out.flags, LOGSYS_FLAG_TRUNCATED);
  assert_int_equal(logsys_close(c, 1000, NULL), LOGSYS_OK);
  assert_int_equal(f->nseen, 2);
  assert_string_equal(f->seen_hash[1], "order-42");
  fake_free(f);
}

static void test_retry_keeps_keys(void **state) {
  struct fake *f = fake_new("retry");
  logsys_client *c;
  logsys_stats st;
  (void)state;
  f->retry_times = 3;
  fake_start(f);
  logsys_options o = {.ipc_url = f->url};
  assert_int_equal(logsys_open(&c, &o), LOGSYS_OK);
  assert_int_equal(logsys_log(c, LOGSYS_ERROR, "f", "retry me", NULL), LOGSYS_OK);
  assert_int_equal(logsys_log(c, LOGSYS_ERROR, "f", "plain", NULL), LOGSYS_OK);
  assert_int_equal(logsys_flush(c, 5000), LOGSYS_OK);
  logsys_stats_get(c, &st);
  assert_int_equal(st.acknowledged, 2);
  assert_int_equal(st.resent, 3);
  assert_int_equal(logsys_close(c, 1000, NULL), LOGSYS_OK);
  assert_int_equal(f->nseen, 2);
  fake_free(f);
}

static void test_unavailable_and_silence(void **state) {
  struct fake *f = fake_new("unavail");
  logsys_client *c;
  logsys_stats st;
  char id[LSYS_ID_LEN + 1];
  (void)state;
  f->unavailable_first = 2;
  f->silent_first = 1;
  fake_start(f);
  logsys_options o = {.ipc_url = f->url, .reply_timeout_ms = 200};
  assert_int_equal(lsys_client_open(&c, &o, 0), LOGSYS_OK);
  assert_int_equal(lsys_client_log(c, LOGSYS_MONITOR, "f", "m", "x", NULL, id), LOGSYS_OK);
  assert_int_equal(logsys_flush(c, 5000), LOGSYS_OK);
  logsys_stats_get(c, &st);
  assert_int_equal(st.acknowledged, 1);
  assert_int_equal(st.resent, 3); /* silent once, unavailable twice */
  assert_int_equal(logsys_close(c, 1000, NULL), LOGSYS_OK);
  assert_int_equal(f->requests, 4);
  assert_int_equal(f->nseen, 1);
  assert_string_equal(f->seen[0], id); /* same key across resends */
  fake_free(f);
}

static void test_too_large_splits(void **state) {
  struct fake *f = fake_new("split");
  struct outcome out = {.mu = PTHREAD_MUTEX_INITIALIZER};
  logsys_client *c;
  logsys_stats st;
  char msg[32];
  (void)state;
  f->max_records = 3;
  fake_start(f);
  logsys_options o = {.ipc_url = f->url, .on_result = on_result, .on_result_arg = &out};
  assert_int_equal(logsys_open(&c, &o), LOGSYS_OK);
  for (int i = 0; i < 40; i++) {
    snprintf(msg, sizeof msg, "%s%d", i == 17 ? "huge" : "m", i);
    assert_int_equal(logsys_log(c, LOGSYS_INFO, "f", msg, NULL), LOGSYS_OK);
  }
  assert_int_equal(logsys_flush(c, 5000), LOGSYS_OK);
  logsys_stats_get(c, &st);
  assert_int_equal(st.acknowledged, 39);
  assert_int_equal(st.rejected, 1);
  assert_int_equal(out.rejected, 1);
  assert_string_equal(out.reason, "request over the limit");
  assert_int_equal(logsys_close(c, 1000, NULL), LOGSYS_OK);
  for (size_t i = 0; i < f->nseen; i++) { /* still in order */
    int n;
    assert_int_equal(sscanf(f->seen_msg[i], "m%d", &n), 1);
    assert_int_equal(n, (int)i + (i >= 17));
  }
  fake_free(f);
}

static void test_sidecar_appears_later(void **state) {
  struct fake *f = fake_new("later");
  logsys_client *c;
  (void)state;
  logsys_options o = {.ipc_url = f->url, .reply_timeout_ms = 300};
  assert_int_equal(logsys_open(&c, &o), LOGSYS_OK);
  for (int i = 0; i < 5; i++)
    assert_int_equal(logsys_log(c, LOGSYS_INFO, "f", "early", NULL), LOGSYS_OK);
  assert_int_equal(logsys_flush(c, 300), LOGSYS_ETIMEDOUT);
  fake_start(f);
  assert_int_equal(logsys_flush(c, 5000), LOGSYS_OK);
  assert_int_equal(logsys_close(c, 1000, NULL), LOGSYS_OK);
  assert_int_equal(f->nseen, 5);
  fake_free(f);
}

/* A field over the client's cap arrives cut at a character boundary, marked. */
static void test_field_cap(void **state) {
  struct fake *f = fake_new("cap");
  size_t big = LSYS_LOGREC_MAX_FIELD + 100;
  char *text = malloc(big + 1);
  logsys_client *c;
  (void)state;
  /* "é" (2 bytes) repeated from an odd offset so the cut point falls mid-character. */
  text[0] = 'a';
  for (size_t i = 1; i + 1 < big; i += 2) {
    text[i] = '\xc3';
    text[i + 1] = '\xa9';
  }
  text[big - 1] = 'z';
  text[big] = '\0';
  fake_start(f);
  logsys_options o = {.ipc_url = f->url};
  assert_int_equal(logsys_open(&c, &o), LOGSYS_OK);
  assert_int_equal(logsys_log(c, LOGSYS_INFO, "f", text, text), LOGSYS_OK);
  assert_int_equal(logsys_flush(c, 5000), LOGSYS_OK);
  assert_int_equal(logsys_close(c, 1000, NULL), LOGSYS_OK);
  assert_int_equal(f->nseen, 1);
  const char *got = f->seen_msg[0];
  size_t len = strlen(got), mlen = strlen(LSYS_TRUNCATION_MARKER);
  assert_true(len <= LSYS_LOGREC_MAX_FIELD);
  assert_true(len > LSYS_LOGREC_MAX_FIELD - mlen - 4);
  assert_string_equal(got + len - mlen, LSYS_TRUNCATION_MARKER);
  assert_true(lsys_utf8_valid(got, len));
  fake_free(f);
  free(text);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_api_errors),
      cmocka_unit_test(test_no_sidecar),
      cmocka_unit_test(test_buffer_full),
      cmocka_unit_test(test_accept_all_threads),
      cmocka_unit_test(test_reject_and_flags),
      cmocka_unit_test(test_retry_keeps_keys),
      cmocka_unit_test(test_unavailable_and_silence),
      cmocka_unit_test(test_too_large_splits),
      cmocka_unit_test(test_sidecar_appears_later),
      cmocka_unit_test(test_field_cap),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
