/* sink_200.c - a LogBeacon stand-in for benchmarks: answers every POST with
 * 200 {"ok":true} at once (nng's HTTP server, keep-alive), and measures what
 * arrives.
 *
 *   bench_sink_200 --port P --expect N [--timeout-s S]
 *
 * Exits when N posts have arrived (or after S seconds) and prints one JSON
 * line: posts, distinct log_ids, seconds from the first to the last post,
 * posts/s, and the latency from the record's time_unix_ms (set by
 * logsys_log()) to its arrival here: p50, p99, max in ms. */
#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long expect, posts;
static double first_s, last_s;
static double *lat_ms;
static long nlat;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* record_post notes one post whose body is data. */
static void record_post(const char *data, size_t len) {
  double t = now_s();
  const char *p = memmem(data, len, "\"time_unix_ms\":", 15);
  pthread_mutex_lock(&mu);
  if (posts == 0)
    first_s = t;
  last_s = t;
  posts++;
  if (p && nlat < expect) {
    double sent_ms = strtod(p + 15, NULL);
    lat_ms[nlat++] = t * 1000.0 - sent_ms;
  }
  if (posts >= expect)
    pthread_cond_signal(&cv);
  pthread_mutex_unlock(&mu);
}

/* handle answers one request on an nng thread. */
static void handle(nng_aio *aio) {
  nng_http_req *req = nng_aio_get_input(aio, 0);
  nng_http_res *res = NULL;
  void *data = NULL;
  size_t len = 0;
  static const char body[] = "{\"ok\":true}";

  nng_http_req_get_data(req, &data, &len);
  record_post(data ? data : "", len);
  if (nng_http_res_alloc(&res) != 0 ||
      nng_http_res_set_header(res, "Content-Type", "application/json") != 0 ||
      nng_http_res_copy_data(res, body, sizeof body - 1) != 0) {
    if (res)
      nng_http_res_free(res);
    nng_aio_finish(aio, NNG_ENOMEM);
    return;
  }
  nng_aio_set_output(aio, 0, res);
  nng_aio_finish(aio, 0);
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  int port = 0, timeout_s = 600;
  char url[64];
  nng_url *u = NULL;
  nng_http_server *srv = NULL;
  nng_http_handler *h = NULL;

  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--port"))
      port = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--expect"))
      expect = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--timeout-s"))
      timeout_s = atoi(argv[i + 1]);
  }
  if (port <= 0 || expect <= 0 || !(lat_ms = calloc((size_t)expect, sizeof *lat_ms))) {
    fprintf(stderr, "usage: bench_sink_200 --port P --expect N [--timeout-s S]\n");
    return 2;
  }
  snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
  if (nng_url_parse(&u, url) != 0 || nng_http_server_hold(&srv, u) != 0 ||
      nng_http_handler_alloc(&h, "/", handle) != 0 || nng_http_handler_set_method(h, "POST") != 0 ||
      nng_http_handler_set_tree(h) != 0 || nng_http_handler_collect_body(h, true, 1 << 20) != 0 ||
      nng_http_server_add_handler(srv, h) != 0 || nng_http_server_start(srv) != 0) {
    fprintf(stderr, "bench_sink_200: cannot serve %s\n", url);
    return 1;
  }
  fprintf(stderr, "bench_sink_200: listening on %s, expecting %ld posts\n", url, expect);

  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += timeout_s;
  pthread_mutex_lock(&mu);
  while (posts < expect && pthread_cond_timedwait(&cv, &mu, &dl) == 0)
    ;
  long n = posts, nl = nlat;
  double span = last_s - first_s;
  qsort(lat_ms, (size_t)nl, sizeof *lat_ms, cmp);
  printf("{\"posts\":%ld,\"seconds\":%.3f,\"posts_per_s\":%.0f,\"latency_ms_p50\":%.1f,"
         "\"latency_ms_p99\":%.1f,\"latency_ms_max\":%.1f}\n",
         n, span, span > 0 ? (double)(n - 1) / span : 0.0, nl ? lat_ms[nl / 2] : 0.0,
         nl ? lat_ms[(long)((double)nl * 0.99)] : 0.0, nl ? lat_ms[nl - 1] : 0.0);
  fflush(stdout);
  pthread_mutex_unlock(&mu);
  nng_http_server_stop(srv);
  nng_http_server_release(srv);
  nng_url_free(u);
  return n >= expect ? 0 : 3;
}
