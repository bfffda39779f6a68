/* admin_test.c - unit tests for common/admin.c: a real nng HTTP server on
 * 127.0.0.1 (port chosen by the kernel), queried with libcurl. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "admin.h"
#include "errors.h"
#include "metrics.h"

typedef struct resp {
  CURLcode code;
  long status;
  char body[16384];
  size_t len;
  char ctype[128];
  char allow[64];
} resp;

static size_t on_body(char *p, size_t size, size_t n, void *arg) {
  resp *r = arg;
  size_t len = size * n;
  if (r->len + len >= sizeof r->body)
    return 0;
  memcpy(r->body + r->len, p, len);
  r->len += len;
  r->body[r->len] = '\0';
  return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg) {
  resp *r = arg;
  size_t len = size * n;
  if (len > 6 && strncasecmp(p, "Allow:", 6) == 0) {
    size_t v = len - 6;
    while (v > 0 && (p[6 + v - 1] == '\r' || p[6 + v - 1] == '\n'))
      v--;
    snprintf(r->allow, sizeof r->allow, "%.*s", (int)v, p + 6);
  }
  return len;
}

/* request sends method path to 127.0.0.1:port and fills r. */
static void request(int port, const char *method, const char *path, resp *r) {
  char url[256];
  CURL *c = curl_easy_init();
  char *ctype = NULL;

  assert_non_null(c);
  memset(r, 0, sizeof *r);
  snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
  if (strcmp(method, "HEAD") == 0) {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (strcmp(method, "GET") != 0) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, "a=1");
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  }
  r->code = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
  if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ctype) == CURLE_OK && ctype)
    snprintf(r->ctype, sizeof r->ctype, "%s", ctype);
  curl_easy_cleanup(c);
}

/* expect sends method path and checks the status and (when want is set) the
 * exact body. */
static void expect(int port, const char *method, const char *path, long status, const char *want) {
  resp r;
  request(port, method, path, &r);
  assert_int_equal(r.code, CURLE_OK);
  assert_int_equal(r.status, status);
  if (want)
    assert_string_equal(r.body, want);
}

typedef struct state {
  atomic_int healthy;
  atomic_int ready;
  atomic_int quiet; /* fail without a reason */
} state;

static int healthz(void *arg, char *why, size_t whylen) {
  state *s = arg;
  if (atomic_load(&s->healthy))
    return 0;
  snprintf(why, whylen, "ingest thread stuck");
  return 1;
}

static int readyz(void *arg, char *why, size_t whylen) {
  state *s = arg;
  if (atomic_load(&s->ready))
    return 0;
  if (!atomic_load(&s->quiet))
    snprintf(why, whylen, "amqp: not connected (spooling)");
  return 1;
}

/* start creates an admin endpoint on a free port of 127.0.0.1. */
static lsys_admin *start(const lsys_admin_checks *checks, lsys_metrics *m, int *port) {
  lsys_admin *a = NULL;
  char err[256] = "";
  int rv = lsys_admin_create(&a, "127.0.0.1:0", checks, m, err, sizeof err);
  if (rv != LSYS_OK)
    print_error("lsys_admin_create: %s\n", err);
  assert_int_equal(rv, LSYS_OK);
  assert_non_null(a);
  *port = lsys_admin_port(a);
  assert_true(*port > 0 && *port < 65536);
  return a;
}

static void test_health_and_readiness(void **state_) {
  (void)state_;
  state s = {1, 1, 0};
  lsys_admin_checks checks = {healthz, readyz, &s};
  int port;
  lsys_admin *a = start(&checks, NULL, &port);
  resp r;

  expect(port, "GET", "/healthz", 200, "ok\n");
  expect(port, "GET", "/readyz", 200, "ok\n");
  request(port, "GET", "/healthz", &r);
  assert_string_equal(r.ctype, "text/plain; charset=utf-8");

  atomic_store(&s.healthy, 0);
  expect(port, "GET", "/healthz", 503, "ingest thread stuck\n");
  expect(port, "GET", "/readyz", 200, "ok\n");
  atomic_store(&s.healthy, 1);
  expect(port, "GET", "/healthz", 200, "ok\n");

  atomic_store(&s.ready, 0);
  expect(port, "GET", "/readyz", 503, "amqp: not connected (spooling)\n");
  atomic_store(&s.quiet, 1);
  expect(port, "GET", "/readyz", 503, "not ready\n");
  atomic_store(&s.ready, 1);
  expect(port, "GET", "/readyz", 200, "ok\n");

  /* A query string and a trailing slash reach the same endpoint. */
  expect(port, "GET", "/healthz?verbose=1", 200, "ok\n");
  expect(port, "GET", "/readyz/", 200, "ok\n");
  lsys_admin_destroy(a);
}

static void test_metrics_endpoint(void **state_) {
  (void)state_;
  lsys_metrics *m = NULL;
  int port;
  resp r;
  char *text;
  size_t len;

  assert_int_equal(lsys_metrics_create(&m), LSYS_OK);
  assert_int_equal(lsys_metrics_build_info(m, "logsysd"), LSYS_OK);
  lsys_counter *c = lsys_metrics_counter(m, "logsys_records_received_total", "Records received",
                                         LSYS_LABELS("level", "Error"));
  lsys_admin *a = start(NULL, m, &port);

  lsys_counter_add(c, 5);
  request(port, "GET", "/metrics", &r);
  assert_int_equal(r.code, CURLE_OK);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.ctype, "text/plain; version=0.0.4; charset=utf-8");
  assert_int_equal(lsys_metrics_render(m, &text, &len), LSYS_OK);
  assert_int_equal(r.len, len);
  assert_string_equal(r.body, text);
  free(text);
  assert_non_null(strstr(r.body, "logsys_records_received_total{level=\"Error\"} 5\n"));
  assert_non_null(strstr(r.body, "logsys_build_info{version=\"0.1.0\",binary=\"logsysd\"} 1\n"));

  lsys_counter_add(c, 1); /* each scrape renders afresh */
  request(port, "GET", "/metrics", &r);
  assert_non_null(strstr(r.body, "logsys_records_received_total{level=\"Error\"} 6\n"));

  /* No checks given: always healthy and ready. */
  expect(port, "GET", "/healthz", 200, "ok\n");
  expect(port, "GET", "/readyz", 200, "ok\n");
  lsys_admin_destroy(a);
  lsys_metrics_destroy(m);

  /* No registry: an empty exposition. */
  a = start(NULL, NULL, &port);
  request(port, "GET", "/metrics", &r);
  assert_int_equal(r.code, CURLE_OK);
  assert_int_equal(r.status, 200);
  assert_int_equal(r.len, 0);
  assert_string_equal(r.ctype, "text/plain; version=0.0.4; charset=utf-8");
  lsys_admin_destroy(a);
}

static void test_other_paths_and_methods(void **state_) {
  (void)state_;
  int port;
  lsys_admin *a = start(NULL, NULL, &port);
  resp r;

  expect(port, "GET", "/", 404, NULL);
  expect(port, "GET", "/nope", 404, NULL);
  expect(port, "GET", "/healthzz", 404, NULL);
  expect(port, "GET", "/metrics/x", 404, NULL);
  expect(port, "POST", "/nope", 404, NULL);

  const char *paths[] = {"/healthz", "/readyz", "/metrics"};
  for (size_t i = 0; i < 3; i++) {
    request(port, "POST", paths[i], &r);
    assert_int_equal(r.code, CURLE_OK);
    assert_int_equal(r.status, 405);
    assert_string_equal(r.allow, " GET, HEAD");
    assert_string_equal(r.body, "method not allowed\n");
  }
  expect(port, "DELETE", "/readyz", 405, "method not allowed\n");
  expect(port, "PUT", "/metrics", 405, "method not allowed\n");

  request(port, "HEAD", "/healthz", &r);
  assert_int_equal(r.code, CURLE_OK);
  assert_int_equal(r.status, 200);
  assert_int_equal(r.len, 0);
  lsys_admin_destroy(a);
}

static void test_bad_addresses(void **state_) {
  (void)state_;
  const char *bad[] = {
      "",          "9560",        "localhost",   "127.0.0.1:",       "127.0.0.1:abc",
      "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:123456", "::1:9560", "[::1]9560",
      "[::1:9560", "a b:9560",    "http://x:80", "host/x:80",        "[zz]:80",
      "[]:80",
  };
  lsys_admin *sentinel = (lsys_admin *)&sentinel, *a;
  char err[256];

  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    a = sentinel;
    err[0] = '\0';
    int rv = lsys_admin_create(&a, bad[i], NULL, NULL, err, sizeof err);
    if (rv != LSYS_EINVAL)
      print_error("address \"%s\" gave %d: %s\n", bad[i], rv, err);
    assert_int_equal(rv, LSYS_EINVAL);
    assert_ptr_equal(a, sentinel); /* *out untouched on failure */
    assert_non_null(strstr(err, "admin address"));
    assert_non_null(strstr(err, bad[i]));
  }
  a = sentinel;
  assert_int_equal(lsys_admin_create(&a, NULL, NULL, NULL, err, sizeof err), LSYS_EINVAL);
  assert_ptr_equal(a, sentinel);

  /* Well formed, but not an address of this host: listening fails. */
  assert_int_equal(lsys_admin_create(&a, "192.0.2.1:0", NULL, NULL, err, sizeof err), LSYS_EIO);
  assert_ptr_equal(a, sentinel);
  assert_non_null(strstr(err, "cannot listen: not an address of this host"));
  lsys_admin_destroy(NULL);
}

/* listen_socket binds and listens on a free port of 127.0.0.1 outside nng. */
static int listen_socket(int *port) {
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof sin;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
  assert_int_equal(listen(fd, 4), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
  *port = ntohs(sin.sin_port);
  return fd;
}

static void test_port_in_use(void **state_) {
  (void)state_;
  lsys_admin *a = NULL, *b = NULL;
  char addr[64], err[256];
  int port, fd = listen_socket(&port);

  /* Taken by another socket (another process, as far as we can tell). */
  snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
  assert_int_equal(lsys_admin_create(&a, addr, NULL, NULL, err, sizeof err), LSYS_EIO);
  assert_null(a);
  assert_non_null(strstr(err, addr));
  assert_non_null(strstr(err, "already in use"));
  close(fd);

  /* Taken by another admin endpoint of this process. */
  a = start(NULL, NULL, &port);
  snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
  assert_int_equal(lsys_admin_create(&b, addr, NULL, NULL, err, sizeof err), LSYS_EIO);
  assert_null(b);
  assert_non_null(strstr(err, addr));
  assert_non_null(strstr(err, "another admin endpoint in this process"));
  snprintf(addr, sizeof addr, "0.0.0.0:%d", port);
  assert_int_equal(lsys_admin_create(&b, addr, NULL, NULL, err, sizeof err), LSYS_EIO);
  assert_null(b);
  assert_non_null(strstr(err, "already in use"));

  /* The first one is unharmed by the failed attempts. */
  expect(port, "GET", "/healthz", 200, "ok\n");
  expect(port, "GET", "/readyz", 200, "ok\n");
  lsys_admin_destroy(a);

  /* Destroy stops listening before it returns. */
  resp r;
  request(port, "GET", "/healthz", &r);
  assert_int_equal(r.code, CURLE_COULDNT_CONNECT);
}

typedef struct blocker {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int entered, release;
  int port;
  lsys_admin *admin;
} blocker;

/* blocking_readyz holds its request until the test releases it. */
static int blocking_readyz(void *arg, char *why, size_t whylen) {
  blocker *b = arg;
  pthread_mutex_lock(&b->mu);
  b->entered = 1;
  pthread_cond_broadcast(&b->cv);
  while (!b->release)
    pthread_cond_wait(&b->cv, &b->mu);
  pthread_mutex_unlock(&b->mu);
  snprintf(why, whylen, "late");
  return 1;
}

static void *client(void *arg) {
  blocker *b = arg;
  resp r;
  request(b->port, "GET", "/readyz", &r); /* any outcome: the server goes away */
  return NULL;
}

static void *destroyer(void *arg) {
  lsys_admin_destroy(((blocker *)arg)->admin);
  return NULL;
}

static void test_destroy_waits_for_checks(void **state_) {
  (void)state_;
  blocker *b = calloc(1, sizeof *b);
  pthread_t ct, dt;

  assert_non_null(b);
  pthread_mutex_init(&b->mu, NULL);
  pthread_cond_init(&b->cv, NULL);
  lsys_admin_checks checks = {NULL, blocking_readyz, b};
  b->admin = start(&checks, NULL, &b->port);

  assert_int_equal(pthread_create(&ct, NULL, client, b), 0);
  pthread_mutex_lock(&b->mu);
  while (!b->entered)
    pthread_cond_wait(&b->cv, &b->mu);
  pthread_mutex_unlock(&b->mu);

  /* The check is running; destroy must wait for it before returning. */
  assert_int_equal(pthread_create(&dt, NULL, destroyer, b), 0);
  pthread_mutex_lock(&b->mu);
  b->release = 1;
  pthread_cond_broadcast(&b->cv);
  pthread_mutex_unlock(&b->mu);
  assert_int_equal(pthread_join(dt, NULL), 0);

  /* Freeing the check's state now must be safe (ASan would see otherwise). */
  pthread_mutex_destroy(&b->mu);
  pthread_cond_destroy(&b->cv);
  int port = b->port;
  free(b);
  assert_int_equal(pthread_join(ct, NULL), 0);
  resp r;
  request(port, "GET", "/readyz", &r);
  assert_int_equal(r.code, CURLE_COULDNT_CONNECT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_health_and_readiness),
      cmocka_unit_test(test_metrics_endpoint),
      cmocka_unit_test(test_other_paths_and_methods),
      cmocka_unit_test(test_bad_addresses),
      cmocka_unit_test(test_port_in_use),
      cmocka_unit_test(test_destroy_waits_for_checks),
  };
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int rv = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return rv;
}
