/* logsys_send.c - logsys-send: send one record, or a JSON-lines file, to logsysd.
 *
 *   logsys-send [--ipc URL] [--program NAME] [--timeout MS] --level N --def-name NAME
 *               --message TEXT [--extra TEXT] [--hash H]
 *   logsys-send [--ipc URL] [--program NAME] [--timeout MS] --jsonl FILE|-
 *
 * Exit 0: every record acknowledged. 1: some record rejected or not acknowledged
 * in time (which and why on stderr). 2: usage error or invalid input; all input
 * is validated before anything is sent, so invalid input publishes nothing.
 *
 * It uses liblogsys's internal client.h to learn each record's log_id and to hear
 * about every outcome, so it can name the line of each failure. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "client.h"
#include "logsys.h"

#define PROG "logsys-send"
#define DEFAULT_URL "ipc:///tmp/logsys.sock"
#define DEFAULT_TIMEOUT_MS 10000
#define MAX_BUFFER 65536      /* records queued at once; more wait for room */
#define MAX_LISTED 20         /* unacknowledged records named one by one */
#define VALID_LEVELS "0 (Debug), 1 (Info), 9 (Error), 11 (Info_CTG), 91 (Error_CTG), 99 (Monitor)"

enum { EXIT_SENT = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };
enum { ST_UNSENT, ST_QUEUED, ST_ACKED, ST_REJECTED };

/* item is one record to send and, at the end, what became of it. */
struct item {
  long line; /* 0 for the single record of the flag form */
  int level;
  char *def_name, *message, *extra, *hash;
  char log_id[LSYS_ID_LEN + 1];
  int state;
  unsigned flags;
  char *reason;
};

/* event is one on_result call, stored by the sender thread, matched later. */
struct event {
  char log_id[LSYS_ID_LEN + 1];
  int result;
  unsigned flags;
  char *reason;
};

struct events {
  pthread_mutex_t mu;
  struct event *v;
  size_t n, cap;
  int oom;
};

struct args {
  const char *url, *program, *jsonl;
  int timeout_ms;
  int have_level;
  int level;
  const char *def_name, *message, *extra, *hash;
};

/* usage prints the help text (every flag) to to. */
static void usage(FILE *to) {
  fprintf(to,
          "Usage: " PROG " [--ipc URL] [--program NAME] [--timeout MS] --level N --def-name NAME\n"
          "                   --message TEXT [--extra TEXT] [--hash H]\n"
          "       " PROG " [--ipc URL] [--program NAME] [--timeout MS] --jsonl FILE|-\n"
          "\n"
          "Sends log records to the logsysd sidecar and waits until it acknowledges them.\n"
          "\n"
          "  --ipc URL        sidecar socket (default: $LOGSYS_IPC_URL, else " DEFAULT_URL ")\n"
          "  --program NAME   program name of the records (default: " PROG ")\n"
          "  --timeout MS     wait at most MS milliseconds for acknowledgement\n"
          "                   (default: $LOGSYS_SEND_TIMEOUT_MS, else %d)\n"
          "  --level N        " VALID_LEVELS "\n"
          "  --def-name NAME  function or call site\n"
          "  --message TEXT   the message\n"
          "  --extra TEXT     extra information (default: empty)\n"
          "  --hash H         correlation key shared by related records (default: a unique one)\n"
          "  --jsonl FILE|-   send one record per line of FILE (- for standard input), e.g.\n"
          "                   {\"level\":9,\"def_name\":\"f\",\"message\":\"m\",\"extra_info\":\"x\"}\n"
          "                   (\"extra_info\" and \"hash\" optional); every line is checked first\n"
          "  --help           show this help and exit\n"
          "  --version        show the version and exit\n"
          "\n"
          "Exit status: 0 all acknowledged; 1 a record was rejected or not acknowledged in time;\n"
          "2 usage error or invalid input (nothing is sent).\n",
          DEFAULT_TIMEOUT_MS);
}

/* usage_error prints the message and a hint, and exits 2. */
__attribute__((format(printf, 1, 2), noreturn)) static void usage_error(const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, PROG ": ");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nTry '" PROG " --help'.\n");
  exit(EXIT_USAGE);
}

/* parse_int reads a whole decimal int in [min, INT_MAX]; returns 0 on success. */
static int parse_int(const char *s, long min, int *out) {
  char *end;
  long v;
  errno = 0;
  v = strtol(s, &end, 10);
  if (s[0] == '\0' || *end != '\0' || errno != 0 || v < min || v > INT_MAX)
    return -1;
  *out = (int)v;
  return 0;
}

/* parse_args fills *a from the environment and the command line; any usage
 * error exits 2 here. */
static void parse_args(int argc, char **argv, struct args *a) {
  enum { O_IPC = 256, O_PROGRAM, O_TIMEOUT, O_LEVEL, O_DEF, O_MSG, O_EXTRA, O_HASH, O_JSONL,
         O_HELP, O_VERSION };
  static const struct option longopts[] = {
      {"ipc", required_argument, NULL, O_IPC},      {"program", required_argument, NULL, O_PROGRAM},
      {"timeout", required_argument, NULL, O_TIMEOUT}, {"level", required_argument, NULL, O_LEVEL},
      {"def-name", required_argument, NULL, O_DEF}, {"message", required_argument, NULL, O_MSG},
      {"extra", required_argument, NULL, O_EXTRA},  {"hash", required_argument, NULL, O_HASH},
      {"jsonl", required_argument, NULL, O_JSONL},  {"help", no_argument, NULL, O_HELP},
      {"version", no_argument, NULL, O_VERSION},    {NULL, 0, NULL, 0}};
  const char *env;
  int c;

  memset(a, 0, sizeof *a);
  env = getenv("LOGSYS_IPC_URL");
  a->url = env != NULL && env[0] != '\0' ? env : DEFAULT_URL;
  a->program = PROG;
  a->timeout_ms = DEFAULT_TIMEOUT_MS;
  env = getenv("LOGSYS_SEND_TIMEOUT_MS");
  if (env != NULL && env[0] != '\0' && parse_int(env, 0, &a->timeout_ms) != 0)
    usage_error("LOGSYS_SEND_TIMEOUT_MS: not a number of milliseconds: '%s'", env);
  opterr = 0;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (c) {
    case O_IPC: a->url = optarg; break;
    case O_PROGRAM: a->program = optarg; break;
    case O_TIMEOUT:
      if (parse_int(optarg, 0, &a->timeout_ms) != 0)
        usage_error("--timeout: not a number of milliseconds: '%s'", optarg);
      break;
    case O_LEVEL:
      if (parse_int(optarg, INT_MIN, &a->level) != 0 || !logsys_level_valid(a->level))
        usage_error("invalid level '%s': valid levels are " VALID_LEVELS, optarg);
      a->have_level = 1;
      break;
    case O_DEF: a->def_name = optarg; break;
    case O_MSG: a->message = optarg; break;
    case O_EXTRA: a->extra = optarg; break;
    case O_HASH: a->hash = optarg; break;
    case O_JSONL: a->jsonl = optarg; break;
    case O_HELP: usage(stdout); exit(EXIT_SENT);
    case O_VERSION: printf(PROG " " LOGSYS_VERSION "\n"); exit(EXIT_SENT);
    default:
      usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc)
    usage_error("unexpected argument '%s'", argv[optind]);
  if (a->jsonl != NULL) {
    if (a->have_level || a->def_name || a->message || a->extra || a->hash)
      usage_error("%s", "--jsonl cannot be combined with --level, --def-name, --message, "
                        "--extra or --hash");
    return;
  }
  if (!a->have_level)
    usage_error("%s", "missing --level (or --jsonl)");
  if (a->def_name == NULL)
    usage_error("%s", "missing --def-name");
  if (a->message == NULL)
    usage_error("%s", "missing --message");
}

/* ---- input ---- */

/* string_field copies key's string value into *out (NULL when absent or null
 * and optional). Returns NULL, or what is wrong with the field in msg. */
static const char *string_field(const cJSON *obj, const char *key, int required, char **out,
                                char *msg, size_t msglen) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  *out = NULL;
  if (v == NULL || cJSON_IsNull(v)) {
    if (!required)
      return NULL;
    snprintf(msg, msglen, "missing \"%s\"", key);
    return msg;
  }
  if (!cJSON_IsString(v)) {
    snprintf(msg, msglen, "\"%s\" must be a string", key);
    return msg;
  }
  if ((*out = strdup(v->valuestring)) == NULL) {
    fprintf(stderr, PROG ": out of memory\n");
    exit(EXIT_FAILED);
  }
  return NULL;
}

/* check_level returns NULL when lv is one of the six levels, else what is wrong. */
static const char *check_level(const cJSON *lv, char *msg, size_t msglen) {
  if (lv == NULL)
    return "missing \"level\"";
  if (!cJSON_IsNumber(lv) || lv->valuedouble != (double)(int)lv->valuedouble ||
      lv->valuedouble < INT_MIN || lv->valuedouble > INT_MAX)
    return "\"level\" must be an integer";
  if (!logsys_level_valid((int)lv->valuedouble)) {
    snprintf(msg, msglen, "invalid level %d: valid levels are " VALID_LEVELS,
             (int)lv->valuedouble);
    return msg;
  }
  return NULL;
}

/* parse_line turns one JSON line into *it (zeroed first; the caller frees its
 * strings). Returns NULL, or what is wrong with the line. */
static const char *parse_line(const char *buf, size_t len, struct item *it, char *msg,
                              size_t msglen) {
  const char *end = NULL, *bad = NULL;
  cJSON *obj = cJSON_ParseWithLengthOpts(buf, len, &end, 0);

  memset(it, 0, sizeof *it);
  if (obj == NULL)
    return "invalid JSON";
  for (const char *p = end; p != NULL && p < buf + len && !bad; p++)
    if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
      bad = "invalid JSON: text after the object";
  if (!bad && !cJSON_IsObject(obj))
    bad = "expected a JSON object";
  if (!bad && !(bad = check_level(cJSON_GetObjectItemCaseSensitive(obj, "level"), msg, msglen))) {
    it->level = (int)cJSON_GetObjectItemCaseSensitive(obj, "level")->valuedouble;
    if (!(bad = string_field(obj, "def_name", 1, &it->def_name, msg, msglen)) &&
        !(bad = string_field(obj, "message", 1, &it->message, msg, msglen)) &&
        !(bad = string_field(obj, "extra_info", 0, &it->extra, msg, msglen)))
      bad = string_field(obj, "hash", 0, &it->hash, msg, msglen);
  }
  cJSON_Delete(obj);
  return bad;
}

/* free_items frees n jsonl items (their strings and reasons) and the array. */
static void free_items(struct item *items, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(items[i].def_name);
    free(items[i].message);
    free(items[i].extra);
    free(items[i].hash);
  }
  free(items);
}

/* blank reports whether a line holds only whitespace (such lines are skipped). */
static int blank(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
      return 0;
  return 1;
}

/* load_jsonl reads and validates the whole input before anything is sent. */
static struct item *load_jsonl(const char *path, size_t *count) {
  FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
  struct item *items = NULL;
  size_t n = 0, cap = 0, bufcap = 0;
  char *buf = NULL;
  ssize_t len;
  long line = 0;

  if (in == NULL) {
    fprintf(stderr, PROG ": cannot open %s: %s\n", path, strerror(errno));
    exit(EXIT_USAGE);
  }
  while ((len = getline(&buf, &bufcap, in)) != -1) {
    line++;
    if (blank(buf, (size_t)len))
      continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 64;
      items = realloc(items, cap * sizeof *items);
      if (items == NULL) {
        fprintf(stderr, PROG ": out of memory\n");
        exit(EXIT_FAILED);
      }
    }
    char msg[160];
    const char *bad = parse_line(buf, (size_t)len, &items[n], msg, sizeof msg);
    items[n++].line = line;
    if (bad) {
      fprintf(stderr, PROG ": line %ld: %s (nothing was sent)\n", line, bad);
      free_items(items, n);
      free(buf);
      if (in != stdin)
        fclose(in);
      exit(EXIT_USAGE);
    }
  }
  if (ferror(in)) {
    fprintf(stderr, PROG ": reading %s: %s\n", path, strerror(errno));
    exit(EXIT_USAGE);
  }
  free(buf);
  if (in != stdin)
    fclose(in);
  *count = n;
  return items;
}

/* ---- sending ---- */

/* on_result runs on the client's sender thread: store, match later. */
static void on_result(void *arg, const char *log_id, int result, unsigned flags,
                      const char *reason) {
  struct events *ev = arg;
  pthread_mutex_lock(&ev->mu);
  if (ev->n == ev->cap) {
    size_t cap = ev->cap ? ev->cap * 2 : 256;
    struct event *v = realloc(ev->v, cap * sizeof *v);
    if (v == NULL) {
      ev->oom = 1;
      pthread_mutex_unlock(&ev->mu);
      return;
    }
    ev->v = v;
    ev->cap = cap;
  }
  struct event *e = &ev->v[ev->n++];
  snprintf(e->log_id, sizeof e->log_id, "%s", log_id);
  e->result = result;
  e->flags = flags;
  e->reason = reason[0] != '\0' ? strdup(reason) : NULL;
  pthread_mutex_unlock(&ev->mu);
}

/* now_ms reads CLOCK_MONOTONIC in milliseconds. */
static int64_t now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* remaining returns the milliseconds left before deadline (0 when past). */
static int remaining(int64_t deadline) {
  int64_t left = deadline - now_ms();
  return left > 0 ? (int)left : 0;
}

/* send_all queues every item (waiting for room when the buffer is full, never
 * dropping) and waits for acknowledgement until the deadline. Returns the
 * number queued. */
static size_t send_all(const struct args *a, struct item *items, size_t n, struct events *ev) {
  int64_t deadline = now_ms() + a->timeout_ms;
  logsys_options opts = {.ipc_url = a->url, .program_name = a->program,
                         .on_result = on_result, .on_result_arg = ev};
  logsys_client *c;
  logsys_stats st;
  size_t queued = 0;
  uint64_t left;
  int rc;

  opts.buffer_records = n < MAX_BUFFER ? (n > 0 ? n : 1) : MAX_BUFFER;
  if (a->timeout_ms > 0 && a->timeout_ms < 5000)
    opts.reply_timeout_ms = a->timeout_ms;
  rc = lsys_client_open(&c, &opts, LSYS_CLIENT_REPORT_ALL);
  if (rc != LOGSYS_OK) {
    fprintf(stderr, PROG ": cannot connect to %s: %s\n", a->url, logsys_strerror(rc));
    exit(rc == LOGSYS_EINVAL ? EXIT_USAGE : EXIT_FAILED);
  }
  for (size_t i = 0; i < n; i++) {
    struct item *it = &items[i];
    for (;;) {
      logsys_stats_get(c, &st);
      if (st.pending < opts.buffer_records || remaining(deadline) == 0)
        break;
      logsys_flush(c, remaining(deadline) < 50 ? remaining(deadline) : 50);
    }
    if (st.pending >= opts.buffer_records)
      break; /* out of time: the rest stay ST_UNSENT */
    rc = lsys_client_log(c, it->level, it->def_name, it->message, it->extra, it->hash,
                         it->log_id);
    if (rc != LOGSYS_OK) {
      it->reason = strdup(logsys_strerror(rc));
      continue;
    }
    it->state = ST_QUEUED;
    queued++;
  }
  logsys_flush(c, remaining(deadline));
  logsys_close(c, 0, &left); /* outcomes are all in ev now: the sender has stopped */
  return queued;
}

/* ---- results ---- */

/* by_log_id orders item pointers by log_id, for qsort and bsearch. */
static int by_log_id(const void *x, const void *y) {
  const struct item *const *a = x, *const *b = y;
  return strcmp((*a)->log_id, (*b)->log_id);
}

/* match applies each event to the item with its log_id. */
static void match(struct item *items, size_t n, struct events *ev) {
  struct item **idx = malloc((n ? n : 1) * sizeof *idx);
  size_t m = 0;
  if (idx == NULL) {
    fprintf(stderr, PROG ": out of memory\n");
    exit(EXIT_FAILED);
  }
  for (size_t i = 0; i < n; i++)
    if (items[i].state == ST_QUEUED)
      idx[m++] = &items[i];
  qsort(idx, m, sizeof *idx, by_log_id);
  for (size_t k = 0; k < ev->n; k++) {
    struct item key, *kp = &key, **hit;
    memcpy(key.log_id, ev->v[k].log_id, sizeof key.log_id);
    hit = bsearch(&kp, idx, m, sizeof *idx, by_log_id);
    if (hit == NULL)
      continue;
    (*hit)->state = ev->v[k].result == LOGSYS_RESULT_REJECTED ? ST_REJECTED : ST_ACKED;
    (*hit)->flags = ev->v[k].flags;
    free((*hit)->reason);
    (*hit)->reason = ev->v[k].reason;
    ev->v[k].reason = NULL;
  }
  free(idx);
}

/* name writes how stderr names a record: its line, or its log_id. */
static const char *name(const struct item *it, char *buf, size_t len) {
  if (it->line > 0 && it->log_id[0] != '\0')
    snprintf(buf, len, "record at line %ld (log_id %s)", it->line, it->log_id);
  else if (it->line > 0)
    snprintf(buf, len, "record at line %ld", it->line);
  else
    snprintf(buf, len, "record (log_id %s)", it->log_id);
  return buf;
}

/* report prints warnings and failures; returns the exit status. */
static int report(const struct args *a, const struct item *items, size_t n, size_t queued,
                  int jsonl) {
  size_t acked = 0, rejected = 0, missing = 0;
  char who[128];

  for (size_t i = 0; i < n; i++) {
    const struct item *it = &items[i];
    const char *why = it->reason != NULL ? it->reason : "no reason given";
    if (it->state == ST_ACKED) {
      acked++;
      if (it->flags & (LOGSYS_FLAG_TRUNCATED | LOGSYS_FLAG_UTF8_REPAIRED))
        fprintf(stderr, PROG ": warning: %s %s%s%s: %s\n", name(it, who, sizeof who),
                it->flags & LOGSYS_FLAG_TRUNCATED ? "truncated" : "",
                (it->flags & LOGSYS_FLAG_TRUNCATED) && (it->flags & LOGSYS_FLAG_UTF8_REPAIRED)
                    ? " and "
                    : "",
                it->flags & LOGSYS_FLAG_UTF8_REPAIRED ? "UTF-8 repaired" : "", why);
    } else if (it->state == ST_REJECTED) {
      rejected++;
      fprintf(stderr, PROG ": %s rejected: %s\n", name(it, who, sizeof who), why);
    } else {
      if (missing++ < MAX_LISTED) {
        if (it->state == ST_UNSENT && it->reason != NULL)
          fprintf(stderr, PROG ": %s not sent: %s\n", name(it, who, sizeof who), it->reason);
        else
          fprintf(stderr, PROG ": %s not acknowledged within %d ms (is logsysd running on %s?)\n",
                  name(it, who, sizeof who), a->timeout_ms, a->url);
      }
    }
  }
  if (missing > MAX_LISTED)
    fprintf(stderr, PROG ": ... and %zu more records not acknowledged\n", missing - MAX_LISTED);
  if (jsonl)
    fprintf(stderr, "sent %zu, acknowledged %zu, rejected %zu\n", queued, acked, rejected);
  return rejected == 0 && missing == 0 ? EXIT_SENT : EXIT_FAILED;
}

/* main: parse, read and check all input, send, report. */
int main(int argc, char **argv) {
  struct events ev = {.mu = PTHREAD_MUTEX_INITIALIZER};
  struct item *items, single;
  struct args a;
  size_t n, queued;
  int status;

  parse_args(argc, argv, &a);
  if (a.jsonl != NULL) {
    items = load_jsonl(a.jsonl, &n);
  } else {
    memset(&single, 0, sizeof single);
    single.level = a.level;
    single.def_name = (char *)a.def_name;
    single.message = (char *)a.message;
    single.extra = (char *)a.extra;
    single.hash = (char *)a.hash;
    items = &single;
    n = 1;
  }
  queued = send_all(&a, items, n, &ev);
  if (ev.oom)
    fprintf(stderr, PROG ": out of memory while recording results\n");
  match(items, n, &ev);
  status = report(&a, items, n, queued, a.jsonl != NULL);
  for (size_t k = 0; k < ev.n; k++)
    free(ev.v[k].reason);
  free(ev.v);
  for (size_t i = 0; i < n; i++)
    free(items[i].reason);
  if (a.jsonl != NULL)
    free_items(items, n);
  return ev.oom && status == EXIT_SENT ? EXIT_FAILED : status;
}
