/* ingest.h - the sidecar's IPC front: an nng rep0 socket served by a fixed set
 * of contexts, each holding at most one request at a time.
 *
 * A received request is handed to the callback on an nng thread (which must not
 * block: it queues the request); whoever holds the request answers it exactly
 * once with lsys_request_reply, from any thread, which re-arms the context.
 * The number of contexts bounds the requests in flight, and so the memory. */
#ifndef LSYS_INGEST_H
#define LSYS_INGEST_H

#include <stddef.h>

typedef struct lsys_ingest lsys_ingest;
typedef struct lsys_request lsys_request;

/* Called on an nng thread for each request; must not block. */
typedef void (*lsys_ingest_fn)(void *arg, lsys_request *req);

typedef struct lsys_ingest_opts {
  const char *url;        /* ipc:///path or any nng URL */
  int ipc_mode;           /* socket file permissions, e.g. 0660 */
  size_t max_recv_bytes;  /* transport cap: larger messages are dropped by nng */
  int contexts;           /* concurrent requests */
  lsys_ingest_fn fn;
  void *arg;
} lsys_ingest_opts;

/* lsys_ingest_create binds the socket and starts receiving. Errors name the URL
 * and nng's reason in err. *out written on success; free with lsys_ingest_destroy. */
int lsys_ingest_create(lsys_ingest **out, const lsys_ingest_opts *o, char *err, size_t errlen);

/* lsys_request_data returns the request body (valid until the reply). */
const void *lsys_request_data(const lsys_request *r, size_t *len);

/* lsys_request_reply sends len bytes of buf (copied) as the reply and releases
 * the request; r must not be used afterwards. */
void lsys_request_reply(lsys_request *r, const void *buf, size_t len);

/* lsys_ingest_stop stops taking new requests (requests already received must
 * still be answered). Safe to call more than once. */
void lsys_ingest_stop(lsys_ingest *in);

/* lsys_ingest_wait_idle waits up to timeout_ms until no context holds a
 * request or is sending a reply. Returns LSYS_OK or LSYS_ETIMEDOUT. */
int lsys_ingest_wait_idle(lsys_ingest *in, int timeout_ms);

/* lsys_ingest_destroy closes the socket (removing the IPC file) and frees in;
 * NULL is allowed. Call lsys_ingest_stop and answer every request first. */
void lsys_ingest_destroy(lsys_ingest *in);

#endif
