/* sink_telegram.h - the Telegram side of delivery: validating a {domain}_tg
 * message, credentials, text parts, per-bot and per-chat rate limits, 429
 * retry_after and what a response means (SPEC sections 5 and 6).
 *
 * Credentials: type developer uses LOGSYS_TG_DEV_TOKEN/CHAT_ID, customer
 * LOGSYS_TG_CUSTOMER_*; a message's own tg_token/tg_chatid are used instead
 * only with LOGSYS_TG_ACCEPT_MESSAGE_CREDENTIALS=1 and only when both are
 * present and well-formed. Tokens stay in memory: a reason never holds a token
 * nor a URL with one (a URL in a reason has "****" in place of the token).
 *
 * Text: notify_msg with invalid UTF-8 repaired, split by tg_text (4096 units
 * per part), each part HTML-escaped and sent as its own sendMessage, in order.
 * Parts that are only blanks are skipped (Telegram rejects them). A text of
 * more than LSYS_TG_MAX_PARTS parts is cut, marked "...(已截斷)", so one
 * message cannot occupy a chat for long.
 *
 * Ordering and limits: a chat has at most one sendMessage in flight, and its
 * messages go in the order they were offered (lsys_sink_telegram_acquire is
 * called in order each pass). A send needs a slot in its bot's window
 * (LOGSYS_TG_BOT_RATE_PER_S per second) and its chat's window
 * (LOGSYS_TG_CHAT_RATE_PER_MIN per minute), see rate_limit.h. A 429 blocks the
 * chat for parameters.retry_after seconds (Retry-After header, else 1 s) and
 * the same part is tried again afterwards, without counting as a failure,
 * unless retry_after exceeds LSYS_TG_MAX_RETRY_AFTER_S or the waits of one part
 * add up to more than that: then the message is reported RETRY.
 *
 * Resuming (best effort): when a part after the first fails with RETRY, the
 * sink remembers (type, log_id, text) -> parts sent, for the last
 * LSYS_TG_PROGRESS_MAX such messages; a later submission of the same message
 * (same log_id and text) in this process starts at the first unsent part. A
 * restart forgets this, so a retried message may then repeat its first parts.
 *
 * Not thread-safe: one owner. */
#ifndef LSYS_SINK_TELEGRAM_H
#define LSYS_SINK_TELEGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "delivery.h"
#include "http_multi.h"

#define LSYS_TG_MAX_PARTS 20          /* sendMessage calls for one message at most */
#define LSYS_TG_MAX_RETRY_AFTER_S 300 /* longer 429 waits are left to the retry queue */
#define LSYS_TG_PROGRESS_MAX 256      /* partly sent messages remembered */

/* Added to the text of a collapse summary, with the seconds W and the count N:
 * "\n\n（過去 W 秒內重複 N 次）", Traditional Chinese like the default template
 * ("(repeated N times in the last W s)"). */
#define LSYS_TG_REPEAT_FORMAT                                                                      \
  "\n\n\xef\xbc\x88\xe9\x81\x8e\xe5\x8e\xbb %u \xe7\xa7\x92\xe5\x85\xa7\xe9\x87\x8d\xe8\xa4\x87 %u "         \
  "\xe6\xac\xa1\xef\xbc\x89"

typedef struct lsys_sink_telegram lsys_sink_telegram;
typedef struct lsys_tg_msg lsys_tg_msg; /* one message (or summary) being sent */

/* What lsys_sink_telegram_acquire and lsys_sink_telegram_response answer. */
enum {
  LSYS_TG_GO = 0,  /* acquire: send the next part now (slots taken, chat busy) */
  LSYS_TG_BUSY,    /* acquire: the chat has a send in flight or an earlier message waiting */
  LSYS_TG_LIMITED, /* acquire: wait for a rate window or a 429 block, until *wake_ms */
  LSYS_TG_NEXT,    /* response: part delivered, more parts to send */
  LSYS_TG_WAIT,    /* response: 429 honoured, the same part goes again later */
  LSYS_TG_DONE,    /* response: finished, outcome in r */
};

/* lsys_sink_telegram_create reads the Telegram settings from cfg (which must
 * outlive the sink). *out (free with lsys_sink_telegram_destroy) is written
 * only on success. Returns LSYS_OK, LSYS_ENOMEM, or LSYS_ECONFIG with err. */
int lsys_sink_telegram_create(lsys_sink_telegram **out, const lsys_config *cfg, char *err,
                              size_t errlen);

/* lsys_sink_telegram_destroy frees s, after every message; NULL is allowed. */
void lsys_sink_telegram_destroy(lsys_sink_telegram *s);

/* lsys_sink_telegram_parse validates len bytes of body ("type" developer or
 * customer, "notify_msg" a non-blank string), resolves its credentials and
 * splits its text. On success *out (free with lsys_sink_telegram_msg_free).
 * Otherwise returns LSYS_EINVAL with r PERMANENT and a reason ("message lacks
 * notify_msg", "no bot token configured for developer notifications"), or
 * LSYS_ENOMEM with r RETRY. */
int lsys_sink_telegram_parse(lsys_sink_telegram *s, const char *body, size_t len,
                             lsys_tg_msg **out, lsys_delivery_result *r);

/* lsys_sink_telegram_summary makes the summary of count held messages whose
 * first is first: first's text plus LSYS_TG_REPEAT_FORMAT (span_s, count),
 * for first's chat. *out as for parse. Returns LSYS_OK or LSYS_ENOMEM. */
int lsys_sink_telegram_summary(lsys_sink_telegram *s, const lsys_tg_msg *first, unsigned count,
                               unsigned span_s, lsys_tg_msg **out);

/* lsys_sink_telegram_msg_free frees m; NULL is allowed. */
void lsys_sink_telegram_msg_free(lsys_sink_telegram *s, lsys_tg_msg *m);

/* lsys_sink_telegram_collapse_key returns the key of "the same notification"
 * for m (type, chat, notify_key or else notify_msg), or NULL when m must not
 * be collapsed (it resumes a partly sent message). Valid while m lives. */
const char *lsys_sink_telegram_collapse_key(const lsys_tg_msg *m);

/* lsys_sink_telegram_acquire decides whether m's next part may start at
 * now_ms. pass numbers the caller's scheduling passes over its messages in
 * order: once a chat's earliest message cannot start in a pass, later ones of
 * that chat do not either (order). On LSYS_TG_GO the rate slots are taken and
 * the chat is busy until lsys_sink_telegram_response or _cancel for m. On
 * LSYS_TG_LIMITED *wake_ms is when to ask again. */
int lsys_sink_telegram_acquire(lsys_sink_telegram *s, lsys_tg_msg *m, int64_t now_ms,
                               uint64_t pass, int64_t *wake_ms);

/* lsys_sink_telegram_cancel gives back the busy chat of an acquired m that
 * will not be sent (its rate slots stay spent). */
void lsys_sink_telegram_cancel(lsys_sink_telegram *s, lsys_tg_msg *m);

/* lsys_sink_telegram_request gives the URL (secret: never show it) and JSON
 * body of m's next part; they belong to m until its next request or free.
 * Returns LSYS_OK or LSYS_ENOMEM. */
int lsys_sink_telegram_request(lsys_sink_telegram *s, lsys_tg_msg *m, const char **url,
                               const char **body, size_t *len);

/* lsys_sink_telegram_response takes the answer to m's current part at now_ms
 * (the chat is no longer busy) and returns LSYS_TG_NEXT, LSYS_TG_WAIT or
 * LSYS_TG_DONE with r set. r->http_status is the status of this answer in
 * every case, so the caller can count 429s. */
int lsys_sink_telegram_response(lsys_sink_telegram *s, lsys_tg_msg *m,
                                const lsys_http_response *resp, int64_t now_ms,
                                lsys_delivery_result *r);

/* lsys_sink_telegram_parts returns m's number of parts to send and, in
 * *next, the index of the next one (for tests and status). */
size_t lsys_sink_telegram_parts(const lsys_tg_msg *m, size_t *next);

#endif
