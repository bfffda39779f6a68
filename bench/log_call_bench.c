/* log_call_bench.c - bench_log_call: what one logsys_log() call costs the caller.
 *
 *   bench_log_call [--ipc URL] [--calls N] [--warmup N] [--threads LIST]
 *                  [--heap cold|warm|cold,warm] [--message-size B] [--buffer R]
 *                  [--flush-ms T]
 *
 * For each thread count in LIST (default "1,4") and each heap mode, a process
 * of its own (fork) opens a fresh client with a
 * buffer large enough that nothing drops (default 4,194,304 records); every
 * thread logs --warmup untimed records, waits at a barrier, then times --calls
 * calls one by one with clock_gettime(CLOCK_MONOTONIC) around each. The median
 * cost of an empty pair of clock reads (the timer overhead, printed) is
 * subtracted from every sample. The samples of all threads are pooled for the
 * percentiles.
 *
 * Heap modes. Every record is one malloc. With no sidecar draining the buffer
 * each record lands on heap memory touched for the first time, so about one
 * call in 17 takes a minor page fault (~2-3 us): that is the "cold" figure. In
 * the steady state the sender frees acknowledged records and malloc reuses the
 * pages: "warm" pre-faults each thread's arena (and turns off trimming) before
 * the warm-up to measure that. Minor faults and involuntary context switches
 * during the timed calls are printed for both.
 *
 * The default URL is a path where no sidecar listens: logsys_log() must not
 * depend on the sidecar, so its cost is measured without one. With a live
 * sidecar (--ipc its URL) the sender thread runs concurrently; --flush-ms then
 * waits for the acknowledgements before closing.
 *
 * Messages are ~100 bytes, like a real log line. Prints a table and, per thread
 * count, one machine-readable line:
 *   log_call threads=1 heap=warm calls=200000 msg_bytes=100 timer_ns=.. p50_ns=..
 *            p90_ns=.. p99_ns=.. p999_ns=.. p9999_ns=.. max_ns=.. mean_ns=..
 *            minflt=.. nivcsw=.. dropped=0
 * Exit 0 when the run completed (even when a figure misses a target); 1 on an
 * error (open failed, a call failed other than by a full buffer); 2 usage. A
 * dropped record is reported loudly and also makes the exit status 3, since
 * the drop path is cheaper than the real one and spoils the figures. */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "logsys.h"

#define MAX_THREADS 64
#define MSG_VARIANTS 64
#define MSG_MAX 4096

struct worker {
  pthread_t tid;
  int index;
  logsys_client *client;
  pthread_barrier_t *start;
  long warmup;
  long calls;
  size_t msg_size;
  uint32_t *samples; /* calls entries: ns per call, timer overhead included */
  long failures;     /* calls that returned neither OK nor EFULL */
  long full;         /* calls that returned EFULL (dropped) */
  int first_error;
  int warm_heap;     /* pre-fault this thread's malloc arena before the warm-up */
  long minflt;       /* minor page faults during the timed calls */
  long nivcsw;       /* involuntary context switches during the timed calls */
};

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

/* timer_overhead_ns returns the median cost of two back-to-back clock reads. */
static uint32_t timer_overhead_ns(void) {
  enum { N = 200001 };
  uint32_t *v = malloc(N * sizeof *v);
  if (v == NULL)
    return 0;
  for (int i = 0; i < N; i++) {
    uint64_t a = now_ns();
    uint64_t b = now_ns();
    v[i] = (uint32_t)(b - a);
  }
  qsort(v, N, sizeof *v, cmp_u32);
  uint32_t med = v[N / 2];
  free(v);
  return med;
}

/* make_messages fills msgs with MSG_VARIANTS log-line-like texts of about size bytes. */
static void make_messages(char msgs[][MSG_MAX], size_t size, int thread) {
  static const char *const verbs[] = {"captured", "refunded", "queued", "shipped"};
  for (int i = 0; i < MSG_VARIANTS; i++) {
    int n = snprintf(msgs[i], MSG_MAX,
                     "order %d-%05d processed for customer %d: payment %s, amount=%d.%02d EUR, "
                     "items=%d, latency=%dms",
                     thread, i * 7919 % 100000, 1000 + i * 37, verbs[i % 4], 10 + i * 3, i % 100,
                     1 + i % 9, 3 + i % 40);
    size_t len = n > 0 ? (size_t)n : 0;
    if (len >= MSG_MAX)
      len = MSG_MAX - 1;
    if (len < size && size < MSG_MAX) { /* pad to the requested size */
      memset(msgs[i] + len, ' ', size - len);
      len = size;
    } else if (len > size) {
      len = size;
    }
    msgs[i][len] = '\0';
  }
}

/* prefault_heap grows the calling thread's malloc arena by about bytes and
 * touches every page, then frees it all. With trimming disabled (see
 * run_phase) the memory stays in the arena, so the records logged afterwards
 * come from pages that are already mapped: the steady state of a client whose
 * sender frees acknowledged records as fast as they are logged. */
static int prefault_heap(size_t bytes) {
  enum { CHUNK = 256 };
  size_t n = bytes / CHUNK;
  void **v = malloc(n * sizeof *v);
  if (v == NULL)
    return -1;
  for (size_t i = 0; i < n; i++) {
    v[i] = malloc(CHUNK);
    if (v[i] == NULL) {
      n = i;
      break;
    }
    memset(v[i], 0xa5, CHUNK);
  }
  while (n > 0)
    free(v[--n]); /* newest first: each merges into the arena's top chunk */
  free(v);
  return 0;
}

static void *worker_main(void *arg) {
  struct worker *w = arg;
  char(*msgs)[MSG_MAX] = malloc(sizeof(char[MSG_VARIANTS][MSG_MAX]));
  if (msgs == NULL) {
    w->failures = 1;
    w->first_error = LOGSYS_ENOMEM;
    pthread_barrier_wait(w->start);
    return NULL;
  }
  make_messages(msgs, w->msg_size, w->index);
  if (w->warm_heap)
    (void)prefault_heap((size_t)(w->warmup + w->calls) * (w->msg_size + 400));
  for (long i = 0; i < w->warmup; i++) {
    int rv = logsys_log(w->client, LOGSYS_INFO, "bench_warmup", msgs[i % MSG_VARIANTS], "warm-up");
    if (rv == LOGSYS_EFULL)
      w->full++;
  }
  pthread_barrier_wait(w->start);
  struct rusage ru0, ru1;
  getrusage(RUSAGE_THREAD, &ru0);
  for (long i = 0; i < w->calls; i++) {
    const char *m = msgs[i % MSG_VARIANTS];
    uint64_t t0 = now_ns();
    int rv = logsys_log(w->client, LOGSYS_INFO, "process_order", m, "bench_log_call");
    uint64_t t1 = now_ns();
    uint64_t d = t1 - t0;
    w->samples[i] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
    if (rv != LOGSYS_OK) {
      if (rv == LOGSYS_EFULL) {
        w->full++;
      } else {
        if (w->failures++ == 0)
          w->first_error = rv;
      }
    }
  }
  getrusage(RUSAGE_THREAD, &ru1);
  w->minflt = ru1.ru_minflt - ru0.ru_minflt;
  w->nivcsw = ru1.ru_nivcsw - ru0.ru_nivcsw;
  free(msgs);
  return NULL;
}

static uint32_t pct(const uint32_t *sorted, size_t n, double p) {
  if (n == 0)
    return 0;
  size_t idx = (size_t)(p / 100.0 * (double)n);
  if (idx >= n)
    idx = n - 1;
  return sorted[idx];
}

static int parse_long(const char *s, long min, long max, long *out) {
  char *end = NULL;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
    return -1;
  *out = v;
  return 0;
}

/* run_phase runs one thread count with a cold or warm heap; returns 0, 1
 * (error) or 3 (records dropped). Runs in a process of its own (see main). */
static int run_phase(const char *ipc, int nthreads, int warm, long calls, long warmup,
                     size_t msg_size, long buffer, long flush_ms, uint32_t timer_ns) {
  struct worker w[MAX_THREADS];
  pthread_barrier_t start;
  logsys_client *c = NULL;
  logsys_options o;
  uint32_t *all = NULL;
  int rc = 1, started = 0;
  size_t total = (size_t)nthreads * (size_t)calls;

  memset(w, 0, sizeof w);
  memset(&o, 0, sizeof o);
  if (warm) {
    /* Keep freed memory in the arenas (no trimming, no heap deletion). */
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    mallopt(M_TOP_PAD, 256 << 20);
  }
  o.ipc_url = ipc;
  o.program_name = "bench_log_call";
  o.buffer_records = (size_t)buffer;
  int rv = logsys_open(&c, &o);
  if (rv != LOGSYS_OK) {
    fprintf(stderr, "bench_log_call: logsys_open(%s): %s\n", ipc, logsys_strerror(rv));
    return 1;
  }
  all = malloc(total * sizeof *all);
  if (all == NULL || pthread_barrier_init(&start, NULL, (unsigned)nthreads + 1) != 0) {
    fprintf(stderr, "bench_log_call: out of memory\n");
    goto out;
  }
  memset(all, 0, total * sizeof *all); /* fault the sample pages in before timing */
  for (int i = 0; i < nthreads; i++) {
    w[i].index = i;
    w[i].client = c;
    w[i].start = &start;
    w[i].warmup = warmup;
    w[i].calls = calls;
    w[i].msg_size = msg_size;
    w[i].warm_heap = warm;
    w[i].samples = all + (size_t)i * (size_t)calls;
    if (pthread_create(&w[i].tid, NULL, worker_main, &w[i]) != 0) {
      fprintf(stderr, "bench_log_call: pthread_create failed\n");
      /* the barrier cannot complete now: fail hard rather than hang */
      exit(1);
    }
    started++;
  }
  pthread_barrier_wait(&start);
  uint64_t wall0 = now_ns();
  for (int i = 0; i < started; i++)
    pthread_join(w[i].tid, NULL);
  uint64_t wall = now_ns() - wall0;
  pthread_barrier_destroy(&start);

  long failures = 0, full = 0, minflt = 0, nivcsw = 0;
  int first_error = 0;
  for (int i = 0; i < nthreads; i++) {
    failures += w[i].failures;
    full += w[i].full;
    minflt += w[i].minflt;
    nivcsw += w[i].nivcsw;
    if (first_error == 0)
      first_error = w[i].first_error;
  }

  /* Per-thread p99 before pooling (sorting each slice in place is the pooling
   * step's first half anyway). */
  uint32_t thread_p99[MAX_THREADS];
  for (int i = 0; i < nthreads; i++) {
    qsort(w[i].samples, (size_t)calls, sizeof(uint32_t), cmp_u32);
    thread_p99[i] = pct(w[i].samples, (size_t)calls, 99.0);
  }
  double sum = 0;
  for (size_t i = 0; i < total; i++) {
    all[i] = all[i] > timer_ns ? all[i] - timer_ns : 0;
    sum += all[i];
  }
  qsort(all, total, sizeof *all, cmp_u32);

  if (flush_ms > 0)
    (void)logsys_flush(c, (int)flush_ms);
  logsys_stats st;
  logsys_stats_get(c, &st);

  uint32_t p50 = pct(all, total, 50), p90 = pct(all, total, 90), p99 = pct(all, total, 99),
           p999 = pct(all, total, 99.9), p9999 = pct(all, total, 99.99), mx = all[total - 1],
           mn = all[0];
  double mean = sum / (double)total;
  const char *heap = warm ? "warm" : "cold";
  printf("\n== logsys_log(), %d thread%s, %s heap, %ld timed calls each (%ld warm-up), "
         "%zu-byte messages ==\n",
         nthreads, nthreads == 1 ? "" : "s", heap, calls, warmup, msg_size);
  printf("  %-22s %10s\n", "statistic", "ns/call");
  printf("  %-22s %10u\n", "min", mn);
  printf("  %-22s %10.1f\n", "mean", mean);
  printf("  %-22s %10u\n", "p50", p50);
  printf("  %-22s %10u\n", "p90", p90);
  printf("  %-22s %10u\n", "p99", p99);
  printf("  %-22s %10u\n", "p99.9", p999);
  printf("  %-22s %10u\n", "p99.99", p9999);
  printf("  %-22s %10u\n", "max", mx);
  printf("  timer overhead subtracted: %u ns per sample\n", timer_ns);
  printf("  per-thread p99 (ns):");
  for (int i = 0; i < nthreads; i++)
    printf(" %u", thread_p99[i] > timer_ns ? thread_p99[i] - timer_ns : 0);
  printf("\n");
  printf("  wall: %.3f s for %zu timed calls = %.0f calls/s (all threads, timing included)\n",
         (double)wall / 1e9, total, (double)total / ((double)wall / 1e9));
  char per[64] = "";
  if (minflt > 0)
    snprintf(per, sizeof per, " (1 per %.0f calls)", (double)total / (double)minflt);
  printf("  during the timed calls: %ld minor page faults%s, %ld involuntary context switches\n",
         minflt, per, nivcsw);
  printf("  client: logged %llu, acknowledged %llu, dropped %llu, pending %llu\n",
         (unsigned long long)st.logged, (unsigned long long)st.acknowledged,
         (unsigned long long)st.dropped, (unsigned long long)st.pending);
  rc = 0;
  if (failures > 0) {
    fprintf(stderr, "bench_log_call: %ld calls failed (first: %s)\n", failures,
            logsys_strerror(first_error));
    rc = 1;
  }
  if (st.dropped > 0 || full > 0) {
    printf("  !!!!!!!! DROPPED %llu RECORDS (%ld EFULL returns): the buffer was too small; the\n"
           "  !!!!!!!! figures above include the cheaper drop path and are NOT valid.\n",
           (unsigned long long)st.dropped, full);
    if (rc == 0)
      rc = 3;
  }
  printf("log_call threads=%d heap=%s calls=%ld msg_bytes=%zu timer_ns=%u p50_ns=%u p90_ns=%u "
         "p99_ns=%u p999_ns=%u p9999_ns=%u max_ns=%u mean_ns=%.1f minflt=%ld nivcsw=%ld "
         "dropped=%llu\n",
         nthreads, heap, calls, msg_size, timer_ns, p50, p90, p99, p999, p9999, mx, mean, minflt,
         nivcsw, (unsigned long long)st.dropped);
  fflush(stdout);

out:
  free(all);
  /* Nothing may be listening: close without waiting (the records are discarded). */
  (void)logsys_close(c, flush_ms > 0 ? (int)flush_ms : 0, NULL);
  return rc;
}

static void usage(FILE *fp) {
  fprintf(fp,
          "usage: bench_log_call [--ipc URL] [--calls N] [--warmup N] [--threads LIST]\n"
          "                      [--heap cold|warm|cold,warm] [--message-size B] [--buffer R]\n"
          "                      [--flush-ms T]\n"
          "Times each logsys_log() call; prints p50/p99/p99.9/max in ns per thread count.\n"
          "cold heap: records come from fresh heap pages (first touch faults them in, as\n"
          "while the buffer fills with no sidecar draining it); warm heap: the malloc arenas\n"
          "are pre-faulted, as in the steady state where acknowledged records are freed.\n"
          "Each (threads, heap) phase runs in a process of its own.\n"
          "Defaults: --ipc ipc:///tmp/lsys-bench-nosidecar-<pid>.sock (no sidecar),\n"
          "          --calls 200000 --warmup 20000 --threads 1,4 --heap cold,warm\n"
          "          --message-size 100 --buffer 4194304 --flush-ms 0\n");
}

int main(int argc, char **argv) {
  static const struct option opts[] = {
      {"ipc", required_argument, NULL, 'i'},       {"calls", required_argument, NULL, 'n'},
      {"warmup", required_argument, NULL, 'w'},    {"threads", required_argument, NULL, 't'},
      {"message-size", required_argument, NULL, 's'}, {"buffer", required_argument, NULL, 'b'},
      {"flush-ms", required_argument, NULL, 'f'},  {"heap", required_argument, NULL, 'H'},
      {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0},
  };
  char default_ipc[128];
  const char *ipc = NULL, *threads = "1,4", *heaps = "cold,warm";
  long calls = 200000, warmup = 20000, msg_size = 100, buffer = 4194304, flush_ms = 0;
  int c;

  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    int bad = 0;
    switch (c) {
    case 'i': ipc = optarg; break;
    case 't': threads = optarg; break;
    case 'H': heaps = optarg; break;
    case 'n': bad = parse_long(optarg, 1, 100000000L, &calls); break;
    case 'w': bad = parse_long(optarg, 0, 100000000L, &warmup); break;
    case 's': bad = parse_long(optarg, 1, MSG_MAX - 1, &msg_size); break;
    case 'b': bad = parse_long(optarg, 1, 1L << 30, &buffer); break;
    case 'f': bad = parse_long(optarg, 0, 3600000L, &flush_ms); break;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return 2;
    }
    if (bad) {
      fprintf(stderr, "bench_log_call: bad value for %s: %s\n", argv[optind - 1], optarg);
      return 2;
    }
  }
  if (optind != argc) {
    usage(stderr);
    return 2;
  }
  if (ipc == NULL) {
    snprintf(default_ipc, sizeof default_ipc, "ipc:///tmp/lsys-bench-nosidecar-%ld.sock",
             (long)getpid());
    ipc = default_ipc;
  }

  int counts[16], ncounts = 0;
  for (const char *p = threads; *p;) {
    char *end = NULL;
    long v = strtol(p, &end, 10);
    if (end == p || v < 1 || v > MAX_THREADS || ncounts == 16 || (*end != ',' && *end != '\0')) {
      fprintf(stderr, "bench_log_call: --threads wants a list like 1,4 (each 1..%d)\n", MAX_THREADS);
      return 2;
    }
    counts[ncounts++] = (int)v;
    p = *end == ',' ? end + 1 : end;
  }
  int modes[2], nmodes = 0;
  if (strcmp(heaps, "cold") == 0) {
    modes[nmodes++] = 0;
  } else if (strcmp(heaps, "warm") == 0) {
    modes[nmodes++] = 1;
  } else if (strcmp(heaps, "cold,warm") == 0) {
    modes[nmodes++] = 0;
    modes[nmodes++] = 1;
  } else {
    fprintf(stderr, "bench_log_call: --heap wants cold, warm or cold,warm\n");
    return 2;
  }
  for (int i = 0; i < ncounts; i++) {
    long need = (long)counts[i] * (calls + warmup);
    if (need > buffer)
      fprintf(stderr,
              "bench_log_call: warning: %d threads x %ld calls = %ld records > --buffer %ld; "
              "without a fast sidecar records will drop\n",
              counts[i], calls + warmup, need, buffer);
  }

  uint32_t timer_ns = timer_overhead_ns();
  printf("bench_log_call: ipc %s, buffer %ld records, timer overhead (median of a clock pair) "
         "%u ns\n",
         ipc, buffer, timer_ns);
  fflush(stdout);
  int status = 0;
  for (int i = 0; i < ncounts; i++) {
    for (int m = 0; m < nmodes; m++) {
      /* A fresh process per phase: no phase inherits another's heap or threads. */
      pid_t pid = fork();
      if (pid < 0) {
        perror("bench_log_call: fork");
        return 1;
      }
      if (pid == 0) {
        int rc = run_phase(ipc, counts[i], modes[m], calls, warmup, (size_t)msg_size, buffer,
                           flush_ms, timer_ns);
        fflush(stdout);
        _exit(rc);
      }
      int ws = 0;
      if (waitpid(pid, &ws, 0) < 0) {
        perror("bench_log_call: waitpid");
        return 1;
      }
      int rc = WIFEXITED(ws) ? WEXITSTATUS(ws) : 1;
      if (rc == 1) {
        fprintf(stderr, "bench_log_call: phase threads=%d heap=%s failed\n", counts[i],
                modes[m] ? "warm" : "cold");
        return 1;
      }
      if (rc > status)
        status = rc;
    }
  }
  return status;
}
