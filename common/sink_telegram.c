/* sink_telegram.c - Telegram messages, credentials, parts, rate limits and
 * responses (see sink_telegram.h).
 *
 * Bots and chats are small tables searched linearly: a worker talks to one or
 * two chats, a few more when messages bring their own credentials. Idle
 * entries (no message, nothing in their rate windows) are swept once the
 * tables grow, so a stream of distinct credentials cannot grow them forever. */
#include "sink_telegram.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "errors.h"
#include "rate_limit.h"
#include "tg_ids.h"
#include "tg_text.h"
#include "utf8.h"

#define SINK_NAME "Telegram"
#define SWEEP_AT 64      /* sweep idle chats when the table holds this many */
#define DETAIL_MAX 120   /* bytes of Telegram's description kept in a reason */
#define TEXT_MAX_BYTES ((size_t)LSYS_TG_MAX_PARTS * LSYS_TG_TEXT_MAX * 4 + 64)

typedef struct tg_bot {
  char *token; /* secret */
  char *url;   /* {base}/bot<token>/sendMessage: secret too */
  lsys_rate_limit *rl;
  unsigned refs; /* chats using this bot */
} tg_bot;

typedef struct tg_chat {
  tg_bot *bot;
  char *chat_id;
  uint64_t id; /* hash of bot and chat: names the chat in collapse keys without the token */
  lsys_rate_limit *rl;
  unsigned refs;         /* messages using this chat */
  int busy;              /* a sendMessage is in flight */
  uint64_t blocked_pass; /* pass in which an earlier message could not start */
} tg_chat;

typedef struct progress {
  char *key; /* type \x1f log_id; NULL: free slot */
  uint64_t text_hash;
  size_t next; /* first part not yet delivered */
} progress;

struct lsys_sink_telegram {
  const lsys_config *cfg;
  char shown_url[600]; /* the sendMessage URL with "****" for the token: safe to show */
  tg_bot **bots;
  size_t nbots;
  tg_chat **chats;
  size_t nchats;
  progress prog[LSYS_TG_PROGRESS_MAX];
  size_t prog_next; /* ring position of the next progress record */
  int64_t now_ms;   /* latest time seen by acquire or response (for sweeps) */
};

struct lsys_tg_msg {
  tg_chat *chat;
  const char *type; /* "developer" or "customer" */
  char *text;       /* repaired notify_msg (or summary text) */
  size_t text_len;
  lsys_tg_span *parts; /* non-blank parts of text */
  size_t nparts, next;
  char *collapse_key; /* NULL: never collapsed */
  char *progress_key; /* NULL: no log_id */
  uint64_t text_hash;
  char *req; /* JSON body of the current part */
  int64_t waited_ms; /* 429 waits of the current part */
};

static uint64_t fnv(const char *s, size_t n) {
  uint64_t h = UINT64_C(14695981039346656037);
  for (size_t i = 0; i < n; i++)
    h = (h ^ (unsigned char)s[i]) * UINT64_C(1099511628211);
  return h;
}

int lsys_sink_telegram_create(lsys_sink_telegram **out, const lsys_config *cfg, char *err,
                              size_t errlen) {
  lsys_sink_telegram *s;
  const char *base = cfg && cfg->tg_api_base ? cfg->tg_api_base : "";
  size_t n = strlen(base);

  if (cfg == NULL || n == 0) {
    snprintf(err, errlen, "LOGSYS_TG_API_BASE is required to deliver to Telegram");
    return LSYS_ECONFIG;
  }
  if ((s = calloc(1, sizeof *s)) == NULL) {
    snprintf(err, errlen, "out of memory");
    return LSYS_ENOMEM;
  }
  while (n > 0 && base[n - 1] == '/')
    n--;
  s->cfg = cfg;
  snprintf(s->shown_url, sizeof s->shown_url, "%.*s/bot****/sendMessage", (int)n, base);
  *out = s;
  return LSYS_OK;
}

static void bot_free(tg_bot *b) {
  if (b == NULL)
    return;
  free(b->token);
  free(b->url);
  lsys_rate_limit_destroy(b->rl);
  free(b);
}

static void chat_free(tg_chat *c) {
  if (c == NULL)
    return;
  free(c->chat_id);
  lsys_rate_limit_destroy(c->rl);
  free(c);
}

void lsys_sink_telegram_destroy(lsys_sink_telegram *s) {
  if (s == NULL)
    return;
  for (size_t i = 0; i < s->nchats; i++)
    chat_free(s->chats[i]);
  for (size_t i = 0; i < s->nbots; i++)
    bot_free(s->bots[i]);
  for (size_t i = 0; i < LSYS_TG_PROGRESS_MAX; i++)
    free(s->prog[i].key);
  free(s->chats);
  free(s->bots);
  free(s);
}

/* sweep frees chats no message uses whose rate windows are empty, and bots
 * no chat uses: forgetting them changes no limit. */
static void sweep(lsys_sink_telegram *s, int64_t now_ms) {
  size_t w = 0;
  for (size_t i = 0; i < s->nchats; i++) {
    tg_chat *c = s->chats[i];
    if (c->refs == 0 && !c->busy && lsys_rate_limit_idle(c->rl, now_ms)) {
      c->bot->refs--;
      chat_free(c);
    } else {
      s->chats[w++] = c;
    }
  }
  s->nchats = w;
  w = 0;
  for (size_t i = 0; i < s->nbots; i++) {
    tg_bot *b = s->bots[i];
    if (b->refs == 0 && lsys_rate_limit_idle(b->rl, now_ms))
      bot_free(b);
    else
      s->bots[w++] = b;
  }
  s->nbots = w;
}

/* append adds p to the array *arr of *n pointers (grown by one). */
static int append(void ***arr, size_t *n, void *p) {
  void **grown = realloc(*arr, (*n + 1) * sizeof *grown);
  if (grown == NULL)
    return 0;
  grown[(*n)++] = p;
  *arr = grown;
  return 1;
}

static tg_bot *get_bot(lsys_sink_telegram *s, const char *token) {
  tg_bot *b = NULL;
  char *url = NULL;
  size_t n = strlen(s->shown_url) - strlen("/bot****/sendMessage");

  for (size_t i = 0; i < s->nbots; i++) {
    if (strcmp(s->bots[i]->token, token) == 0)
      return s->bots[i];
  }
  if ((b = calloc(1, sizeof *b)) == NULL || (b->token = strdup(token)) == NULL)
    goto fail;
  if (asprintf(&url, "%.*s/bot%s/sendMessage", (int)n, s->shown_url, token) < 0)
    goto fail;
  b->url = url;
  if (lsys_rate_limit_create(&b->rl, (uint32_t)s->cfg->tg_bot_rate_per_s, 1000) != LSYS_OK ||
      !append((void ***)&s->bots, &s->nbots, b))
    goto fail;
  return b;

fail:
  bot_free(b);
  return NULL;
}

/* get_chat finds or makes the chat (token, chat_id) and takes a reference. */
static tg_chat *get_chat(lsys_sink_telegram *s, const char *token, const char *chat_id) {
  tg_bot *b;
  tg_chat *c;

  for (size_t i = 0; i < s->nchats; i++) {
    c = s->chats[i];
    if (strcmp(c->chat_id, chat_id) == 0 && strcmp(c->bot->token, token) == 0) {
      c->refs++;
      return c;
    }
  }
  if (s->nchats >= SWEEP_AT)
    sweep(s, s->now_ms);
  if ((b = get_bot(s, token)) == NULL)
    return NULL;
  if ((c = calloc(1, sizeof *c)) == NULL || (c->chat_id = strdup(chat_id)) == NULL ||
      lsys_rate_limit_create(&c->rl, (uint32_t)s->cfg->tg_chat_rate_per_min, 60000) != LSYS_OK ||
      !append((void ***)&s->chats, &s->nchats, c)) {
    chat_free(c);
    return NULL;
  }
  c->bot = b;
  c->id = fnv(token, strlen(token)) ^ fnv(chat_id, strlen(chat_id)) * 31;
  c->refs = 1;
  b->refs++;
  return c;
}

void lsys_sink_telegram_msg_free(lsys_sink_telegram *s, lsys_tg_msg *m) {
  (void)s;
  if (m == NULL)
    return;
  if (m->chat != NULL)
    m->chat->refs--;
  free(m->text);
  free(m->parts);
  free(m->collapse_key);
  free(m->progress_key);
  free(m->req);
  free(m);
}

/* set_text gives m its text (taken) and parts: at most LSYS_TG_MAX_PARTS,
 * the last one cut and marked when there would be more; blank parts dropped. */
static int set_text(lsys_tg_msg *m, char *text, size_t len) {
  static const char marker[] = LSYS_TRUNCATION_MARKER;
  size_t n = 0;

  m->text = text;
  m->text_len = len;
  if (lsys_tg_text_split(text, len, LSYS_TG_TEXT_MAX, &m->parts, &n) != LSYS_OK)
    return LSYS_ENOMEM;
  if (n > LSYS_TG_MAX_PARTS) {
    /* Cut the last part kept so the marker fits; earlier parts are unchanged. */
    lsys_tg_span *last = &m->parts[LSYS_TG_MAX_PARTS - 1];
    size_t keep = lsys_tg_text_cut(text + last->off, len - last->off,
                                   LSYS_TG_TEXT_MAX - (sizeof marker - 1));
    size_t cut_len = last->off + keep + sizeof marker - 1;
    char *grown = realloc(m->text, cut_len + 1);
    if (grown == NULL)
      return LSYS_ENOMEM;
    m->text = grown;
    memcpy(m->text + last->off + keep, marker, sizeof marker);
    last->len = keep + sizeof marker - 1;
    m->text_len = cut_len;
    n = LSYS_TG_MAX_PARTS;
  }
  m->nparts = 0;
  for (size_t i = 0; i < n; i++) {
    if (!lsys_tg_text_is_blank(m->text + m->parts[i].off, m->parts[i].len))
      m->parts[m->nparts++] = m->parts[i];
  }
  m->text_hash = fnv(m->text, m->text_len);
  return LSYS_OK;
}

/* chat_id_text writes a tg_chatid (string, or a whole number as old producers
 * may send) into buf; returns 1 when it is a usable chat id. */
static int chat_id_text(const cJSON *item, char *buf, size_t len) {
  if (cJSON_IsString(item))
    snprintf(buf, len, "%s", item->valuestring);
  else if (cJSON_IsNumber(item) && fabs(item->valuedouble) < 9007199254740992.0 &&
           item->valuedouble == floor(item->valuedouble))
    snprintf(buf, len, "%.0f", item->valuedouble);
  else
    return 0;
  return lsys_tg_ids_chat_valid(buf);
}

/* credentials picks the token and chat id for obj of type into *token and
 * chat (a buffer); on failure writes the reason into r. */
static int credentials(const lsys_sink_telegram *s, const cJSON *obj, const char *type,
                       const char **token, char *chat, size_t chat_len, lsys_delivery_result *r) {
  int dev = strcmp(type, "developer") == 0;
  const char *cfg_chat = dev ? s->cfg->tg_dev_chat_id : s->cfg->tg_customer_chat_id;
  const cJSON *mt = cJSON_GetObjectItemCaseSensitive(obj, "tg_token");
  const cJSON *mc = cJSON_GetObjectItemCaseSensitive(obj, "tg_chatid");

  if (s->cfg->tg_accept_message_credentials && cJSON_IsString(mt) && mc != NULL) {
    if (!lsys_tg_ids_token_valid(mt->valuestring)) {
      snprintf(r->reason, sizeof r->reason, "message's tg_token is not a valid bot token");
      return 0;
    }
    if (!chat_id_text(mc, chat, chat_len)) {
      snprintf(r->reason, sizeof r->reason, "message's tg_chatid is not a valid chat id");
      return 0;
    }
    *token = mt->valuestring;
    return 1;
  }
  *token = dev ? s->cfg->tg_dev_token : s->cfg->tg_customer_token;
  if (*token == NULL || **token == '\0') {
    snprintf(r->reason, sizeof r->reason, "no bot token configured for %s notifications", type);
    return 0;
  }
  if (cfg_chat == NULL || *cfg_chat == '\0') {
    snprintf(r->reason, sizeof r->reason, "no chat id configured for %s notifications", type);
    return 0;
  }
  snprintf(chat, chat_len, "%s", cfg_chat);
  return 1;
}

/* find_progress returns the progress record of key, or NULL. */
static progress *find_progress(lsys_sink_telegram *s, const char *key) {
  for (size_t i = 0; i < LSYS_TG_PROGRESS_MAX; i++) {
    if (s->prog[i].key != NULL && strcmp(s->prog[i].key, key) == 0)
      return &s->prog[i];
  }
  return NULL;
}

/* keys sets m's collapse key (type, chat, notify_key or notify_msg) and
 * progress key (type, log_id), and resumes m from a progress record. */
static int keys(lsys_sink_telegram *s, lsys_tg_msg *m, const cJSON *obj) {
  const cJSON *nk = cJSON_GetObjectItemCaseSensitive(obj, "notify_key");
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(obj, "log_id");
  progress *p;
  int n;

  if (cJSON_IsString(id) && id->valuestring[0] != '\0') {
    if (asprintf(&m->progress_key, "%s\x1f%s", m->type, id->valuestring) < 0) {
      m->progress_key = NULL;
      return LSYS_ENOMEM;
    }
    p = find_progress(s, m->progress_key);
    if (p != NULL && p->text_hash == m->text_hash && p->next < m->nparts) {
      m->next = p->next;
      return LSYS_OK; /* resuming: not collapsed */
    }
  }
  if (cJSON_IsString(nk) && nk->valuestring[0] != '\0')
    n = asprintf(&m->collapse_key, "%s\x1f%llu\x1fk:%s", m->type, (unsigned long long)m->chat->id,
                 nk->valuestring);
  else
    n = asprintf(&m->collapse_key, "%s\x1f%llu\x1fm:%s", m->type, (unsigned long long)m->chat->id,
                 m->text);
  if (n < 0) {
    m->collapse_key = NULL;
    return LSYS_ENOMEM;
  }
  return LSYS_OK;
}

/* parse_text checks type and notify_msg of obj and gives m its type and
 * repaired text; on failure writes the reason into r. */
static int parse_text(const cJSON *obj, lsys_tg_msg *m, lsys_delivery_result *r) {
  const cJSON *type = cJSON_GetObjectItemCaseSensitive(obj, "type");
  const cJSON *msg = cJSON_GetObjectItemCaseSensitive(obj, "notify_msg");
  char *text = NULL;
  size_t len = 0;
  unsigned flags = 0;

  if (type == NULL || msg == NULL) {
    snprintf(r->reason, sizeof r->reason, "message lacks %s%s%s", type ? "" : "type",
             !type && !msg ? ", " : "", msg ? "" : "notify_msg");
    return LSYS_EINVAL;
  }
  if (!cJSON_IsString(type) ||
      (strcmp(type->valuestring, "developer") != 0 && strcmp(type->valuestring, "customer") != 0)) {
    snprintf(r->reason, sizeof r->reason, "message's type must be developer or customer");
    return LSYS_EINVAL;
  }
  m->type = strcmp(type->valuestring, "developer") == 0 ? "developer" : "customer";
  if (!cJSON_IsString(msg)) {
    snprintf(r->reason, sizeof r->reason, "message's notify_msg is not a string");
    return LSYS_EINVAL;
  }
  if (lsys_tg_text_is_blank(msg->valuestring, strlen(msg->valuestring))) {
    snprintf(r->reason, sizeof r->reason, "message's notify_msg is empty");
    return LSYS_EINVAL;
  }
  if (lsys_utf8_sanitize(msg->valuestring, strlen(msg->valuestring), TEXT_MAX_BYTES, &text, &len,
                         &flags) != LSYS_OK ||
      set_text(m, text, len) != LSYS_OK) {
    if (m->text == NULL)
      free(text); /* else m owns it (maybe moved by realloc) */
    snprintf(r->reason, sizeof r->reason, "out of memory");
    return LSYS_ENOMEM;
  }
  return LSYS_OK;
}

int lsys_sink_telegram_parse(lsys_sink_telegram *s, const char *body, size_t len,
                             lsys_tg_msg **out, lsys_delivery_result *r) {
  cJSON *obj = cJSON_ParseWithLength(body, len);
  lsys_tg_msg *m = calloc(1, sizeof *m);
  const char *token = NULL;
  char chat[80];
  int rc = LSYS_ENOMEM;

  r->outcome = LSYS_OUTCOME_PERMANENT;
  r->http_status = 0;
  r->reason[0] = '\0';
  if (m == NULL) {
    snprintf(r->reason, sizeof r->reason, "out of memory");
    goto fail;
  }
  rc = LSYS_EINVAL;
  if (!cJSON_IsObject(obj)) {
    snprintf(r->reason, sizeof r->reason, "message is not a JSON object");
    goto fail;
  }
  if ((rc = parse_text(obj, m, r)) != LSYS_OK)
    goto fail;
  rc = LSYS_EINVAL;
  if (!credentials(s, obj, m->type, &token, chat, sizeof chat, r))
    goto fail;
  rc = LSYS_ENOMEM;
  if ((m->chat = get_chat(s, token, chat)) == NULL || keys(s, m, obj) != LSYS_OK) {
    snprintf(r->reason, sizeof r->reason, "out of memory");
    goto fail;
  }
  cJSON_Delete(obj);
  r->reason[0] = '\0';
  *out = m;
  return LSYS_OK;

fail:
  if (rc == LSYS_ENOMEM)
    r->outcome = LSYS_OUTCOME_RETRY;
  cJSON_Delete(obj);
  lsys_sink_telegram_msg_free(s, m);
  return rc;
}

int lsys_sink_telegram_summary(lsys_sink_telegram *s, const lsys_tg_msg *first, unsigned count,
                               unsigned span_s, lsys_tg_msg **out) {
  lsys_tg_msg *m = calloc(1, sizeof *m);
  char note[128];
  char *text = NULL;
  int n = snprintf(note, sizeof note, LSYS_TG_REPEAT_FORMAT, span_s, count);

  if (m == NULL || n < 0 || (size_t)n >= sizeof note)
    goto fail;
  if ((text = malloc(first->text_len + (size_t)n + 1)) == NULL)
    goto fail;
  memcpy(text, first->text, first->text_len);
  memcpy(text + first->text_len, note, (size_t)n + 1);
  m->type = first->type;
  m->chat = first->chat;
  m->chat->refs++;
  if (set_text(m, text, first->text_len + (size_t)n) != LSYS_OK)
    goto fail;
  *out = m;
  return LSYS_OK;

fail:
  if (m == NULL || m->text == NULL)
    free(text); /* else m owns it */
  lsys_sink_telegram_msg_free(s, m);
  return LSYS_ENOMEM;
}

const char *lsys_sink_telegram_collapse_key(const lsys_tg_msg *m) {
  return m->collapse_key;
}

size_t lsys_sink_telegram_parts(const lsys_tg_msg *m, size_t *next) {
  if (next != NULL)
    *next = m->next;
  return m->nparts;
}

int lsys_sink_telegram_acquire(lsys_sink_telegram *s, lsys_tg_msg *m, int64_t now_ms,
                               uint64_t pass, int64_t *wake_ms) {
  tg_chat *c = m->chat;
  int64_t wb, wc;

  s->now_ms = now_ms;
  if (c->busy || c->blocked_pass == pass)
    return LSYS_TG_BUSY;
  wb = lsys_rate_limit_wait(c->bot->rl, now_ms);
  wc = lsys_rate_limit_wait(c->rl, now_ms);
  if (wb > 0 || wc > 0) {
    c->blocked_pass = pass;
    *wake_ms = now_ms + (wb > wc ? wb : wc);
    return LSYS_TG_LIMITED;
  }
  lsys_rate_limit_take(c->bot->rl, now_ms);
  lsys_rate_limit_take(c->rl, now_ms);
  c->busy = 1;
  return LSYS_TG_GO;
}

void lsys_sink_telegram_cancel(lsys_sink_telegram *s, lsys_tg_msg *m) {
  (void)s;
  m->chat->busy = 0;
}

int lsys_sink_telegram_request(lsys_sink_telegram *s, lsys_tg_msg *m, const char **url,
                               const char **body, size_t *len) {
  const lsys_tg_span *part = &m->parts[m->next];
  cJSON *obj = cJSON_CreateObject();
  char *escaped = NULL;
  size_t elen;
  int rc = LSYS_ENOMEM;

  (void)s;
  free(m->req);
  m->req = NULL;
  if (obj == NULL || lsys_tg_text_escape(m->text + part->off, part->len, &escaped, &elen) != LSYS_OK)
    goto done;
  if (cJSON_AddStringToObject(obj, "chat_id", m->chat->chat_id) == NULL ||
      cJSON_AddStringToObject(obj, "text", escaped) == NULL ||
      cJSON_AddStringToObject(obj, "parse_mode", "HTML") == NULL ||
      (m->req = cJSON_PrintUnformatted(obj)) == NULL)
    goto done;
  *url = m->chat->bot->url;
  *body = m->req;
  *len = strlen(m->req);
  rc = LSYS_OK;

done:
  free(escaped);
  cJSON_Delete(obj);
  return rc;
}

/* mask_secret replaces every occurrence of secret in s with "****". */
static void mask_secret(char *s, const char *secret) {
  size_t k = strlen(secret);
  char *p;

  if (k == 0)
    return;
  while ((p = strstr(s, secret)) != NULL) {
    memcpy(p, "****", 4);
    memmove(p + 4, p + k, strlen(p + k) + 1);
  }
}

/* describe appends Telegram's description of an error (cut short, control
 * characters blanked) to r's reason. */
static void describe(lsys_delivery_result *r, const cJSON *obj) {
  const cJSON *d = cJSON_GetObjectItemCaseSensitive(obj, "description");
  char buf[DETAIL_MAX + 1];
  size_t n, used = strlen(r->reason);

  if (!cJSON_IsString(d) || !lsys_utf8_valid(d->valuestring, strlen(d->valuestring)))
    return;
  n = lsys_utf8_cut_len(d->valuestring, strlen(d->valuestring), DETAIL_MAX);
  memcpy(buf, d->valuestring, n);
  buf[n] = '\0';
  for (size_t i = 0; i < n; i++) {
    if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
      buf[i] = ' ';
  }
  if (n > 0)
    snprintf(r->reason + used, sizeof r->reason - used, ": %s", buf);
}

/* retry_after returns the seconds a 429 asks for: parameters.retry_after,
 * else the Retry-After header, else 1. */
static long retry_after(const cJSON *obj, const lsys_http_response *resp) {
  const cJSON *params = cJSON_GetObjectItemCaseSensitive(obj, "parameters");
  const cJSON *ra = cJSON_GetObjectItemCaseSensitive(params, "retry_after");

  if (cJSON_IsNumber(ra) && ra->valuedouble >= 0 && ra->valuedouble < 1e9)
    return (long)ceil(ra->valuedouble);
  if (resp->retry_after_s >= 0)
    return resp->retry_after_s;
  return 1;
}

/* remember_progress records that m's parts before m->next were delivered. */
static void remember_progress(lsys_sink_telegram *s, const lsys_tg_msg *m) {
  progress *p = find_progress(s, m->progress_key);
  char *key;

  if (p == NULL) {
    if ((key = strdup(m->progress_key)) == NULL)
      return; /* best effort */
    p = &s->prog[s->prog_next];
    s->prog_next = (s->prog_next + 1) % LSYS_TG_PROGRESS_MAX;
    free(p->key);
    p->key = key;
  }
  p->text_hash = m->text_hash;
  p->next = m->next;
}

static void forget_progress(lsys_sink_telegram *s, const lsys_tg_msg *m) {
  progress *p = m->progress_key ? find_progress(s, m->progress_key) : NULL;
  if (p != NULL) {
    free(p->key);
    p->key = NULL;
  }
}

int lsys_sink_telegram_response(lsys_sink_telegram *s, lsys_tg_msg *m,
                                const lsys_http_response *resp, int64_t now_ms,
                                lsys_delivery_result *r) {
  cJSON *obj = resp->body_len ? cJSON_ParseWithLength(resp->body, resp->body_len) : NULL;
  char prefix[48] = "";
  int rc = LSYS_TG_DONE;

  s->now_ms = now_ms;
  m->chat->busy = 0;
  lsys_http_multi_classify(resp, SINK_NAME, s->shown_url, s->cfg->http_timeout_ms, r);
  if (m->nparts > 1)
    snprintf(prefix, sizeof prefix, "part %zu/%zu: ", m->next + 1, m->nparts);
  if (resp->status == 429) {
    long ra = retry_after(obj, resp);
    if (ra < 1)
      ra = 1;
    if (ra <= LSYS_TG_MAX_RETRY_AFTER_S &&
        m->waited_ms + ra * 1000 <= LSYS_TG_MAX_RETRY_AFTER_S * 1000L) {
      lsys_rate_limit_block(m->chat->rl, now_ms + ra * 1000);
      m->waited_ms += ra * 1000;
      rc = LSYS_TG_WAIT;
      goto done;
    }
    snprintf(r->reason, sizeof r->reason, "HTTP 429 from Telegram, retry after %ld s", ra);
  } else if (r->outcome == LSYS_OUTCOME_OK) {
    m->next++;
    m->waited_ms = 0;
    if (m->next < m->nparts) {
      rc = LSYS_TG_NEXT;
      goto done;
    }
    forget_progress(s, m);
    if (m->nparts > 1)
      snprintf(prefix, sizeof prefix, "%zu parts: ", m->nparts);
  } else if (r->outcome == LSYS_OUTCOME_PERMANENT) {
    describe(r, obj);
  }
  if (r->outcome == LSYS_OUTCOME_RETRY && m->next > 0 && m->progress_key != NULL)
    remember_progress(s, m);
  if (prefix[0] != '\0') {
    char reason[sizeof r->reason];
    snprintf(reason, sizeof reason, "%.40s%.200s", prefix, r->reason);
    memcpy(r->reason, reason, sizeof reason);
  }
  mask_secret(r->reason, m->chat->bot->token);

done:
  cJSON_Delete(obj);
  return rc;
}
