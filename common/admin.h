/* admin.h - the admin HTTP endpoint of every long-running binary
 * (LOGSYS_ADMIN_ADDR, SPEC section 7), served by nng's HTTP server:
 *
 *   GET /healthz  200 "ok\n", or 503 with the reason, from checks->healthz
 *   GET /readyz   the same from checks->readyz
 *   GET /metrics  200, Content-Type "text/plain; version=0.0.4; charset=utf-8",
 *                 the rendered metrics registry
 *
 * HEAD works like GET without the body. Another method on these paths gets 405
 * with "Allow: GET, HEAD"; any other path gets nng's 404. Bodies are plain text.
 *
 * Requests are served on nng's threads, several at a time. */
#ifndef LSYS_ADMIN_H
#define LSYS_ADMIN_H

#include <stddef.h>

#include "metrics.h"

typedef struct lsys_admin lsys_admin;

/* A health or readiness check: returns 0 when fine, else nonzero with a short
 * reason written into why (whylen bytes, already "" on entry; it is sent to
 * the client, so never put a secret in it). It runs on an nng thread, possibly
 * on two threads at once: it must be quick (no network, no disk, no waiting on
 * a lock held across slow work) and thread-safe - read state the owning
 * threads publish with atomics, for instance. It must not call
 * lsys_admin_destroy. */
typedef int (*lsys_admin_check_fn)(void *arg, char *why, size_t whylen);

typedef struct lsys_admin_checks {
  lsys_admin_check_fn healthz; /* liveness; NULL: always healthy */
  lsys_admin_check_fn readyz;  /* readiness; NULL: always ready */
  void *arg;                   /* passed to both; not owned */
} lsys_admin_checks;

/* lsys_admin_create starts serving on addr, "host:port": "127.0.0.1:9560",
 * "0.0.0.0:9560", ":9560" (all IPv4 interfaces), "[::1]:9560", or a host name.
 * Port 0 picks a free port (see lsys_admin_port). checks (copied; may be NULL:
 * always healthy and ready) and m (may be NULL: /metrics is empty) are not
 * owned: checks->arg and m must stay valid until lsys_admin_destroy returns.
 * Returns LSYS_OK; LSYS_EINVAL for an address that is not host:port or does
 * not resolve; LSYS_EIO when it cannot listen (port in use, including by
 * another admin endpoint of this process); LSYS_ENOMEM. On failure err holds
 * a message naming the address. *out is written only on success. */
int lsys_admin_create(lsys_admin **out, const char *addr, const lsys_admin_checks *checks,
                      lsys_metrics *m, char *err, size_t errlen);

/* lsys_admin_port returns the TCP port a is listening on (the chosen one when
 * created with port 0), or 0 when it cannot tell. */
int lsys_admin_port(const lsys_admin *a);

/* lsys_admin_destroy stops serving and frees a; NULL is allowed. It waits for
 * check callbacks and renders in progress, and none starts after it returns
 * (a request arriving meanwhile gets 503 "shutting down"), so checks->arg and
 * the metrics registry may be freed right after. Open connections are closed. */
void lsys_admin_destroy(lsys_admin *a);

#endif
