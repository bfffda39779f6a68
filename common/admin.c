/* admin.c - /healthz, /readyz and /metrics on nng's HTTP server.
 *
 * nng calls a handler on its own threads and may still be running one when
 * we are asked to stop; it also frees handlers (and the server) later, on its
 * reaper thread. So what the callbacks use lives in a small reference-counted
 * core: lsys_admin holds one reference and each registered handler one, which
 * nng drops through the handler's data destructor whenever it frees the
 * handler. The core also counts callbacks in progress, so lsys_admin_destroy
 * can close the gate, wait for them, and return knowing the caller's checks
 * and metrics will not be touched again.
 *
 * Handlers accept every method so that we answer 405 with an Allow header
 * ourselves (nng's own 405 has none); a request body of up to BODY_MAX bytes
 * is read and dropped, a larger one gets nng's 400. */
#include "admin.h"

#include <arpa/inet.h>
#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"

#define BODY_MAX 4096
#define TEXT_PLAIN "text/plain; charset=utf-8"
#define METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"

enum { EP_HEALTHZ, EP_READYZ, EP_METRICS, EP_COUNT };

static const char *const ep_paths[EP_COUNT] = {"/healthz", "/readyz", "/metrics"};

typedef struct core {
  atomic_int refs;
  pthread_mutex_t mu; /* guards closing and busy */
  pthread_cond_t cv;  /* signalled when busy drops to 0 while closing */
  int closing;        /* destroy has begun: callbacks leave checks and metrics alone */
  int busy;           /* callbacks using checks or metrics right now */
  lsys_admin_checks checks;
  lsys_metrics *metrics;
} core;

struct lsys_admin {
  core *core;
  nng_http_server *server;
  int started;                          /* nng_http_server_start succeeded */
  int port;
  nng_http_handler *handlers[EP_COUNT]; /* ours until added[i] */
  int added[EP_COUNT];                  /* owned by the server */
};

/* core_release drops one reference to c (a void * so that nng can call it as
 * a handler's data destructor) and frees c with the last one. */
static void core_release(void *arg) {
  core *c = arg;
  if (c && atomic_fetch_sub(&c->refs, 1) == 1) {
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
  }
}

/* core_enter admits one callback; it returns 0 once destroy has begun. */
static int core_enter(core *c) {
  int ok;
  pthread_mutex_lock(&c->mu);
  ok = !c->closing;
  if (ok)
    c->busy++;
  pthread_mutex_unlock(&c->mu);
  return ok;
}

/* core_leave ends a callback admitted by core_enter. */
static void core_leave(core *c) {
  pthread_mutex_lock(&c->mu);
  if (--c->busy == 0 && c->closing)
    pthread_cond_broadcast(&c->cv);
  pthread_mutex_unlock(&c->mu);
}

/* reply completes a handler's aio with a response (body copied; nng cannot
 * copy an empty one, so that one is set instead). allow marks
 * a 405: it names the methods we take and closes the connection, since a body
 * we did not read may follow. */
static void reply(nng_aio *aio, uint16_t status, const char *ctype, const char *body, size_t len,
                  int allow) {
  nng_http_res *res = NULL;
  int rv;

  if ((rv = nng_http_res_alloc(&res)) != 0 || (rv = nng_http_res_set_status(res, status)) != 0 ||
      (rv = nng_http_res_set_header(res, "Content-Type", ctype)) != 0 ||
      (rv = nng_http_res_set_header(res, "Cache-Control", "no-store")) != 0 ||
      (allow && ((rv = nng_http_res_set_header(res, "Allow", "GET, HEAD")) != 0 ||
                 (rv = nng_http_res_set_header(res, "Connection", "close")) != 0)) ||
      (rv = len ? nng_http_res_copy_data(res, body, len) : nng_http_res_set_data(res, NULL, 0)) !=
          0) {
    if (res)
      nng_http_res_free(res);
    nng_aio_finish(aio, rv); /* nng drops the connection */
    return;
  }
  nng_aio_set_output(aio, 0, res);
  nng_aio_finish(aio, 0);
}

/* serve_check answers /healthz or /readyz from fn (NULL: fine). */
static void serve_check(nng_aio *aio, lsys_admin_check_fn fn, void *arg, const char *bad) {
  char why[256] = "";
  size_t n;

  if (!fn || fn(arg, why, sizeof why - 1) == 0) {
    reply(aio, NNG_HTTP_STATUS_OK, TEXT_PLAIN, "ok\n", 3, 0);
    return;
  }
  why[sizeof why - 1] = '\0';
  if (why[0] == '\0')
    snprintf(why, sizeof why, "%s", bad);
  n = strlen(why);
  if (n == sizeof why - 1)
    n--;
  why[n++] = '\n';
  reply(aio, NNG_HTTP_STATUS_SERVICE_UNAVAILABLE, TEXT_PLAIN, why, n, 0);
}

/* serve_metrics answers /metrics with m rendered (empty when m is NULL). */
static void serve_metrics(nng_aio *aio, lsys_metrics *m) {
  char *text = NULL;
  size_t len = 0;

  if (!m) {
    reply(aio, NNG_HTTP_STATUS_OK, METRICS_TYPE, "", 0, 0);
    return;
  }
  if (lsys_metrics_render(m, &text, &len) != LSYS_OK) {
    reply(aio, NNG_HTTP_STATUS_INTERNAL_SERVER_ERROR, TEXT_PLAIN, "out of memory\n", 14, 0);
    return;
  }
  reply(aio, NNG_HTTP_STATUS_OK, METRICS_TYPE, text, len, 0);
  free(text);
}

/* serve runs on an nng thread for every request to one of our paths. */
static void serve(nng_aio *aio, int ep) {
  nng_http_req *req = nng_aio_get_input(aio, 0);
  nng_http_handler *h = nng_aio_get_input(aio, 1);
  core *c = nng_http_handler_get_data(h);
  const char *method = nng_http_req_get_method(req);
  static const char not_allowed[] = "method not allowed\n";
  static const char closing[] = "shutting down\n";

  if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
    reply(aio, NNG_HTTP_STATUS_METHOD_NOT_ALLOWED, TEXT_PLAIN, not_allowed,
          sizeof not_allowed - 1, 1);
    return;
  }
  if (!core_enter(c)) {
    reply(aio, NNG_HTTP_STATUS_SERVICE_UNAVAILABLE, TEXT_PLAIN, closing, sizeof closing - 1, 0);
    return;
  }
  switch (ep) {
  case EP_HEALTHZ:
    serve_check(aio, c->checks.healthz, c->checks.arg, "unhealthy");
    break;
  case EP_READYZ:
    serve_check(aio, c->checks.readyz, c->checks.arg, "not ready");
    break;
  default:
    serve_metrics(aio, c->metrics);
    break;
  }
  core_leave(c);
}

static void serve_healthz(nng_aio *aio) {
  serve(aio, EP_HEALTHZ);
}

static void serve_readyz(nng_aio *aio) {
  serve(aio, EP_READYZ);
}

static void serve_metrics_path(nng_aio *aio) {
  serve(aio, EP_METRICS);
}

static void (*const ep_callbacks[EP_COUNT])(nng_aio *) = {serve_healthz, serve_readyz,
                                                          serve_metrics_path};

/* valid_host tells whether host holds only characters of a host name or an
 * IPv4 address (v6 false) or of an IPv6 address (v6 true). */
static int valid_host(const char *host, size_t len, int v6) {
  const char *ok = v6 ? "0123456789abcdefABCDEF:." : "abcdefghijklmnopqrstuvwxyz"
                                                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_";
  for (size_t i = 0; i < len; i++)
    if (!strchr(ok, host[i]))
      return 0;
  return !v6 || len > 0;
}

/* make_url turns addr ("host:port", "[v6]:port" or ":port") into the URL nng
 * takes, http://host:port, in url. Returns 0, or LSYS_EINVAL with a static
 * reason in *why. */
static int make_url(const char *addr, char *url, size_t urllen, const char **why) {
  const char *host = addr, *colon, *port;
  size_t hostlen;
  int v6 = 0;
  long num = 0;

  *why = "expected host:port, e.g. 127.0.0.1:9560, :9560 or [::1]:9560";
  if (!addr || strlen(addr) > 255)
    return LSYS_EINVAL;
  if (addr[0] == '[') {
    const char *end = strchr(addr, ']');
    if (!end || end[1] != ':')
      return LSYS_EINVAL;
    host = addr + 1;
    hostlen = (size_t)(end - host);
    colon = end + 1;
    v6 = 1;
  } else {
    if (!(colon = strrchr(addr, ':')))
      return LSYS_EINVAL;
    hostlen = (size_t)(colon - addr);
    if (memchr(addr, ':', hostlen)) {
      *why = "put an IPv6 address in brackets, e.g. [::1]:9560";
      return LSYS_EINVAL;
    }
  }
  if (!valid_host(host, hostlen, v6)) {
    *why = "the host is not a host name or an IP address";
    return LSYS_EINVAL;
  }
  port = colon + 1;
  if (port[0] == '\0' || strspn(port, "0123456789") != strlen(port) || strlen(port) > 5 ||
      (num = strtol(port, NULL, 10)) > 65535) {
    *why = "the port must be a number from 0 to 65535";
    return LSYS_EINVAL;
  }
  if (hostlen == 0)
    snprintf(url, urllen, "http://0.0.0.0:%ld", num);
  else if (v6)
    snprintf(url, urllen, "http://[%.*s]:%ld", (int)hostlen, host, num);
  else
    snprintf(url, urllen, "http://%.*s:%ld", (int)hostlen, host, num);
  return LSYS_OK;
}

/* add_handlers registers our three paths on a->server. */
static int add_handlers(lsys_admin *a, const char *addr, char *err, size_t errlen) {
  for (int i = 0; i < EP_COUNT; i++) {
    nng_http_handler *h;
    int rv;
    if ((rv = nng_http_handler_alloc(&h, ep_paths[i], ep_callbacks[i])) != 0) {
      snprintf(err, errlen, "admin address \"%s\": %s", addr, nng_strerror(rv));
      return LSYS_ENOMEM;
    }
    a->handlers[i] = h;
    atomic_fetch_add(&a->core->refs, 1);
    if ((rv = nng_http_handler_set_data(h, a->core, core_release)) != 0) {
      core_release(a->core); /* nng took no reference */
      snprintf(err, errlen, "admin address \"%s\": %s", addr, nng_strerror(rv));
      return LSYS_EIO;
    }
    if ((rv = nng_http_handler_set_method(h, NULL)) != 0 ||
        (rv = nng_http_handler_collect_body(h, true, BODY_MAX)) != 0) {
      snprintf(err, errlen, "admin address \"%s\": %s", addr, nng_strerror(rv));
      return rv == NNG_ENOMEM ? LSYS_ENOMEM : LSYS_EIO;
    }
    if ((rv = nng_http_server_add_handler(a->server, h)) != 0) {
      if (rv == NNG_EADDRINUSE)
        snprintf(err, errlen,
                 "admin address \"%s\": already served by another admin endpoint in this process",
                 addr);
      else
        snprintf(err, errlen, "admin address \"%s\": %s", addr, nng_strerror(rv));
      return rv == NNG_ENOMEM ? LSYS_ENOMEM : LSYS_EIO;
    }
    a->added[i] = 1;
  }
  return LSYS_OK;
}

/* bound_port reads the port the started server listens on. */
static int bound_port(nng_http_server *s) {
  nng_sockaddr sa;
  if (nng_http_server_get_addr(s, &sa) != 0)
    return 0;
  if (sa.s_family == NNG_AF_INET)
    return ntohs(sa.s_in.sa_port);
  if (sa.s_family == NNG_AF_INET6)
    return ntohs(sa.s_in6.sa_port);
  return 0;
}

int lsys_admin_create(lsys_admin **out, const char *addr, const lsys_admin_checks *checks,
                      lsys_metrics *m, char *err, size_t errlen) {
  char urltext[300];
  const char *why;
  nng_url *url = NULL;
  lsys_admin *a = NULL;
  core *c = NULL;
  int rv;

  if ((rv = make_url(addr, urltext, sizeof urltext, &why)) != LSYS_OK) {
    snprintf(err, errlen, "admin address \"%s\": %s", addr ? addr : "(null)", why);
    return rv;
  }
  rv = LSYS_ENOMEM;
  snprintf(err, errlen, "admin address \"%s\": out of memory", addr);
  if (!(a = calloc(1, sizeof *a)) || !(c = calloc(1, sizeof *c)))
    goto fail;
  if (pthread_mutex_init(&c->mu, NULL) != 0)
    goto fail;
  if (pthread_cond_init(&c->cv, NULL) != 0) {
    pthread_mutex_destroy(&c->mu);
    goto fail;
  }
  atomic_init(&c->refs, 1);
  if (checks)
    c->checks = *checks;
  c->metrics = m;
  a->core = c;
  c = NULL;

  if ((rv = nng_url_parse(&url, urltext)) != 0 ||
      (rv = nng_http_server_hold(&a->server, url)) != 0) {
    if (rv == NNG_ENOMEM)
      snprintf(err, errlen, "admin address \"%s\": out of memory", addr);
    else
      snprintf(err, errlen, "admin address \"%s\": the host does not resolve (%s)", addr,
               nng_strerror(rv));
    rv = rv == NNG_ENOMEM ? LSYS_ENOMEM : LSYS_EINVAL;
    goto fail;
  }
  if ((rv = add_handlers(a, addr, err, errlen)) != LSYS_OK)
    goto fail;
  if ((rv = nng_http_server_start(a->server)) != 0) {
    if (rv == NNG_EADDRINUSE)
      snprintf(err, errlen, "admin address \"%s\": the port is already in use", addr);
    else if (rv == NNG_EADDRINVAL)
      snprintf(err, errlen, "admin address \"%s\": cannot listen: not an address of this host",
               addr);
    else if (rv == NNG_EPERM)
      snprintf(err, errlen, "admin address \"%s\": cannot listen: permission denied", addr);
    else
      snprintf(err, errlen, "admin address \"%s\": cannot listen: %s", addr, nng_strerror(rv));
    rv = rv == NNG_ENOMEM ? LSYS_ENOMEM : LSYS_EIO;
    goto fail;
  }
  a->started = 1;
  a->port = bound_port(a->server);
  nng_url_free(url);
  if (errlen)
    err[0] = '\0';
  *out = a;
  return LSYS_OK;
fail:
  free(c);
  if (url)
    nng_url_free(url);
  lsys_admin_destroy(a);
  return rv;
}

int lsys_admin_port(const lsys_admin *a) {
  return a ? a->port : 0;
}

void lsys_admin_destroy(lsys_admin *a) {
  if (!a)
    return;
  if (a->core) {
    pthread_mutex_lock(&a->core->mu);
    a->core->closing = 1;
    while (a->core->busy > 0)
      pthread_cond_wait(&a->core->cv, &a->core->mu);
    pthread_mutex_unlock(&a->core->mu);
  }
  if (a->started)
    nng_http_server_stop(a->server);
  for (int i = 0; i < EP_COUNT; i++) {
    /* del_handler hands the server's reference back to us; a callback still
     * running holds its own, so the core outlives it. */
    nng_http_handler *h = a->handlers[i];
    if (h && (!a->added[i] || nng_http_server_del_handler(a->server, h) == 0))
      nng_http_handler_free(h);
  }
  if (a->server)
    nng_http_server_release(a->server);
  core_release(a->core);
  free(a);
}
