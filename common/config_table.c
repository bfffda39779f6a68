/* config_table.c - the settings table and the per-type parsing and printing.
 *
 * Every key of every binary is a row here; config.c walks the rows and never
 * names a key itself (except the LOGSYS_ROUTE_<level> pattern). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config_table.h"
#include "errors.h"
#include "tg_ids.h"

#define SD LSYS_BIN_SIDECAR
#define WK LSYS_BIN_WORKER
#define SN LSYS_BIN_SEND
#define ALL (SD | WK | SN)

/* OFF is offsetof(lsys_config, field), and a compile error when field is not
 * of type T (a _Generic selection with no matching association). */
#define OFF(field, T) _Generic(((lsys_config *)0)->field, T: offsetof(lsys_config, field))

#define STR(n, fl, d, field, bins, val, h)                                                         \
  {.name = n, .type = LSYS_CFG_STRING, .flags = fl, .def = d, .offset = OFF(field, char *),     \
   .binaries = bins, .validate = val, .help = h}
#define INT(n, d, field, bins, lo, hi, h)                                                          \
  {.name = n, .type = LSYS_CFG_INT, .def = d, .offset = OFF(field, int), .binaries = bins,      \
   .min = lo, .max = hi, .help = h}
#define LONG(n, d, field, bins, lo, hi, h)                                                         \
  {.name = n, .type = LSYS_CFG_LONG, .def = d, .offset = OFF(field, long), .binaries = bins,    \
   .min = lo, .max = hi, .help = h}
#define MODE(n, d, field, bins, h)                                                                 \
  {.name = n, .type = LSYS_CFG_MODE, .def = d, .offset = OFF(field, int), .binaries = bins,     \
   .min = 0, .max = 0777, .help = h}
#define BOOL(n, d, field, bins, h)                                                                 \
  {.name = n, .type = LSYS_CFG_BOOL, .def = d, .offset = OFF(field, int), .binaries = bins,     \
   .min = 0, .max = 1, .help = h}
#define ENUM(n, d, field, bins, ch, h)                                                             \
  {.name = n, .type = LSYS_CFG_ENUM, .def = d, .offset = OFF(field, lsys_console_mode),         \
   .binaries = bins, .choices = ch, .help = h}

/* In lsys_console_mode order: the index is the value. */
static const char *const console_modes[] = {"auto", "color", "plain", "json", "off", NULL};

static int valid_url(const char *value, const char **why);
static int valid_amqp_url(const char *value, const char **why);
static int valid_token(const char *value, const char **why);
static int valid_chat_id(const char *value, const char **why);
static int valid_http_url(const char *value, const char **why);
static int valid_fallback(const char *value, const char **why);
static int valid_host_port(const char *value, const char **why);

/* Unsized here: a row count other than LSYS_CONFIG_KEY_COUNT conflicts with the
 * header's declaration and fails the build. */
const lsys_cfg_key lsys_config_table[] = {
  STR("LOGSYS_DOMAIN", 0, NULL, domain, SD | WK, lsys_config_table_valid_domain,
      "Domain of this application; prefixes the queue names ({domain}_logbeacon, {domain}_tg). "
      "Required by logsysd and logsys-worker."),
  STR("LOGSYS_IPC_URL", 0, "ipc:///tmp/logsys.sock", ipc_url, ALL, valid_url,
      "nng URL the sidecar listens on and clients dial."),
  MODE("LOGSYS_IPC_MODE", "0660", ipc_mode, SD, "File mode of the IPC socket."),
  STR("LOGSYS_AMQP_URL", LSYS_CFG_SECRET | LSYS_CFG_URL, NULL, amqp_url, SD | WK, valid_amqp_url,
      "RabbitMQ URL, e.g. amqp://user:password@host:5672/%2f. Unset: logsysd delivers itself "
      "(embedded mode)."),
  INT("LOGSYS_AMQP_HEARTBEAT_S", "10", amqp_heartbeat_s, SD | WK, 0, 600,
      "AMQP heartbeat in seconds (0: off)."),
  INT("LOGSYS_CONFIRM_WINDOW", "4096", confirm_window, SD, 1, 65535,
      "Publishes awaiting a RabbitMQ confirm at a time."),
  LONG("LOGSYS_MAX_FIELD_BYTES", "65536", max_field_bytes, SD, 64, 1048576,
       "A longer message/extra_info field is cut at a UTF-8 boundary and marked."),
  LONG("LOGSYS_MAX_REQUEST_BYTES", "4194304", max_request_bytes, SD, 65536, 67108864,
       "A larger request from a client is refused whole."),
  INT("LOGSYS_INGEST_CONTEXTS", "16", ingest_contexts, SD, 1, 256,
      "Client requests handled concurrently."),
  ENUM("LOGSYS_CONSOLE", "auto", console, SD, console_modes,
       "Console output: auto (color on a terminal, plain otherwise), color, plain, json or off."),
  INT("LOGSYS_DRAIN_TIMEOUT_MS", "10000", drain_timeout_ms, SD | WK, 0, 600000,
      "On SIGTERM, how long to wait for confirms (logsysd) or in-flight deliveries (worker)."),
  BOOL("LOGSYS_TG_EMBED_CREDENTIALS", "0", tg_embed_credentials, SD,
       "Put tg_token and tg_chatid into {domain}_tg messages, for old consumers."),
  STR("LOGSYS_TG_TEMPLATE", 0, NULL, tg_template, SD | WK, NULL,
      "Telegram notify_msg template ({time} {domain} {program} {level} {def_name} {message} "
      "{extra_info} {hash} {log_id}; \\n is a newline). Unset: the built-in template."),
  STR("LOGSYS_TG_DEV_TOKEN", LSYS_CFG_SECRET, NULL, tg_dev_token, SD | WK, valid_token,
      "Bot token for developer notifications."),
  STR("LOGSYS_TG_DEV_CHAT_ID", 0, NULL, tg_dev_chat_id, SD | WK, valid_chat_id,
      "Chat for developer notifications (-1001234567890 or @channel)."),
  STR("LOGSYS_TG_CUSTOMER_TOKEN", LSYS_CFG_SECRET, NULL, tg_customer_token, SD | WK, valid_token,
      "Bot token for customer notifications."),
  STR("LOGSYS_TG_CUSTOMER_CHAT_ID", 0, NULL, tg_customer_chat_id, SD | WK, valid_chat_id,
      "Chat for customer notifications (-1001234567890 or @channel)."),
  INT("LOGSYS_SEND_TIMEOUT_MS", "10000", send_timeout_ms, SN, 1, 3600000,
      "How long logsys-send waits for the sidecar's acknowledgement."),
  STR("LOGSYS_LOGBEACON_URL", 0, NULL, logbeacon_url, SD | WK, valid_http_url,
      "LogBeacon ingest URL; each {domain}_logbeacon message is POSTed there as JSON."),
  STR("LOGSYS_LOGBEACON_KEY_DIR", 0, NULL, logbeacon_key_dir, SD | WK, NULL,
      "Directory of LogBeacon API keys (api_key-{domain}-{program}-logbeacon.txt). Unset: memory only."),
  STR("LOGSYS_TG_API_BASE", 0, "https://api.telegram.org", tg_api_base, SD | WK, valid_http_url,
      "Telegram Bot API base URL."),
  BOOL("LOGSYS_TG_ACCEPT_MESSAGE_CREDENTIALS", "0", tg_accept_message_credentials, SD | WK,
       "Use tg_token/tg_chatid found in a queue message (old producers)."),
  INT("LOGSYS_TG_BOT_RATE_PER_S", "30", tg_bot_rate_per_s, SD | WK, 1, 1000,
      "Telegram messages per second per bot."),
  INT("LOGSYS_TG_CHAT_RATE_PER_MIN", "20", tg_chat_rate_per_min, SD | WK, 1, 100000,
      "Telegram messages per minute per chat."),
  INT("LOGSYS_TG_COLLAPSE_WINDOW_S", "10", tg_collapse_window_s, SD | WK, 0, 3600,
      "Identical notifications within this window are sent once with a repeat count (0: off)."),
  INT("LOGSYS_MAX_ATTEMPTS", "5", max_attempts, SD | WK, 1, 100,
      "Delivery attempts before a message goes to {queue}.dlq."),
  INT("LOGSYS_RETRY_BASE_MS", "1000", retry_base_ms, SD | WK, 10, 3600000,
      "First retry delay; doubled per attempt, with jitter."),
  INT("LOGSYS_RETRY_MAX_MS", "300000", retry_max_ms, SD | WK, 10, 86400000,
      "Longest retry delay."),
  INT("LOGSYS_DEDUP_WINDOW_S", "3600", dedup_window_s, SD | WK, 0, 604800,
      "A log_id delivered within this window is not delivered again (0: off)."),
  STR("LOGSYS_DEDUP_DIR", 0, NULL, dedup_dir, SD | WK, NULL,
      "Directory for the journal of delivered log_ids, so a restarted worker still knows them."),
  INT("LOGSYS_PREFETCH", "200", prefetch, WK, 1, 65535,
      "Unacknowledged messages a worker holds at a time."),
  INT("LOGSYS_CONCURRENCY", "32", concurrency, SD | WK, 1, 1024,
      "HTTP deliveries in flight at a time."),
  INT("LOGSYS_HTTP_TIMEOUT_MS", "10000", http_timeout_ms, SD | WK, 100, 600000,
      "Timeout of one HTTP delivery."),
  INT("LOGSYS_STATUS_INTERVAL_S", "60", status_interval_s, SD | WK, 0, 86400,
      "Seconds between status lines on stderr (0: off)."),
  STR("LOGSYS_SPOOL_DIR", 0, NULL, spool_dir, SD, NULL,
      "Directory of the on-disk spool used while RabbitMQ is unreachable. Unset: no spool."),
  LONG("LOGSYS_SPOOL_MAX_BYTES", "1073741824", spool_max_bytes, SD, 1048576, 1099511627776L,
       "Largest size of the spool; when full, clients are told to keep their records."),
  STR("LOGSYS_FALLBACK", 0, "none", fallback, SD, valid_fallback,
      "While RabbitMQ is down: none (spool) or direct (deliver straight to the sinks)."),
  STR("LOGSYS_ADMIN_ADDR", 0, NULL, admin_addr, SD | WK, valid_host_port,
      "host:port serving /healthz, /readyz and /metrics. Unset: off."),
};

const lsys_cfg_key *lsys_config_table_find(const char *name) {
  for (size_t i = 0; i < LSYS_CONFIG_KEY_COUNT; i++)
    if (strcmp(lsys_config_table[i].name, name) == 0)
      return &lsys_config_table[i];
  return NULL;
}

/* has_ctl tells whether s holds a control character, or (unless
 * allow_space) a space: a common copy-paste accident in URLs. */
static int has_ctl(const char *s, int allow_space) {
  for (; *s; s++)
    if ((unsigned char)*s < ' ' || *s == 0x7f || (*s == ' ' && !allow_space))
      return 1;
  return 0;
}

/* valid_url accepts scheme://rest (nng: ipc://, tcp://, ...; an IPC path may
 * hold spaces). */
static int valid_url(const char *value, const char **why) {
  const char *p = value;
  while (isalnum((unsigned char)*p) || *p == '+' || *p == '.' || *p == '-')
    p++;
  if (p == value || strncmp(p, "://", 3) != 0 || p[3] == '\0' || has_ctl(value, 1)) {
    *why = "expected a URL such as ipc:///tmp/logsys.sock";
    return LSYS_EINVAL;
  }
  return 0;
}

/* valid_amqp_url accepts amqp:// and amqps:// URLs without blanks. */
static int valid_amqp_url(const char *value, const char **why) {
  if ((strncasecmp(value, "amqp://", 7) != 0 && strncasecmp(value, "amqps://", 8) != 0) ||
      has_ctl(value, 0)) {
    *why = "expected amqp://user:password@host:5672/vhost or amqps://...";
    return LSYS_EINVAL;
  }
  return 0;
}

/* valid_token: the Telegram token rule (tg_ids.c). */
static int valid_token(const char *value, const char **why) {
  if (!lsys_tg_ids_token_valid(value)) {
    *why = "expected a Telegram bot token such as 123456:ABC-DEF (letters, digits, ':', '_', '-')";
    return LSYS_EINVAL;
  }
  return 0;
}

/* valid_chat_id: the Telegram chat id rule (tg_ids.c). */
static int valid_chat_id(const char *value, const char **why) {
  if (!lsys_tg_ids_chat_valid(value)) {
    *why = "expected a chat id such as -1001234567890 or @channelname";
    return LSYS_EINVAL;
  }
  return 0;
}

/* valid_http_url accepts http:// and https:// URLs without blanks. */
static int valid_http_url(const char *value, const char **why) {
  if ((strncasecmp(value, "http://", 7) != 0 && strncasecmp(value, "https://", 8) != 0) ||
      has_ctl(value, 0)) {
    *why = "expected an http:// or https:// URL";
    return LSYS_EINVAL;
  }
  return 0;
}

/* valid_fallback accepts none or direct. */
static int valid_fallback(const char *value, const char **why) {
  if (strcmp(value, "none") != 0 && strcmp(value, "direct") != 0) {
    *why = "expected none or direct";
    return LSYS_EINVAL;
  }
  return 0;
}

/* valid_host_port accepts host:port with a port 1..65535 (host may be empty or [v6]). */
static int valid_host_port(const char *value, const char **why) {
  const char *colon = strrchr(value, ':');
  char *end = NULL;
  long port = colon ? strtol(colon + 1, &end, 10) : 0;
  if (!colon || colon[1] == '\0' || *end != '\0' || port < 1 || port > 65535 || has_ctl(value, 0)) {
    *why = "expected host:port such as 127.0.0.1:9560";
    return LSYS_EINVAL;
  }
  return 0;
}

int lsys_config_table_valid_domain(const char *value, const char **why) {
  size_t n = strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");
  if (n == 0 || value[n] != '\0') {
    *why = "use only letters, digits, '.', '_' and '-' (it prefixes queue names)";
    return LSYS_EINVAL;
  }
  if (n > 200) {
    *why = "at most 200 bytes (it prefixes queue names)";
    return LSYS_EINVAL;
  }
  if (strncmp(value, "amq.", 4) == 0) {
    *why = "must not start with \"amq.\" (RabbitMQ reserves those queue names)";
    return LSYS_EINVAL;
  }
  return 0;
}

/* parse_number parses all of value in base (an optional sign for base 10,
 * octal digits only for base 8) into *out. */
static int parse_number(const char *value, int base, long *out) {
  const char *p = value;
  char *end = NULL;
  if (base == 10 && (*p == '-' || *p == '+'))
    p++;
  if (!isdigit((unsigned char)*p))
    return LSYS_EINVAL;
  errno = 0;
  *out = strtol(value, &end, base);
  if (errno != 0 || *end != '\0')
    return LSYS_EINVAL;
  return 0;
}

/* set_string replaces the string at field (wiping a secret before freeing). */
static int set_string(const lsys_cfg_key *k, char **field, const char *value, char *why,
                      size_t whylen) {
  const char *reason = NULL;
  char *copy = NULL;
  if (*value == '\0' && k->def == NULL)
    value = NULL; /* an empty value unsets an optional string */
  if (value && k->validate && k->validate(value, &reason) != 0) {
    snprintf(why, whylen, "%s", reason);
    return LSYS_EINVAL;
  }
  if (value && (copy = strdup(value)) == NULL)
    return LSYS_ENOMEM;
  if (*field && (k->flags & LSYS_CFG_SECRET))
    explicit_bzero(*field, strlen(*field));
  free(*field);
  *field = copy;
  return 0;
}

/* choices_text writes "a|b|c" for an enum row. */
static void choices_text(const lsys_cfg_key *k, char *buf, size_t len) {
  size_t n = 0;
  if (len)
    buf[0] = '\0';
  for (size_t i = 0; k->choices[i] && n < len; i++)
    n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? "|" : "", k->choices[i]);
}

int lsys_config_table_set(const lsys_cfg_key *k, lsys_config *cfg, const char *value, char *why,
                          size_t whylen) {
  char *field = (char *)cfg + k->offset;
  char text[128];
  long v = 0;
  switch (k->type) {
  case LSYS_CFG_STRING:
    return set_string(k, (char **)(void *)field, value, why, whylen);
  case LSYS_CFG_INT:
  case LSYS_CFG_LONG:
    if (parse_number(value, 10, &v) != 0 || v < k->min || v > k->max) {
      snprintf(why, whylen, "expected an integer %ld..%ld", k->min, k->max);
      return LSYS_EINVAL;
    }
    if (k->type == LSYS_CFG_INT)
      *(int *)(void *)field = (int)v;
    else
      *(long *)(void *)field = v;
    return 0;
  case LSYS_CFG_MODE:
    if (strlen(value) > 4 || parse_number(value, 8, &v) != 0 || v < k->min || v > k->max) {
      snprintf(why, whylen, "expected an octal file mode 0000..0777");
      return LSYS_EINVAL;
    }
    *(int *)(void *)field = (int)v;
    return 0;
  case LSYS_CFG_BOOL:
    if (!strcmp(value, "1") || !strcasecmp(value, "true") || !strcasecmp(value, "yes")) {
      *(int *)(void *)field = 1;
    } else if (!strcmp(value, "0") || !strcasecmp(value, "false") || !strcasecmp(value, "no")) {
      *(int *)(void *)field = 0;
    } else {
      snprintf(why, whylen, "expected 0, 1, true, false, yes or no");
      return LSYS_EINVAL;
    }
    return 0;
  case LSYS_CFG_ENUM:
    for (size_t i = 0; k->choices[i]; i++) {
      if (strcasecmp(value, k->choices[i]) == 0) {
        *(lsys_console_mode *)(void *)field = (lsys_console_mode)i;
        return 0;
      }
    }
    choices_text(k, text, sizeof text);
    snprintf(why, whylen, "expected one of %s", text);
    return LSYS_EINVAL;
  }
  snprintf(why, whylen, "unsupported setting type");
  return LSYS_EINVAL;
}

const char *lsys_config_table_format(const lsys_cfg_key *k, const lsys_config *cfg, char *buf,
                                     size_t len) {
  const char *field = (const char *)cfg + k->offset;
  const char *s;
  int i;
  if (len == 0)
    return "";
  buf[0] = '\0';
  switch (k->type) {
  case LSYS_CFG_STRING:
    s = *(char *const *)(const void *)field;
    if (s == NULL)
      return "";
    if (k->flags & LSYS_CFG_URL) {
      lsys_config_mask_url(s, buf, len);
      return buf;
    }
    return (k->flags & LSYS_CFG_SECRET) ? "****" : s;
  case LSYS_CFG_INT:
  case LSYS_CFG_BOOL:
    snprintf(buf, len, "%d", *(const int *)(const void *)field);
    return buf;
  case LSYS_CFG_LONG:
    snprintf(buf, len, "%ld", *(const long *)(const void *)field);
    return buf;
  case LSYS_CFG_MODE:
    snprintf(buf, len, "%04o", (unsigned)*(const int *)(const void *)field);
    return buf;
  case LSYS_CFG_ENUM:
    i = (int)*(const lsys_console_mode *)(const void *)field;
    for (int c = 0; k->choices[c]; c++)
      if (c == i)
        return k->choices[c];
    snprintf(buf, len, "%d", i);
    return buf;
  }
  return "";
}

void lsys_config_table_describe(const lsys_cfg_key *k, char *buf, size_t len) {
  switch (k->type) {
  case LSYS_CFG_STRING:
    if (k->flags & LSYS_CFG_SECRET)
      snprintf(buf, len, "secret; or %s_FILE=path", k->name);
    else
      snprintf(buf, len, "text");
    return;
  case LSYS_CFG_INT:
  case LSYS_CFG_LONG:
    snprintf(buf, len, "integer %ld..%ld", k->min, k->max);
    return;
  case LSYS_CFG_MODE:
    snprintf(buf, len, "octal mode 0000..0777");
    return;
  case LSYS_CFG_BOOL:
    snprintf(buf, len, "0|1");
    return;
  case LSYS_CFG_ENUM:
    choices_text(k, buf, len);
    return;
  }
  snprintf(buf, len, "?");
}
