/* http_multi.h - concurrent JSON POSTs over kept-alive connections (a libcurl
 * multi handle), and the classification of their outcome into OK / RETRY /
 * PERMANENT (SPEC section 6).
 *
 * Every transfer has CURLOPT_TIMEOUT_MS and CURLOPT_CONNECTTIMEOUT_MS set and
 * CURLOPT_NOSIGNAL on; connections stay open in the multi handle's cache and
 * are reused by later transfers to the same host (HTTP/2 multiplexes). Easy
 * handles are recycled too. Redirects are not followed.
 *
 * Nothing here ever copies curl's error buffer (it can hold the URL, and a
 * Telegram URL holds the bot token): reasons are built from the result code,
 * the OS error and a URL the caller made safe to show.
 *
 * Not thread-safe: one owner thread. */
#ifndef LSYS_HTTP_MULTI_H
#define LSYS_HTTP_MULTI_H

#include <stddef.h>

#include "delivery.h"

/* Bytes of a response body kept; the rest is read and dropped. */
#define LSYS_HTTP_MULTI_BODY_MAX 65536

typedef struct lsys_http_multi lsys_http_multi;

/* One finished transfer, valid during the completion callback only. */
typedef struct lsys_http_response {
  int curl_code;     /* CURLcode: 0 when an HTTP response arrived */
  int os_errno;      /* errno of a failed connect or send/receive, else 0 */
  long status;       /* HTTP status, 0 when there was no response */
  const char *body;  /* NUL-terminated, at most LSYS_HTTP_MULTI_BODY_MAX bytes */
  size_t body_len;
  long elapsed_ms;   /* from start to completion */
  long retry_after_s; /* Retry-After header in seconds, -1 when absent */
} lsys_http_response;

/* Called once per started transfer from lsys_http_multi_run (or with
 * curl_code CURLE_ABORTED_BY_CALLBACK from lsys_http_multi_destroy). */
typedef void (*lsys_http_done_fn)(void *arg, void *token, const lsys_http_response *r);

/* lsys_http_multi_global_init runs curl_global_init once per process. Call it
 * before starting threads (lsys_http_multi_create calls it too, for tools that
 * have a single thread). Returns LSYS_OK or LSYS_EIO. */
int lsys_http_multi_global_init(void);

/* lsys_http_multi_create makes a multi handle for at most max_in_flight
 * transfers of timeout_ms each (also the connect timeout); fn reports their
 * completion with arg. *out (free with lsys_http_multi_destroy) is written only
 * on success. Returns LSYS_OK, LSYS_EINVAL, LSYS_ENOMEM or LSYS_EIO. */
int lsys_http_multi_create(lsys_http_multi **out, int max_in_flight, int timeout_ms,
                           lsys_http_done_fn fn, void *arg);

/* lsys_http_multi_destroy reports every transfer still running as aborted
 * (curl_code CURLE_ABORTED_BY_CALLBACK, status 0) and frees m; NULL is allowed. */
void lsys_http_multi_destroy(lsys_http_multi *m);

/* lsys_http_multi_post starts POSTing len bytes of body (copied) with
 * Content-Type: application/json to url (copied); token comes back in the
 * completion. Returns LSYS_OK, LSYS_EFULL (max_in_flight transfers running),
 * LSYS_ENOMEM or LSYS_EIO. */
int lsys_http_multi_post(lsys_http_multi *m, const char *url, const char *body, size_t len,
                         void *token);

/* lsys_http_multi_run waits up to timeout_ms (0: not at all) for network
 * activity, advances the transfers and reports the finished ones. Returns the
 * number reported. It never waits longer than timeout_ms, also when a peer
 * stalls (curl's own timers are honoured within it). */
int lsys_http_multi_run(lsys_http_multi *m, int timeout_ms);

/* lsys_http_multi_in_flight returns the number of transfers running. */
int lsys_http_multi_in_flight(const lsys_http_multi *m);

/* lsys_http_multi_classify turns r into an outcome and a short reason:
 * 2xx OK; connection errors, timeouts, 429 and 5xx RETRY; other 4xx and 3xx
 * (redirects are not followed) PERMANENT. sink names the peer in reasons
 * ("HTTP 500 from LogBeacon"); shown_url (may be NULL) is a URL safe to show,
 * added to connection errors ("connection refused (http://h:1/ingest)");
 * timeout_ms is the configured timeout, named in timeout reasons. */
void lsys_http_multi_classify(const lsys_http_response *r, const char *sink, const char *shown_url,
                              int timeout_ms, lsys_delivery_result *out);

#endif
