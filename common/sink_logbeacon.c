/* sink_logbeacon.c - LogBeacon messages, api_key handling and responses
 * (see sink_logbeacon.h). */
#include "sink_logbeacon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "apikey_store.h"
#include "errors.h"
#include "utf8.h"

#define SINK_NAME "LogBeacon"
#define DETAIL_MAX 120 /* bytes of LogBeacon's own error text kept in a reason */

static const char *const required[] = {
    "domain", "program_name", "level", "def_name", "message", "extra_info", "timestamp", "hash",
};

struct lsys_sink_logbeacon {
  const lsys_config *cfg;
  char shown_url[512]; /* LOGSYS_LOGBEACON_URL with any password masked */
  lsys_apikey_store *keys;
};

struct lsys_lb_msg {
  char *body; /* the message as received, NUL-terminated */
  size_t len;
  char *domain;
  char *program;
  int has_api_key; /* the message carries an api_key of its own */
  char *sent;      /* body of the last request when it differs from body */
};

int lsys_sink_logbeacon_create(lsys_sink_logbeacon **out, const lsys_config *cfg, char *err,
                               size_t errlen) {
  lsys_sink_logbeacon *s = NULL;
  int rc = LSYS_ECONFIG;

  if (cfg == NULL || cfg->logbeacon_url == NULL || cfg->logbeacon_url[0] == '\0') {
    snprintf(err, errlen, "LOGSYS_LOGBEACON_URL is required to deliver to LogBeacon");
    goto fail;
  }
  rc = LSYS_ENOMEM;
  if ((s = calloc(1, sizeof *s)) == NULL) {
    snprintf(err, errlen, "out of memory");
    goto fail;
  }
  s->cfg = cfg;
  lsys_config_mask_url(cfg->logbeacon_url, s->shown_url, sizeof s->shown_url);
  if ((rc = lsys_apikey_store_create(&s->keys, cfg->logbeacon_key_dir, err, errlen)) != LSYS_OK)
    goto fail;
  *out = s;
  return LSYS_OK;

fail:
  lsys_sink_logbeacon_destroy(s);
  return rc;
}

void lsys_sink_logbeacon_destroy(lsys_sink_logbeacon *s) {
  if (s == NULL)
    return;
  lsys_apikey_store_destroy(s->keys);
  free(s);
}

void lsys_sink_logbeacon_msg_free(lsys_lb_msg *m) {
  if (m == NULL)
    return;
  free(m->body);
  free(m->domain);
  free(m->program);
  free(m->sent);
  free(m);
}

/* check_keys writes into r the keys of the message missing from obj (all of
 * them, so one DLQ look tells the whole story); returns 1 when none is. */
static int check_keys(const cJSON *obj, lsys_delivery_result *r) {
  size_t w = 0;
  int missing = 0;

  for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
    if (cJSON_GetObjectItemCaseSensitive(obj, required[i]) != NULL)
      continue;
    int n = snprintf(r->reason + w, sizeof r->reason - w, "%s%s", missing ? ", " : "message lacks ",
                     required[i]);
    if (n > 0 && (size_t)n < sizeof r->reason - w)
      w += (size_t)n;
    missing++;
  }
  return missing == 0;
}

int lsys_sink_logbeacon_parse(lsys_sink_logbeacon *s, const char *body, size_t len,
                              lsys_lb_msg **out, lsys_delivery_result *r) {
  cJSON *obj = cJSON_ParseWithLength(body, len);
  lsys_lb_msg *m = NULL;
  const cJSON *domain, *program;
  int rc = LSYS_EINVAL;

  (void)s;
  r->outcome = LSYS_OUTCOME_PERMANENT;
  r->http_status = 0;
  if (!cJSON_IsObject(obj)) {
    snprintf(r->reason, sizeof r->reason, "message is not a JSON object");
    goto fail;
  }
  if (!check_keys(obj, r))
    goto fail;
  domain = cJSON_GetObjectItemCaseSensitive(obj, "domain");
  program = cJSON_GetObjectItemCaseSensitive(obj, "program_name");
  if (!cJSON_IsString(domain) || !cJSON_IsString(program)) {
    snprintf(r->reason, sizeof r->reason, "message's %s is not a string",
             cJSON_IsString(domain) ? "program_name" : "domain");
    goto fail;
  }
  rc = LSYS_ENOMEM;
  if ((m = calloc(1, sizeof *m)) == NULL || (m->body = malloc(len + 1)) == NULL ||
      (m->domain = strdup(domain->valuestring)) == NULL ||
      (m->program = strdup(program->valuestring)) == NULL) {
    snprintf(r->reason, sizeof r->reason, "out of memory");
    r->outcome = LSYS_OUTCOME_RETRY;
    goto fail;
  }
  memcpy(m->body, body, len);
  m->body[len] = '\0';
  m->len = len;
  m->has_api_key = cJSON_GetObjectItemCaseSensitive(obj, "api_key") != NULL;
  cJSON_Delete(obj);
  r->reason[0] = '\0';
  *out = m;
  return LSYS_OK;

fail:
  cJSON_Delete(obj);
  lsys_sink_logbeacon_msg_free(m);
  return rc;
}

/* splice_key returns a new body: m's body with ,"api_key":"<key>" inserted
 * before its closing brace (a validated key needs no JSON escaping beyond
 * '"' and '\\', which it may still contain). */
static char *splice_key(const lsys_lb_msg *m, const char *key) {
  const char *end = m->body + m->len;
  char *out, *w;

  while (end > m->body && end[-1] != '}')
    end--;
  if (end == m->body)
    return NULL;
  end--; /* at the closing brace */
  if ((out = malloc(m->len + 2 * strlen(key) + 16)) == NULL)
    return NULL;
  memcpy(out, m->body, (size_t)(end - m->body));
  w = out + (end - m->body);
  w += sprintf(w, ",\"api_key\":\"");
  for (const char *k = key; *k; k++) {
    if (*k == '"' || *k == '\\')
      *w++ = '\\';
    *w++ = *k;
  }
  *w++ = '"';
  memcpy(w, end, (size_t)(m->body + m->len - end));
  w += m->body + m->len - end;
  *w = '\0';
  return out;
}

/* replace_key returns a new body: m's body re-encoded with its api_key replaced. */
static char *replace_key(const lsys_lb_msg *m, const char *key) {
  cJSON *obj = cJSON_ParseWithLength(m->body, m->len);
  cJSON *item = cJSON_CreateString(key);
  char *out = NULL;

  if (obj != NULL && item != NULL && cJSON_ReplaceItemInObjectCaseSensitive(obj, "api_key", item)) {
    item = NULL; /* owned by obj now */
    out = cJSON_PrintUnformatted(obj);
  }
  cJSON_Delete(item);
  cJSON_Delete(obj);
  return out;
}

int lsys_sink_logbeacon_request(lsys_sink_logbeacon *s, lsys_lb_msg *m, const char **url,
                                const char **body, size_t *len) {
  const char *key = lsys_apikey_store_get(s->keys, m->domain, m->program);

  free(m->sent);
  m->sent = NULL;
  *url = s->cfg->logbeacon_url;
  if (key == NULL) {
    *body = m->body;
    *len = m->len;
    return LSYS_OK;
  }
  m->sent = m->has_api_key ? replace_key(m, key) : splice_key(m, key);
  if (m->sent == NULL)
    return LSYS_ENOMEM;
  *body = m->sent;
  *len = strlen(m->sent);
  return LSYS_OK;
}

/* add_detail appends ": <text>" to r's reason, text being LogBeacon's own
 * explanation, cut short, control characters blanked, and left out entirely
 * when it would repeat the secret key. */
static void add_detail(lsys_delivery_result *r, const char *text, const char *key) {
  char buf[DETAIL_MAX + 1];
  size_t n, used = strlen(r->reason);

  if (text == NULL || *text == '\0' || (key != NULL && strstr(text, key) != NULL))
    return;
  n = strlen(text);
  if (!lsys_utf8_valid(text, n))
    return;
  n = lsys_utf8_cut_len(text, n, DETAIL_MAX);
  memcpy(buf, text, n);
  buf[n] = '\0';
  for (size_t i = 0; i < n; i++) {
    if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
      buf[i] = ' ';
  }
  snprintf(r->reason + used, sizeof r->reason - used, ": %s", buf);
}

int lsys_sink_logbeacon_response(lsys_sink_logbeacon *s, lsys_lb_msg *m,
                                 const lsys_http_response *resp, lsys_delivery_result *r) {
  char err[200];
  cJSON *obj = NULL;
  const cJSON *item, *key;
  const char *old;
  int rc = LSYS_OK;

  lsys_http_multi_classify(resp, SINK_NAME, s->shown_url, s->cfg->http_timeout_ms, r);
  if (resp->status == 0 || resp->body_len == 0)
    goto done;
  if ((obj = cJSON_ParseWithLength(resp->body, resp->body_len)) == NULL)
    goto done;
  old = lsys_apikey_store_get(s->keys, m->domain, m->program);
  key = cJSON_GetObjectItemCaseSensitive(obj, "api_key");
  if (r->outcome == LSYS_OUTCOME_PERMANENT) {
    const char *names[] = {"error", "message", "detail", "description"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
      item = cJSON_GetObjectItemCaseSensitive(obj, names[i]);
      if (cJSON_IsString(item)) {
        if (!cJSON_IsString(key) || strstr(item->valuestring, key->valuestring) == NULL)
          add_detail(r, item->valuestring, old);
        break;
      }
    }
  }
  if (cJSON_IsString(key) && (old == NULL || strcmp(old, key->valuestring) != 0)) {
    if (lsys_apikey_store_set(s->keys, m->domain, m->program, key->valuestring, err,
                              sizeof err) != LSYS_OK) {
      size_t used = strlen(r->reason);
      snprintf(r->reason + used, sizeof r->reason - used, "; api_key not stored: %s", err);
      rc = LSYS_EIO;
    }
  }

done:
  cJSON_Delete(obj);
  return rc;
}
