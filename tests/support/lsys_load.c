/* lsys_load.c - lsys-load: log N records through liblogsys and report what happened.
 *
 *   lsys-load --ipc URL --count N [--level L] [--hash-prefix P] [--program NAME]
 *             [--timeout-ms T] [--message-size B] [--buffer R] [--batch R]
 *
 * Record i (0-based) has def_name "lsys_load", message "load record <i>" (padded
 * with 'x' to B bytes when --message-size is given) and, with --hash-prefix, the
 * hash "P-<i>" (else the client makes a unique one). A full buffer
 * (LOGSYS_EFULL) is waited out with a short logsys_flush and the record logged
 * again, so the tool itself never gives up a record. Then it flushes for up to
 * T ms (default 60000), closes, and prints one JSON line:
 *   {"logged":N,"acknowledged":N,"rejected":N,"dropped":N,"resent":N,
 *    "full_retries":N,"seconds":S,"records_per_s":R}
 * ("dropped" counts the client's own EFULL drops, all of which were retried.)
 * Exit 0 iff every record was acknowledged; 1 otherwise; 2 usage error. */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "logsys.h"

static void usage(FILE *fp) {
  fprintf(fp,
          "usage: lsys-load --ipc URL --count N [--level L] [--hash-prefix P] [--program NAME]\n"
          "                 [--timeout-ms T] [--message-size B] [--buffer R] [--batch R]\n"
          "Logs N records through liblogsys, flushes, prints counters as one JSON line.\n"
          "Exit 0 iff all N were acknowledged.\n");
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* parse_long parses a whole decimal in [min, max]; returns 0 or -1. */
static int parse_long(const char *s, long min, long max, long *out) {
  char *end = NULL;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < min || v > max) return -1;
  *out = v;
  return 0;
}

int main(int argc, char **argv) {
  static const struct option opts[] = {
      {"ipc", required_argument, NULL, 'i'},
      {"count", required_argument, NULL, 'n'},
      {"level", required_argument, NULL, 'l'},
      {"hash-prefix", required_argument, NULL, 'p'},
      {"program", required_argument, NULL, 'P'},
      {"timeout-ms", required_argument, NULL, 't'},
      {"message-size", required_argument, NULL, 's'},
      {"buffer", required_argument, NULL, 'b'},
      {"batch", required_argument, NULL, 'B'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *ipc = NULL, *hash_prefix = NULL, *program = "lsys-load";
  long count = -1, level = 1, timeout_ms = 60000, msg_size = 0, buffer = 0, batch = 0;
  int c;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    int bad = 0;
    switch (c) {
      case 'i': ipc = optarg; break;
      case 'p': hash_prefix = optarg; break;
      case 'P': program = optarg; break;
      case 'n': bad = parse_long(optarg, 0, 1000000000L, &count); break;
      case 'l': bad = parse_long(optarg, 0, 1000000L, &level); break;
      case 't': bad = parse_long(optarg, 0, 86400000L, &timeout_ms); break;
      case 's': bad = parse_long(optarg, 0, 64L << 20, &msg_size); break;
      case 'b': bad = parse_long(optarg, 1, 1L << 26, &buffer); break;
      case 'B': bad = parse_long(optarg, 1, 1L << 20, &batch); break;
      case 'h': usage(stdout); return 0;
      default: usage(stderr); return 2;
    }
    if (bad) {
      fprintf(stderr, "lsys-load: bad value for %s: %s\n", argv[optind - 1], optarg);
      return 2;
    }
  }
  if (optind != argc || ipc == NULL || count < 0) {
    usage(stderr);
    return 2;
  }
  if (!logsys_level_valid((int)level)) {
    fprintf(stderr, "lsys-load: --level %ld is not a valid level\n", level);
    return 2;
  }

  size_t cap = (size_t)msg_size + 64;
  char *message = malloc(cap);
  char *hash = malloc(strlen(hash_prefix != NULL ? hash_prefix : "") + 32);
  if (message == NULL || hash == NULL) {
    fprintf(stderr, "lsys-load: out of memory\n");
    return 2;
  }

  logsys_options o;
  memset(&o, 0, sizeof o);
  o.ipc_url = ipc;
  o.program_name = program;
  o.buffer_records = (size_t)buffer;
  o.batch_records = (unsigned)batch;
  logsys_client *cl = NULL;
  int rv = logsys_open(&cl, &o);
  if (rv != LOGSYS_OK) {
    fprintf(stderr, "lsys-load: logsys_open: %s\n", logsys_strerror(rv));
    free(message);
    free(hash);
    return 1;
  }

  uint64_t full_retries = 0;
  int failed = 0;
  double t0 = now_s();
  for (long i = 0; i < count && !failed; i++) {
    int n = snprintf(message, cap, "load record %ld", i);
    if (n >= 0 && (size_t)n < (size_t)msg_size) {
      memset(message + n, 'x', (size_t)msg_size - (size_t)n);
      message[msg_size] = '\0';
    }
    if (hash_prefix != NULL) sprintf(hash, "%s-%ld", hash_prefix, i);
    for (;;) {
      rv = hash_prefix != NULL
               ? logsys_log_hash(cl, (int)level, "lsys_load", message, "lsys-load", hash)
               : logsys_log(cl, (int)level, "lsys_load", message, "lsys-load");
      if (rv != LOGSYS_EFULL) break;
      full_retries++;
      (void)logsys_flush(cl, 20); /* let the sender make room, then log it again */
    }
    if (rv != LOGSYS_OK) {
      fprintf(stderr, "lsys-load: logsys_log record %ld: %s\n", i, logsys_strerror(rv));
      failed = 1;
    }
  }
  int frv = logsys_flush(cl, (int)timeout_ms);
  double secs = now_s() - t0;
  logsys_stats st;
  logsys_stats_get(cl, &st);
  uint64_t undelivered = 0;
  (void)logsys_close(cl, 1000, &undelivered);

  printf("{\"logged\":%llu,\"acknowledged\":%llu,\"rejected\":%llu,\"dropped\":%llu,"
         "\"resent\":%llu,\"full_retries\":%llu,\"seconds\":%.3f,\"records_per_s\":%.1f}\n",
         (unsigned long long)st.logged, (unsigned long long)st.acknowledged,
         (unsigned long long)st.rejected, (unsigned long long)st.dropped,
         (unsigned long long)st.resent, (unsigned long long)full_retries, secs,
         secs > 0 ? (double)count / secs : 0.0);
  fflush(stdout);
  free(message);
  free(hash);
  if (st.acknowledged != (uint64_t)count) {
    fprintf(stderr, "lsys-load: %llu of %ld records acknowledged (flush: %s)\n",
            (unsigned long long)st.acknowledged, count, logsys_strerror(frv));
    return 1;
  }
  return 0;
}
