/* queue_json.h - the queue message bodies of SPEC section 5, wire-compatible
 * with the old Python system.
 *
 * {domain}_logbeacon: {"domain","program_name","level","def_name","message",
 *   "extra_info","timestamp","hash","log_id","level_no","time_unix_ms"}
 * {domain}_tg: {"type","notify_msg","timestamp","hash","log_id","notify_key"} plus
 *   "tg_token"/"tg_chatid" only when credentials are embedded on purpose.
 *   notify_key (ours, not the old system's) identifies "the same notification"
 *   (level, program, function, message) so workers can collapse bursts. */
#ifndef LSYS_QUEUE_JSON_H
#define LSYS_QUEUE_JSON_H

#include <stddef.h>
#include <stdint.h>
#include "record.h"

/* lsys_qjson_timestamp formats unix_ms as "YYYY-MM-DD HH:MM:SS" in local time
 * (the old system's format) into buf (at least 20 bytes). */
void lsys_qjson_timestamp(int64_t unix_ms, char buf[static 20]);

/* lsys_qjson_queue_name writes "{domain}_{suffix}" into buf; returns LSYS_EINVAL
 * when it does not fit. */
int lsys_qjson_queue_name(const char *domain, const char *suffix, char *buf, size_t len);

/* lsys_qjson_logbeacon renders the {domain}_logbeacon body of r. On success
 * *out is a new NUL-terminated string (caller frees with free()) of *out_len bytes. */
int lsys_qjson_logbeacon(const lsys_record *r, const char *domain, char **out, size_t *out_len);

/* lsys_qjson_notify_key writes the 16-hex-digit FNV-1a hash of r's level name,
 * program, def_name and message: equal for repeats of the same notification. */
void lsys_qjson_notify_key(const lsys_record *r, char buf[static 17]);

/* lsys_qjson_tg renders the {domain}_tg body: type is "developer" or "customer",
 * notify_msg the rendered template text. tg_token and tg_chatid are added only
 * when both are non-NULL (LOGSYS_TG_EMBED_CREDENTIALS=1); the chat id is kept as
 * the string it was configured as. Ownership of *out as for lsys_qjson_logbeacon. */
int lsys_qjson_tg(const lsys_record *r, const char *type, const char *notify_msg, const char *tg_token,
                  const char *tg_chatid, char **out, size_t *out_len);

#endif
