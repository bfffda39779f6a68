/* main.c - logsysd: wires config, ingest, publisher and signals together. */
#include <getopt.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "errors.h"
#include "http_multi.h"
#include "ingest.h"
#include "jobqueue.h"
#include "publisher.h"
#include "admin.h"
#include "queue_json.h"
#include "sidecar_metrics.h"

extern char **environ;

/* Transport cap: requests up to this many times LOGSYS_MAX_REQUEST_BYTES are
 * read and answered "too large"; bigger ones are dropped by nng unanswered. */
#define TRANSPORT_CAP_FACTOR 4

static void usage(FILE *fp) {
  fprintf(fp,
          "Usage: logsysd [--config FILE] [--check-config] [--help] [--version]\n"
          "\n"
          "logsys sidecar: receives log records from liblogsys / logsys-send over nng IPC,\n"
          "prints them, routes them by level and publishes each copy to the durable RabbitMQ\n"
          "queues {domain}_logbeacon and {domain}_tg, acknowledging a record to its client\n"
          "only after RabbitMQ confirmed every copy (or it is synced to the disk spool).\n"
          "Without LOGSYS_AMQP_URL it delivers to LogBeacon and Telegram itself (embedded\n"
          "mode, spool in LOGSYS_SPOOL_DIR, default /tmp/logsys-spool-{domain}).\n"
          "\n"
          "Options:\n"
          "  --config FILE   read KEY=value settings from FILE (environment wins)\n"
          "  --check-config  print the resolved settings (secrets masked) and exit\n"
          "  --help          show this help and the settings table\n"
          "  --version       print the version\n"
          "\n"
          "Settings (environment or --config file):\n");
  lsys_config_help(LSYS_BIN_SIDECAR, fp);
}

/* Extra time after LOGSYS_DRAIN_TIMEOUT_MS before a stuck shutdown gives up. */
#define SHUTDOWN_GRACE_MS 20000

typedef struct watchdog {
  lsys_publisher *pub;
  int limit_ms;
} watchdog;

/* shutdown_watchdog ends a shutdown that does not finish in time (a blocked
 * call somewhere). What clients were told is accepted is confirmed or synced
 * already, so exiting loses nothing acknowledged; exit 1 says it was not clean. */
static void *shutdown_watchdog(void *arg) {
  watchdog *w = arg;
  struct timespec ts = {w->limit_ms / 1000, (long)(w->limit_ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0)
    ;
  fprintf(stderr, "logsysd: shutdown did not finish within %d ms (publisher: %s); exiting\n",
          w->limit_ms, w->pub ? lsys_publisher_phase(w->pub) : "not started");
  _exit(1);
  return NULL;
}

/* on_request runs on an nng thread: hand the request to the publisher. */
static void on_request(void *arg, lsys_request *req) {
  if (lsys_jobq_push(arg, req) != LSYS_OK)
    lsys_request_reply(req, NULL, 0); /* cannot happen: one slot per context */
}

/* What GET /healthz and /readyz look at (read on nng's HTTP threads). */
typedef struct probes {
  lsys_publisher *pub;
  _Atomic int draining;
} probes;

/* healthz: the publisher loop keeps turning. */
static int healthz(void *arg, char *why, size_t len) {
  probes *pr = arg;
  return lsys_publisher_healthy(pr->pub, why, len);
}

/* readyz: the IPC socket is bound (it is, once the admin endpoint runs), we
 * are not draining and records can be accepted. A broker outage does not make
 * the sidecar unready: records go to the spool (or wait with the clients). */
static int readyz(void *arg, char *why, size_t len) {
  probes *pr = arg;
  if (atomic_load(&pr->draining)) {
    snprintf(why, len, "draining");
    return LSYS_ECLOSED;
  }
  return lsys_publisher_ready(pr->pub, why, len);
}

int main(int argc, char **argv) {
  static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                       {"check-config", no_argument, NULL, 'k'},
                                       {"help", no_argument, NULL, 'h'},
                                       {"version", no_argument, NULL, 'V'},
                                       {NULL, 0, NULL, 0}};
  const char *config_path = NULL;
  int check = 0, opt, status = 1, sig = 0;
  char err[1024];
  lsys_config cfg;
  lsys_sidecar_metrics metrics;
  lsys_admin *admin = NULL;
  probes pr = {0};
  char q_lb[256], q_tg[256], summary[512];
  lsys_jobq *q = NULL;
  lsys_ingest *in = NULL;
  lsys_publisher *pub = NULL;
  sigset_t sigs;

  memset(&cfg, 0, sizeof cfg);
  memset(&metrics, 0, sizeof metrics);
  while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (opt) {
    case 'c': config_path = optarg; break;
    case 'k': check = 1; break;
    case 'h': usage(stdout); return 0;
    case 'V': printf("logsysd %s\n", LOGSYS_VERSION); return 0;
    default: usage(stderr); return 2;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "logsysd: unexpected argument '%s' (see --help)\n", argv[optind]);
    return 2;
  }
  if (lsys_config_load(&cfg, LSYS_BIN_SIDECAR, config_path, environ, err, sizeof err) != LSYS_OK ||
      lsys_config_require(&cfg, err, sizeof err) != LSYS_OK) {
    fprintf(stderr, "logsysd: %s\n", err);
    status = 2;
    goto done;
  }
  if (check) {
    lsys_config_print(&cfg, stdout);
    status = 0;
    goto done;
  }
  /* libcurl (embedded mode, LOGSYS_FALLBACK=direct) is initialised before any thread. */
  if (lsys_http_multi_global_init() != LSYS_OK) {
    fprintf(stderr, "logsysd: cannot initialise libcurl\n");
    goto done;
  }
  /* Signals are taken by sigwait below; every thread inherits the mask. */
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, NULL);
  signal(SIGPIPE, SIG_IGN);

  lsys_ingest_opts io = {
      .url = cfg.ipc_url,
      .ipc_mode = cfg.ipc_mode,
      .max_recv_bytes = (size_t)cfg.max_request_bytes * TRANSPORT_CAP_FACTOR,
      .contexts = cfg.ingest_contexts,
      .fn = on_request,
  };
  if (lsys_jobq_create(&q, (size_t)cfg.ingest_contexts) != LSYS_OK) {
    fprintf(stderr, "logsysd: out of memory\n");
    goto done;
  }
  io.arg = q;
  if (lsys_ingest_create(&in, &io, err, sizeof err) != LSYS_OK) {
    fprintf(stderr, "logsysd: cannot listen: %s\n", err);
    goto done;
  }
  fprintf(stderr, "logsysd %s: listening on %s (mode %04o), domain %s\n", LOGSYS_VERSION, cfg.ipc_url,
          cfg.ipc_mode, cfg.domain);
  if (lsys_qjson_queue_name(cfg.domain, "logbeacon", q_lb, sizeof q_lb) != LSYS_OK ||
      lsys_qjson_queue_name(cfg.domain, "tg", q_tg, sizeof q_tg) != LSYS_OK) {
    fprintf(stderr, "logsysd: LOGSYS_DOMAIN is too long for a queue name\n");
    status = 2;
    goto done;
  }
  if (lsys_sidecar_metrics_init(&metrics, &cfg.routes, q_lb, q_tg, err, sizeof err) != LSYS_OK ||
      lsys_publisher_create(&pub, &cfg, q, &metrics, err, sizeof err) != LSYS_OK) {
    fprintf(stderr, "logsysd: %s\n", err);
    goto done;
  }
  pr.pub = pub;
  if (cfg.admin_addr) {
    lsys_admin_checks checks = {.healthz = healthz, .readyz = readyz, .arg = &pr};
    if (lsys_admin_create(&admin, cfg.admin_addr, &checks, metrics.reg, err, sizeof err) != LSYS_OK) {
      fprintf(stderr, "logsysd: admin endpoint: %s\n", err);
      goto done;
    }
    fprintf(stderr, "logsysd: admin endpoint on http://%s (/healthz /readyz /metrics)\n",
            cfg.admin_addr);
  }

  /* The publisher prints "ready" once RabbitMQ is connected; requests that
   * arrive before that wait in the job queue. */
  sigwait(&sigs, &sig);
  fprintf(stderr, "logsysd: %s received: draining (up to %d ms)\n", strsignal(sig),
          cfg.drain_timeout_ms);
  atomic_store(&pr.draining, 1);
  static watchdog wd;
  pthread_t wd_thread;
  wd.pub = pub;
  wd.limit_ms = cfg.drain_timeout_ms + SHUTDOWN_GRACE_MS;
  if (pthread_create(&wd_thread, NULL, shutdown_watchdog, &wd) == 0)
    pthread_detach(wd_thread);
  lsys_ingest_stop(in);
  if (lsys_ingest_wait_idle(in, cfg.drain_timeout_ms) != LSYS_OK) {
    fprintf(stderr, "logsysd: drain timeout: answering the rest 'resend later'\n");
    lsys_publisher_abandon(pub);
    lsys_ingest_wait_idle(in, 2000);
  }
  status = 0;

done:
  lsys_admin_destroy(admin);
  lsys_publisher_destroy(pub);
  lsys_ingest_destroy(in);
  lsys_jobq_destroy(q);
  if (pub) {
    lsys_sidecar_metrics_summary(&metrics, summary, sizeof summary);
    fprintf(stderr, "logsysd: stopped: %s\n", summary);
  }
  lsys_sidecar_metrics_fini(&metrics);
  lsys_config_free(&cfg);
  return status;
}
