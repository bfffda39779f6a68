/* queue_json.c - the {domain}_logbeacon and {domain}_tg message bodies
 * (SPEC section 5), built with cJSON so escaping is never done by hand.
 *
 * Key order is the old Python system's (cJSON keeps insertion order); new keys
 * only ever go after the old ones. Integers that may exceed 2^31 are written as
 * raw JSON numbers formatted from int64_t, so they are exact and never printed
 * in exponent form. */
#include "queue_json.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "errors.h"

#define AMQP_QUEUE_NAME_MAX 255

/* str_or_empty keeps a NULL field from turning into a JSON null. */
static const char *str_or_empty(const char *s) {
  return s != NULL ? s : "";
}

void lsys_qjson_timestamp(int64_t unix_ms, char buf[static 20]) {
  /* Floor division, so times before 1970 round towards the earlier second. */
  int64_t secs = unix_ms / 1000 - (unix_ms % 1000 < 0 ? 1 : 0);
  time_t t = (time_t)secs;
  struct tm tm;

  if ((int64_t)t != secs || localtime_r(&t, &tm) == NULL ||
      strftime(buf, 20, "%Y-%m-%d %H:%M:%S", &tm) == 0)
    memcpy(buf, "0000-00-00 00:00:00", 20); /* out of range: keep the shape */
}

int lsys_qjson_queue_name(const char *domain, const char *suffix, char *buf, size_t len) {
  if (domain == NULL || suffix == NULL || buf == NULL || domain[0] == '\0' || suffix[0] == '\0')
    return LSYS_EINVAL;
  size_t dl = strlen(domain), sl = strlen(suffix);
  if (dl > AMQP_QUEUE_NAME_MAX || sl > AMQP_QUEUE_NAME_MAX || dl + 1 + sl > AMQP_QUEUE_NAME_MAX ||
      dl + 1 + sl >= len)
    return LSYS_EINVAL;
  memcpy(buf, domain, dl);
  buf[dl] = '_';
  memcpy(buf + dl + 1, suffix, sl + 1);
  return LSYS_OK;
}

/* add_int64 adds key with the exact decimal value v as a JSON number. */
static int add_int64(cJSON *obj, const char *key, int64_t v) {
  char num[24];
  snprintf(num, sizeof num, "%" PRId64, v);
  return cJSON_AddRawToObject(obj, key, num) != NULL;
}

/* add_strings adds n key/value string pairs (kv[2i], kv[2i+1]) in order. */
static int add_strings(cJSON *obj, const char *const *kv, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (cJSON_AddStringToObject(obj, kv[2 * i], str_or_empty(kv[2 * i + 1])) == NULL)
      return 0;
  return 1;
}

/* print_and_free renders obj into *out and *out_len and frees obj. cJSON allocates
 * with malloc (default hooks), so the caller frees *out with free(). */
static int print_and_free(cJSON *obj, char **out, size_t *out_len) {
  char *text = cJSON_PrintUnformatted(obj);
  cJSON_Delete(obj);
  if (text == NULL)
    return LSYS_ENOMEM;
  *out = text;
  if (out_len != NULL)
    *out_len = strlen(text);
  return LSYS_OK;
}

int lsys_qjson_logbeacon(const lsys_record *r, const char *domain, char **out, size_t *out_len) {
  char ts[20];
  cJSON *obj = NULL;
  int rc = LSYS_EINVAL;

  if (r == NULL || out == NULL)
    goto fail;
  lsys_qjson_timestamp(r->time_unix_ms, ts);
  const char *const kv[] = {
      "domain",     domain,         "program_name", r->program_name, "level",   r->level_name,
      "def_name",   r->def_name,    "message",      r->message,      "extra_info", r->extra_info,
      "timestamp",  ts,             "hash",         r->hash,         "log_id",  r->log_id,
  };
  rc = LSYS_ENOMEM;
  if ((obj = cJSON_CreateObject()) == NULL || !add_strings(obj, kv, sizeof kv / sizeof kv[0] / 2) ||
      !add_int64(obj, "level_no", r->level) || !add_int64(obj, "time_unix_ms", r->time_unix_ms))
    goto fail;
  return print_and_free(obj, out, out_len);

fail:
  cJSON_Delete(obj);
  return rc;
}

/* fnv1a folds len bytes of s into the 64-bit FNV-1a hash h. */
static uint64_t fnv1a(uint64_t h, const char *s) {
  for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
    h ^= *p;
    h *= 0x100000001b3ULL;
  }
  return h * 0x100000001b3ULL; /* a separator between fields */
}

void lsys_qjson_notify_key(const lsys_record *r, char buf[static 17]) {
  uint64_t h = 0xcbf29ce484222325ULL;
  h = fnv1a(h, r->level_name);
  h = fnv1a(h, r->program_name);
  h = fnv1a(h, r->def_name);
  h = fnv1a(h, r->message);
  snprintf(buf, 17, "%016llx", (unsigned long long)h);
}

int lsys_qjson_tg(const lsys_record *r, const char *type, const char *notify_msg, const char *tg_token,
                  const char *tg_chatid, char **out, size_t *out_len) {
  char ts[20];
  cJSON *obj = NULL;
  int rc = LSYS_EINVAL;

  if (r == NULL || type == NULL || out == NULL)
    goto fail;
  lsys_qjson_timestamp(r->time_unix_ms, ts);
  char key[17];
  lsys_qjson_notify_key(r, key);
  const char *const kv[] = {
      "type", type, "notify_msg", notify_msg, "timestamp", ts, "hash", r->hash, "log_id", r->log_id,
      "notify_key", key, "tg_token", tg_token, "tg_chatid", tg_chatid,
  };
  size_t pairs = sizeof kv / sizeof kv[0] / 2;
  if (tg_token == NULL || tg_chatid == NULL)
    pairs -= 2; /* credentials only when both are embedded on purpose */
  rc = LSYS_ENOMEM;
  if ((obj = cJSON_CreateObject()) == NULL || !add_strings(obj, kv, pairs))
    goto fail;
  return print_and_free(obj, out, out_len);

fail:
  cJSON_Delete(obj);
  return rc;
}
