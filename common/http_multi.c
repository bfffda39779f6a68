/* http_multi.c - concurrent JSON POSTs on a libcurl multi handle, and outcome
 * classification (see http_multi.h). */
#include "http_multi.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "errors.h"

#ifndef LOGSYS_VERSION
#define LOGSYS_VERSION "0"
#endif

/* One transfer slot; its easy handle is kept for the next transfer. */
typedef struct xfer {
  CURL *easy;
  void *token;
  char *body; /* response body, NUL-terminated */
  size_t body_len;
  long retry_after_s;
  size_t slot; /* index in lsys_http_multi.active while running */
  struct xfer *next_free;
} xfer;

struct lsys_http_multi {
  CURLM *multi;
  struct curl_slist *headers;
  lsys_http_done_fn fn;
  void *arg;
  int timeout_ms;
  int max_in_flight;
  xfer **active; /* running transfers, active[0..in_flight) */
  int in_flight;
  xfer *free_list;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_OK;

static void global_init(void) {
  global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int lsys_http_multi_global_init(void) {
  pthread_once(&global_once, global_init);
  return global_rc == CURLE_OK ? LSYS_OK : LSYS_EIO;
}

static void xfer_free(xfer *x) {
  if (x == NULL)
    return;
  if (x->easy != NULL)
    curl_easy_cleanup(x->easy);
  free(x->body);
  free(x);
}

int lsys_http_multi_create(lsys_http_multi **out, int max_in_flight, int timeout_ms,
                           lsys_http_done_fn fn, void *arg) {
  lsys_http_multi *m = NULL;
  int rc = LSYS_EINVAL;

  if (out == NULL || max_in_flight < 1 || timeout_ms < 1 || fn == NULL)
    goto fail;
  rc = LSYS_EIO;
  if (lsys_http_multi_global_init() != LSYS_OK)
    goto fail;
  rc = LSYS_ENOMEM;
  if ((m = calloc(1, sizeof *m)) == NULL)
    goto fail;
  m->fn = fn;
  m->arg = arg;
  m->timeout_ms = timeout_ms;
  m->max_in_flight = max_in_flight;
  if ((m->active = calloc((size_t)max_in_flight, sizeof *m->active)) == NULL)
    goto fail;
  if ((m->multi = curl_multi_init()) == NULL)
    goto fail;
  struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
  if (h == NULL)
    goto fail;
  m->headers = h;
  /* "Expect:" stops curl from waiting for 100-continue on large bodies. */
  if ((h = curl_slist_append(m->headers, "Expect:")) == NULL)
    goto fail;
  m->headers = h;
  curl_multi_setopt(m->multi, CURLMOPT_MAXCONNECTS, (long)max_in_flight + 4);
  *out = m;
  return LSYS_OK;

fail:
  lsys_http_multi_destroy(m);
  return rc;
}

/* finish detaches x from the multi handle, reports it with code and
 * recycles it (destroy passes CURLE_ABORTED_BY_CALLBACK). */
static void finish(lsys_http_multi *m, xfer *x, CURLcode code) {
  lsys_http_response r = {0};
  long os_err = 0, status = 0;
  curl_off_t total_us = 0;

  curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(x->easy, CURLINFO_OS_ERRNO, &os_err);
  curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME_T, &total_us);
  curl_multi_remove_handle(m->multi, x->easy);
  /* Swap the last running transfer into x's slot. */
  m->in_flight--;
  m->active[x->slot] = m->active[m->in_flight];
  m->active[x->slot]->slot = x->slot;
  m->active[m->in_flight] = NULL;

  r.curl_code = (int)code;
  r.os_errno = (int)os_err;
  r.status = code == CURLE_OK ? status : 0;
  r.body = x->body ? x->body : "";
  r.body_len = x->body_len;
  r.elapsed_ms = (long)(total_us / 1000);
  r.retry_after_s = x->retry_after_s;
  m->fn(m->arg, x->token, &r);

  x->token = NULL;
  x->body_len = 0;
  if (x->body != NULL)
    x->body[0] = '\0';
  x->next_free = m->free_list;
  m->free_list = x;
}

void lsys_http_multi_destroy(lsys_http_multi *m) {
  if (m == NULL)
    return;
  while (m->in_flight > 0)
    finish(m, m->active[m->in_flight - 1], CURLE_ABORTED_BY_CALLBACK);
  while (m->free_list != NULL) {
    xfer *x = m->free_list;
    m->free_list = x->next_free;
    xfer_free(x);
  }
  if (m->multi != NULL)
    curl_multi_cleanup(m->multi);
  curl_slist_free_all(m->headers);
  free(m->active);
  free(m);
}

/* on_body keeps up to LSYS_HTTP_MULTI_BODY_MAX bytes of the response. */
static size_t on_body(char *data, size_t size, size_t nmemb, void *userp) {
  xfer *x = userp;
  size_t n = size * nmemb;
  size_t keep = LSYS_HTTP_MULTI_BODY_MAX - x->body_len;

  if (keep > n)
    keep = n;
  if (keep > 0) {
    char *grown = realloc(x->body, x->body_len + keep + 1);
    if (grown == NULL)
      return 0; /* fails the transfer with CURLE_WRITE_ERROR: classified RETRY */
    x->body = grown;
    memcpy(x->body + x->body_len, data, keep);
    x->body_len += keep;
    x->body[x->body_len] = '\0';
  }
  return n;
}

/* on_header notes a Retry-After given in seconds (the date form is ignored). */
static size_t on_header(char *data, size_t size, size_t nitems, void *userp) {
  xfer *x = userp;
  size_t n = size * nitems;
  static const char name[] = "retry-after:";

  if (n > sizeof name - 1 && strncasecmp(data, name, sizeof name - 1) == 0) {
    size_t i = sizeof name - 1;
    long v = 0;
    int digits = 0;
    while (i < n && (data[i] == ' ' || data[i] == '\t'))
      i++;
    for (; i < n && isdigit((unsigned char)data[i]) && v < 100000000; i++, digits++)
      v = v * 10 + (data[i] - '0');
    if (digits > 0)
      x->retry_after_s = v;
  }
  return n;
}

/* setup sets every option of one POST on x's (reset) easy handle. */
static int setup(lsys_http_multi *m, xfer *x, const char *url, const char *body, size_t len) {
  CURL *e = x->easy;
  CURLcode c = CURLE_OK;

#define SET(opt, val)                                                                              \
  do {                                                                                             \
    if (c == CURLE_OK)                                                                             \
      c = curl_easy_setopt(e, opt, val);                                                           \
  } while (0)
  SET(CURLOPT_URL, url);
  SET(CURLOPT_PROTOCOLS_STR, "http,https");
  SET(CURLOPT_NOSIGNAL, 1L);
  SET(CURLOPT_TIMEOUT_MS, (long)m->timeout_ms);
  SET(CURLOPT_CONNECTTIMEOUT_MS, (long)m->timeout_ms);
  SET(CURLOPT_FOLLOWLOCATION, 0L);
  SET(CURLOPT_TCP_KEEPALIVE, 1L);
  SET(CURLOPT_USERAGENT, "logsys/" LOGSYS_VERSION);
  SET(CURLOPT_HTTPHEADER, m->headers);
  SET(CURLOPT_POST, 1L);
  SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  SET(CURLOPT_COPYPOSTFIELDS, body);
  SET(CURLOPT_WRITEFUNCTION, on_body);
  SET(CURLOPT_WRITEDATA, x);
  SET(CURLOPT_HEADERFUNCTION, on_header);
  SET(CURLOPT_HEADERDATA, x);
  SET(CURLOPT_PRIVATE, x);
#undef SET
  return c == CURLE_OK ? LSYS_OK : c == CURLE_OUT_OF_MEMORY ? LSYS_ENOMEM : LSYS_EIO;
}

int lsys_http_multi_post(lsys_http_multi *m, const char *url, const char *body, size_t len,
                         void *token) {
  xfer *x = NULL;
  int rc;

  if (m->in_flight >= m->max_in_flight)
    return LSYS_EFULL;
  if (m->free_list != NULL) {
    x = m->free_list;
    m->free_list = x->next_free;
    curl_easy_reset(x->easy);
  } else {
    rc = LSYS_ENOMEM;
    if ((x = calloc(1, sizeof *x)) == NULL || (x->easy = curl_easy_init()) == NULL)
      goto fail;
  }
  x->token = token;
  x->body_len = 0;
  x->retry_after_s = -1;
  if ((rc = setup(m, x, url, body, len)) != LSYS_OK)
    goto fail;
  rc = LSYS_EIO;
  if (curl_multi_add_handle(m->multi, x->easy) != CURLM_OK)
    goto fail;
  x->slot = (size_t)m->in_flight;
  m->active[m->in_flight++] = x;
  return LSYS_OK;

fail:
  xfer_free(x);
  return rc;
}

int lsys_http_multi_run(lsys_http_multi *m, int timeout_ms) {
  CURLMsg *msg;
  int running = 0, left = 0, done = 0;

  if (timeout_ms > 0)
    curl_multi_poll(m->multi, NULL, 0, timeout_ms, NULL);
  curl_multi_perform(m->multi, &running);
  while ((msg = curl_multi_info_read(m->multi, &left)) != NULL) {
    char *priv = NULL;
    if (msg->msg != CURLMSG_DONE)
      continue;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
    if (priv != NULL) {
      xfer *x = (xfer *)(void *)priv;
      finish(m, x, msg->data.result);
      done++;
    }
  }
  return done;
}

int lsys_http_multi_in_flight(const lsys_http_multi *m) {
  return m->in_flight;
}

/* with_url appends " (url)" to reason when a URL is known. */
static void with_url(lsys_delivery_result *out, const char *what, const char *url) {
  if (url != NULL && *url != '\0')
    snprintf(out->reason, sizeof out->reason, "%s (%s)", what, url);
  else
    snprintf(out->reason, sizeof out->reason, "%s", what);
}

/* classify_transport explains a transfer that got no HTTP response. */
static void classify_transport(const lsys_http_response *r, const char *url, int timeout_ms,
                               lsys_delivery_result *out) {
  char what[160];
  CURLcode code = (CURLcode)r->curl_code;

  out->outcome = LSYS_OUTCOME_RETRY;
  switch (code) {
  case CURLE_OPERATION_TIMEDOUT:
    snprintf(out->reason, sizeof out->reason, "timeout after %d ms", timeout_ms);
    return;
  case CURLE_COULDNT_CONNECT:
    if (r->os_errno == ECONNREFUSED)
      snprintf(what, sizeof what, "connection refused");
    else if (r->os_errno != 0)
      snprintf(what, sizeof what, "cannot connect: %s", strerror(r->os_errno));
    else
      snprintf(what, sizeof what, "cannot connect");
    break;
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
    snprintf(what, sizeof what, "cannot resolve host");
    break;
  case CURLE_URL_MALFORMAT:
  case CURLE_UNSUPPORTED_PROTOCOL:
    out->outcome = LSYS_OUTCOME_PERMANENT;
    snprintf(what, sizeof what, "invalid URL");
    break;
  case CURLE_ABORTED_BY_CALLBACK:
    snprintf(out->reason, sizeof out->reason, "shutting down");
    return;
  case CURLE_GOT_NOTHING:
    snprintf(what, sizeof what, "empty reply");
    break;
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
    snprintf(what, sizeof what, "connection lost: %s",
             r->os_errno ? strerror(r->os_errno) : curl_easy_strerror(code));
    break;
  default:
    /* curl_easy_strerror gives a fixed text per code, never the URL. */
    snprintf(what, sizeof what, "%s", curl_easy_strerror(code));
    break;
  }
  with_url(out, what, url);
}

void lsys_http_multi_classify(const lsys_http_response *r, const char *sink, const char *shown_url,
                              int timeout_ms, lsys_delivery_result *out) {
  long s = r->status;

  out->http_status = s;
  out->reason[0] = '\0';
  if (r->curl_code != CURLE_OK || s == 0) {
    out->http_status = 0;
    classify_transport(r, shown_url, timeout_ms, out);
    if (r->curl_code == CURLE_OK) /* no status without an error: treat as a lost reply */
      with_url(out, "no HTTP status", shown_url);
    return;
  }
  if (s >= 200 && s <= 299) {
    out->outcome = LSYS_OUTCOME_OK;
    snprintf(out->reason, sizeof out->reason, "HTTP %ld from %s", s, sink);
  } else if (s == 429 && r->retry_after_s >= 0) {
    out->outcome = LSYS_OUTCOME_RETRY;
    snprintf(out->reason, sizeof out->reason, "HTTP 429 from %s, retry after %ld s", sink,
             r->retry_after_s);
  } else if (s == 429 || (s >= 500 && s <= 599)) {
    out->outcome = LSYS_OUTCOME_RETRY;
    snprintf(out->reason, sizeof out->reason, "HTTP %ld from %s", s, sink);
  } else if (s >= 400 && s <= 499) {
    out->outcome = LSYS_OUTCOME_PERMANENT;
    snprintf(out->reason, sizeof out->reason, "HTTP %ld from %s", s, sink);
  } else if (s >= 300 && s <= 399) {
    out->outcome = LSYS_OUTCOME_PERMANENT;
    snprintf(out->reason, sizeof out->reason, "HTTP %ld from %s (redirects are not followed)", s,
             sink);
  } else {
    out->outcome = LSYS_OUTCOME_RETRY;
    snprintf(out->reason, sizeof out->reason, "unexpected HTTP %ld from %s", s, sink);
  }
}
