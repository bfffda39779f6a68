/* config.h - settings of every logsys binary, loaded as a table (SPEC section 7).
 *
 * Sources, later wins: built-in defaults, the --config file (KEY=value lines,
 * '#' comments, optional "export " prefix and quotes), LOGSYS_* environment
 * variables. Every secret also reads from <NAME>_FILE (a path; trailing newline
 * stripped). LOGSYS_ROUTE_<level>=sinks overrides a routing row.
 *
 * One table (config_table.c) lists every key of every binary, so one file can be
 * shared as a ConfigMap: a key of another binary is accepted and ignored, a key
 * no binary knows stops start-up with a message naming it. After load the
 * config is immutable and shared read-only. */
#ifndef LSYS_CONFIG_H
#define LSYS_CONFIG_H

#include <stddef.h>
#include <stdio.h>
#include "console.h"
#include "routing.h"

/* Which binary is loading (bit mask; a table row lists the binaries it serves). */
typedef enum lsys_binary {
  LSYS_BIN_SIDECAR = 1u << 0, /* logsysd */
  LSYS_BIN_WORKER = 1u << 1,  /* logsys-worker */
  LSYS_BIN_SEND = 1u << 2,    /* logsys-send */
} lsys_binary;

typedef struct lsys_config {
  lsys_binary binary;
  char *domain;               /* LOGSYS_DOMAIN (required by logsysd and logsys-worker) */
  char *ipc_url;              /* LOGSYS_IPC_URL, default ipc:///tmp/logsys.sock */
  int ipc_mode;               /* LOGSYS_IPC_MODE, octal, default 0660 */
  char *amqp_url;             /* LOGSYS_AMQP_URL (secret: password masked) */
  int amqp_heartbeat_s;       /* LOGSYS_AMQP_HEARTBEAT_S, default 10 */
  int confirm_window;         /* LOGSYS_CONFIRM_WINDOW, unconfirmed publishes in flight, default 4096 */
  long max_field_bytes;       /* LOGSYS_MAX_FIELD_BYTES, default 65536 */
  long max_request_bytes;     /* LOGSYS_MAX_REQUEST_BYTES, default 4 MiB */
  int ingest_contexts;        /* LOGSYS_INGEST_CONTEXTS, concurrent requests, default 16 */
  lsys_console_mode console;  /* LOGSYS_CONSOLE=auto|color|plain|json|off */
  int drain_timeout_ms;       /* LOGSYS_DRAIN_TIMEOUT_MS, default 10000 */
  int tg_embed_credentials;   /* LOGSYS_TG_EMBED_CREDENTIALS=0|1 */
  char *tg_template;          /* LOGSYS_TG_TEMPLATE, default LSYS_TEMPLATE_DEFAULT */
  char *tg_dev_token;         /* LOGSYS_TG_DEV_TOKEN (secret) */
  char *tg_dev_chat_id;       /* LOGSYS_TG_DEV_CHAT_ID */
  char *tg_customer_token;    /* LOGSYS_TG_CUSTOMER_TOKEN (secret) */
  char *tg_customer_chat_id;  /* LOGSYS_TG_CUSTOMER_CHAT_ID */
  int send_timeout_ms;        /* LOGSYS_SEND_TIMEOUT_MS (logsys-send), default 10000 */
  /* Delivery (logsys-worker, and logsysd in embedded/fallback mode). */
  char *logbeacon_url;        /* LOGSYS_LOGBEACON_URL: POST target of {domain}_logbeacon messages */
  char *logbeacon_key_dir;    /* LOGSYS_LOGBEACON_KEY_DIR: api_key-{domain}-{program}-logbeacon.txt files */
  char *tg_api_base;          /* LOGSYS_TG_API_BASE, default https://api.telegram.org */
  int tg_accept_message_credentials; /* LOGSYS_TG_ACCEPT_MESSAGE_CREDENTIALS=0|1 */
  int tg_bot_rate_per_s;      /* LOGSYS_TG_BOT_RATE_PER_S, default 30 */
  int tg_chat_rate_per_min;   /* LOGSYS_TG_CHAT_RATE_PER_MIN, default 20 */
  int tg_collapse_window_s;   /* LOGSYS_TG_COLLAPSE_WINDOW_S, default 10 (0: off) */
  int max_attempts;           /* LOGSYS_MAX_ATTEMPTS, default 5 */
  int retry_base_ms;          /* LOGSYS_RETRY_BASE_MS, first retry delay, default 1000 */
  int retry_max_ms;           /* LOGSYS_RETRY_MAX_MS, longest retry delay, default 300000 */
  int dedup_window_s;         /* LOGSYS_DEDUP_WINDOW_S, default 3600 (0: off) */
  char *dedup_dir;            /* LOGSYS_DEDUP_DIR: journal of delivered log_ids (survives restarts) */
  int prefetch;               /* LOGSYS_PREFETCH, unacked messages per worker, default 200 */
  int concurrency;            /* LOGSYS_CONCURRENCY, HTTP deliveries in flight, default 32 */
  int http_timeout_ms;        /* LOGSYS_HTTP_TIMEOUT_MS, per request, default 10000 */
  int status_interval_s;      /* LOGSYS_STATUS_INTERVAL_S, worker status line, default 60 (0: off) */
  /* Durability (logsysd). */
  char *spool_dir;            /* LOGSYS_SPOOL_DIR: unset = no spool (records stay with the client) */
  long spool_max_bytes;       /* LOGSYS_SPOOL_MAX_BYTES, default 1 GiB */
  char *fallback;             /* LOGSYS_FALLBACK=none|direct, default none */
  /* Operations (logsysd, logsys-worker). */
  char *admin_addr;           /* LOGSYS_ADMIN_ADDR host:port of /healthz /readyz /metrics; unset = off */
  lsys_route_table routes;    /* defaults + LOGSYS_ROUTE_<level> */
} lsys_config;

/* lsys_config_load fills cfg (zeroed by the caller or not: it is overwritten)
 * for binary from the file at path (NULL: no file) and from environ.
 * On failure returns LSYS_ECONFIG (or LSYS_ENOMEM) and writes into err a
 * message naming the key and, for a file, the line number; the message never
 * contains a secret value. cfg owns its strings: free with lsys_config_free,
 * also after a failure. */
int lsys_config_load(lsys_config *cfg, lsys_binary binary, const char *path, char *const *environ_,
                     char *err, size_t errlen);

/* lsys_config_require checks what binary needs to start (LOGSYS_DOMAIN for
 * logsysd and logsys-worker, a domain usable in a queue name). */
int lsys_config_require(const lsys_config *cfg, char *err, size_t errlen);

/* lsys_config_print writes the resolved settings of cfg->binary as KEY=value
 * lines with secrets masked ("****"; an AMQP URL keeps its user and host, not
 * its password). Used by --check-config. */
void lsys_config_print(const lsys_config *cfg, FILE *fp);

/* lsys_config_help writes the settings table of binary (name, default, help). */
void lsys_config_help(lsys_binary binary, FILE *fp);

/* lsys_config_mask_url writes url into buf with any password replaced by
 * "****"; safe to log. */
void lsys_config_mask_url(const char *url, char *buf, size_t len);

/* lsys_config_free frees what cfg owns; cfg itself is not freed. */
void lsys_config_free(lsys_config *cfg);

#endif
