/* main.c - logsys-worker: wires config, signals, the worker loop and --replay-dlq. */
#include <curl/curl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "config.h"
#include "errors.h"
#include "replay.h"
#include "topology.h"
#include "worker.h"

extern char **environ;

static void usage(FILE *fp) {
  fprintf(fp,
          "Usage: logsys-worker logbeacon|telegram [--config FILE] [--replay-dlq] [--check-config]\n"
          "       logsys-worker --help | --version\n"
          "\n"
          "logsys worker: consumes {domain}_logbeacon (logbeacon) or {domain}_tg (telegram) from\n"
          "RabbitMQ and delivers each message to LogBeacon or the Telegram Bot API, acknowledging\n"
          "it only after the delivery succeeded. Retryable failures wait in {queue}.retry with\n"
          "exponential backoff; permanent failures and messages out of attempts go to {queue}.dlq.\n"
          "\n"
          "Options:\n"
          "  --config FILE   read KEY=value settings from FILE (environment wins)\n"
          "  --replay-dlq    move every message of {queue}.dlq back to {queue}, print how many, exit\n"
          "  --check-config  print the resolved settings (secrets masked) and exit\n"
          "  --help          show this help and the settings table\n"
          "  --version       print the version\n"
          "\n");
  lsys_config_help(LSYS_BIN_WORKER, fp);
}

/* parse_kind maps the command word to a sink kind; -1 when unknown. */
static int parse_kind(const char *s, lsys_sink_kind *kind) {
  if (strcmp(s, "logbeacon") == 0)
    *kind = LSYS_SINK_KIND_LOGBEACON;
  else if (strcmp(s, "telegram") == 0 || strcmp(s, "tg") == 0)
    *kind = LSYS_SINK_KIND_TELEGRAM;
  else
    return -1;
  return 0;
}

/* healthz and readyz answer the admin endpoint's probes (on an nng thread). */
static int healthz(void *arg, char *why, size_t len) { return lsys_worker_healthy(arg, why, len); }
static int readyz(void *arg, char *why, size_t len) { return lsys_worker_ready(arg, why, len); }

/* replay runs --replay-dlq and returns the exit status. */
static int replay(const lsys_config *cfg, lsys_sink_kind kind) {
  lsys_topology t;
  char err[1024];
  uint64_t moved = 0;
  lsys_topology_names(&t, cfg->domain, kind); /* length checked by the caller */
  fprintf(stderr, "logsys-worker: replaying %s into %s\n", t.dlq, t.queue);
  int rc = lsys_replay_run(cfg, &t, &moved, err, sizeof err);
  printf("replayed %llu message%s from %s to %s\n", (unsigned long long)moved,
         moved == 1 ? "" : "s", t.dlq, t.queue);
  if (rc != LSYS_OK) {
    fprintf(stderr, "logsys-worker: replay failed after %llu: %s\n", (unsigned long long)moved, err);
    return rc == LSYS_ECONFIG ? 2 : 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                       {"replay-dlq", no_argument, NULL, 'r'},
                                       {"check-config", no_argument, NULL, 'k'},
                                       {"help", no_argument, NULL, 'h'},
                                       {"version", no_argument, NULL, 'V'},
                                       {NULL, 0, NULL, 0}};
  const char *config_path = NULL;
  int check = 0, do_replay = 0, opt, status = 1;
  lsys_sink_kind kind = LSYS_SINK_KIND_LOGBEACON;
  lsys_topology names;
  char err[1024];
  lsys_config cfg;
  lsys_worker *w = NULL;
  lsys_admin *admin = NULL;
  sigset_t sigs;

  memset(&cfg, 0, sizeof cfg);
  while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (opt) {
    case 'c': config_path = optarg; break;
    case 'r': do_replay = 1; break;
    case 'k': check = 1; break;
    case 'h': usage(stdout); return 0;
    case 'V': printf("logsys-worker %s\n", LOGSYS_VERSION); return 0;
    default: usage(stderr); return 2;
    }
  }
  if (optind >= argc) {
    fprintf(stderr, "logsys-worker: which queue? give logbeacon or telegram (see --help)\n");
    return 2;
  }
  if (parse_kind(argv[optind], &kind) != 0) {
    fprintf(stderr, "logsys-worker: unknown worker kind '%s': expected logbeacon or telegram\n",
            argv[optind]);
    return 2;
  }
  if (optind + 1 < argc) {
    fprintf(stderr, "logsys-worker: unexpected argument '%s' (see --help)\n", argv[optind + 1]);
    return 2;
  }
  if (lsys_config_load(&cfg, LSYS_BIN_WORKER, config_path, environ, err, sizeof err) != LSYS_OK ||
      lsys_config_require(&cfg, err, sizeof err) != LSYS_OK) {
    fprintf(stderr, "logsys-worker: %s\n", err);
    status = 2;
    goto done;
  }
  if (check) {
    lsys_config_print(&cfg, stdout);
    status = 0;
    goto done;
  }
  if (!cfg.amqp_url || !*cfg.amqp_url) {
    fprintf(stderr, "logsys-worker: LOGSYS_AMQP_URL is required "
                    "(e.g. amqp://user:password@host:5672/%%2f)\n");
    status = 2;
    goto done;
  }
  if (lsys_topology_names(&names, cfg.domain, kind) != LSYS_OK) {
    fprintf(stderr, "logsys-worker: LOGSYS_DOMAIN is too long for a queue name\n");
    status = 2;
    goto done;
  }
  srandom((unsigned)time(NULL) ^ ((unsigned)getpid() << 16));
  signal(SIGPIPE, SIG_IGN);
  if (do_replay) {
    status = replay(&cfg, kind);
    goto done;
  }

  /* Signals are taken by the loop with sigtimedwait; every thread (libcurl's
   * resolver threads too) inherits the mask. */
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, NULL);
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    fprintf(stderr, "logsys-worker: cannot initialise libcurl\n");
    goto done;
  }
  if (lsys_worker_create(&w, &cfg, kind, err, sizeof err) != LSYS_OK) {
    fprintf(stderr, "logsys-worker: %s\n", err);
    status = 2;
    curl_global_cleanup();
    goto done;
  }
  fprintf(stderr, "logsys-worker %s: %s worker for queue %s, domain %s\n", LOGSYS_VERSION,
          kind == LSYS_SINK_KIND_TELEGRAM ? "telegram" : "logbeacon", names.queue, cfg.domain);
  if (cfg.admin_addr) {
    lsys_admin_checks checks = {.healthz = healthz, .readyz = readyz, .arg = w};
    if (lsys_admin_create(&admin, cfg.admin_addr, &checks, lsys_worker_registry(w), err,
                          sizeof err) != LSYS_OK) {
      fprintf(stderr, "logsys-worker: admin endpoint: %s\n", err);
      status = 1;
      goto stop;
    }
    fprintf(stderr, "logsys-worker: admin endpoint on http://%s (/healthz /readyz /metrics)\n",
            cfg.admin_addr);
  }
  status = lsys_worker_run(w, &sigs);
stop:
  lsys_admin_destroy(admin); /* before the worker: the probes and /metrics read it */
  lsys_worker_destroy(w);
  curl_global_cleanup();

done:
  lsys_config_free(&cfg);
  return status;
}
