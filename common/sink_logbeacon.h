/* sink_logbeacon.h - the LogBeacon side of delivery: validating a
 * {domain}_logbeacon message, the POST body with its api_key, and what a
 * response means (SPEC sections 5 and 6).
 *
 * The body is sent as it came (no re-encoding, so numbers above 2^53 and key
 * order survive) unless an api_key has to be added: then it is spliced in
 * before the closing brace, or, when the message already has an api_key,
 * replaced through cJSON. API keys from responses go to an lsys_apikey_store.
 * Not thread-safe: one owner. */
#ifndef LSYS_SINK_LOGBEACON_H
#define LSYS_SINK_LOGBEACON_H

#include <stddef.h>

#include "config.h"
#include "delivery.h"
#include "http_multi.h"

typedef struct lsys_sink_logbeacon lsys_sink_logbeacon;
typedef struct lsys_lb_msg lsys_lb_msg; /* one validated message */

/* lsys_sink_logbeacon_create reads LOGSYS_LOGBEACON_URL (required: else
 * LSYS_ECONFIG with a message in err), LOGSYS_LOGBEACON_KEY_DIR and
 * LOGSYS_HTTP_TIMEOUT_MS from cfg (which must outlive the sink) and loads the
 * stored API keys. *out (free with lsys_sink_logbeacon_destroy) is written
 * only on success. */
int lsys_sink_logbeacon_create(lsys_sink_logbeacon **out, const lsys_config *cfg, char *err,
                               size_t errlen);

/* lsys_sink_logbeacon_destroy frees s; NULL is allowed. */
void lsys_sink_logbeacon_destroy(lsys_sink_logbeacon *s);

/* lsys_sink_logbeacon_parse validates len bytes of body: a JSON object with
 * the eight keys of the old system (domain, program_name, level, def_name,
 * message, extra_info, timestamp, hash), domain and program_name strings.
 * On success *out (free with lsys_sink_logbeacon_msg_free) holds a copy.
 * Otherwise returns LSYS_EINVAL with r set to PERMANENT and a reason naming
 * the problem, or LSYS_ENOMEM. */
int lsys_sink_logbeacon_parse(lsys_sink_logbeacon *s, const char *body, size_t len,
                              lsys_lb_msg **out, lsys_delivery_result *r);

/* lsys_sink_logbeacon_msg_free frees m; NULL is allowed. */
void lsys_sink_logbeacon_msg_free(lsys_lb_msg *m);

/* lsys_sink_logbeacon_request gives the URL and body to POST for m, with the
 * current api_key of its (domain, program) if one is known. The strings
 * belong to s and m and stay valid until the next request for m or its free.
 * Returns LSYS_OK or LSYS_ENOMEM. */
int lsys_sink_logbeacon_request(lsys_sink_logbeacon *s, lsys_lb_msg *m, const char **url,
                                const char **body, size_t *len);

/* lsys_sink_logbeacon_response classifies the answer to m's POST into r (a
 * 4xx reason carries LogBeacon's own "error"/"message" text when it has one)
 * and stores an "api_key" found in a JSON answer. Returns LSYS_OK, or
 * LSYS_EIO when a received key could not be stored (r is still valid). */
int lsys_sink_logbeacon_response(lsys_sink_logbeacon *s, lsys_lb_msg *m,
                                 const lsys_http_response *resp, lsys_delivery_result *r);

#endif
