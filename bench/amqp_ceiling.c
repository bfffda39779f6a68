/* amqp_ceiling.c - bench_amqp_ceiling: the broker's own ceiling for what logsysd does.
 *
 *   bench_amqp_ceiling --url URL [--queue Q] [--count N] [--size B] [--window W]
 *   bench_amqp_ceiling --url URL --queue Q --peek
 *
 * A raw librabbitmq-c publisher (the same lsys_amqp session logsysd uses, with
 * publisher confirms on) publishes N persistent messages of B bytes with a
 * message_id to one durable queue through the default exchange, keeping at most
 * W messages unconfirmed, and counts basic.ack frames honouring "multiple". It
 * prints messages/s from the first publish to the last confirm, and one
 * machine-readable line:
 *   amqp_ceiling count=N size=B window=W seconds=S msgs_per_s=R acked=N nacked=N
 *
 * --peek gets one message from Q (basic.get, not acknowledged, so it stays in
 * the queue), prints its body size in bytes (one line: "peek_bytes=B") and exits:
 * run.sh uses it to learn the size of a real logbeacon body.
 *
 * Exit 0 when all N were acknowledged; 1 on an error or a nack; 2 usage. */
#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "amqp_session.h"
#include "errors.h"

/* window_state tracks unconfirmed delivery tags in [low, next). slot[t % cap]
 * holds t while t is unconfirmed, 0 once confirmed. */
struct window_state {
  uint64_t *slot;
  uint64_t cap;
  uint64_t low;  /* lowest tag not yet known to be confirmed */
  uint64_t next; /* tag of the next publish */
  uint64_t acked;
  uint64_t nacked;
  uint64_t ack_frames;
};

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* settle marks tag confirmed (ack or nack) if it is still outstanding. */
static void settle(struct window_state *w, uint64_t tag, int ack) {
  if (tag < w->low || tag >= w->next || w->slot[tag % w->cap] != tag)
    return;
  w->slot[tag % w->cap] = 0;
  if (ack)
    w->acked++;
  else
    w->nacked++;
}

/* on_confirm is the lsys_amqp_confirm_fn: a multiple confirm covers every
 * outstanding tag up to and including tag. */
static void on_confirm(void *arg, uint64_t tag, int multiple, int ack) {
  struct window_state *w = arg;
  w->ack_frames++;
  if (multiple) {
    uint64_t end = tag < w->next ? tag : w->next - 1;
    for (uint64_t t = w->low; t <= end; t++)
      settle(w, t, ack);
  } else {
    settle(w, tag, ack);
  }
  while (w->low < w->next && w->slot[w->low % w->cap] == 0)
    w->low++;
}

static uint64_t outstanding(const struct window_state *w) {
  return w->next - w->low; /* upper bound: holes above low are already settled */
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

/* peek prints the body size of the first message in queue; returns 0 or 1. */
static int peek(const char *url, const char *queue) {
  struct amqp_connection_info ci;
  char *copy = strdup(url);
  amqp_connection_state_t conn = NULL;
  int rc = 1, opened = 0;

  if (copy == NULL || amqp_parse_url(copy, &ci) != AMQP_STATUS_OK) {
    fprintf(stderr, "bench_amqp_ceiling: bad --url\n");
    goto out;
  }
  conn = amqp_new_connection();
  amqp_socket_t *sock = conn != NULL ? amqp_tcp_socket_new(conn) : NULL;
  if (sock == NULL || amqp_socket_open(sock, ci.host, ci.port) != AMQP_STATUS_OK) {
    fprintf(stderr, "bench_amqp_ceiling: cannot connect to %s:%d\n", ci.host, ci.port);
    goto out;
  }
  amqp_rpc_reply_t r = amqp_login(conn, ci.vhost, 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, ci.user,
                                  ci.password);
  if (r.reply_type != AMQP_RESPONSE_NORMAL) {
    fprintf(stderr, "bench_amqp_ceiling: login failed\n");
    goto out;
  }
  amqp_channel_open(conn, 1);
  if (amqp_get_rpc_reply(conn).reply_type != AMQP_RESPONSE_NORMAL) {
    fprintf(stderr, "bench_amqp_ceiling: channel.open failed\n");
    goto out;
  }
  opened = 1;
  r = amqp_basic_get(conn, 1, amqp_cstring_bytes(queue), 0);
  if (r.reply_type != AMQP_RESPONSE_NORMAL) {
    fprintf(stderr, "bench_amqp_ceiling: basic.get %s failed (does the queue exist?)\n", queue);
    opened = 0;
    goto out;
  }
  if (r.reply.id != AMQP_BASIC_GET_OK_METHOD) {
    fprintf(stderr, "bench_amqp_ceiling: queue %s is empty\n", queue);
    goto out;
  }
  amqp_message_t msg;
  r = amqp_read_message(conn, 1, &msg, 0);
  if (r.reply_type != AMQP_RESPONSE_NORMAL) {
    fprintf(stderr, "bench_amqp_ceiling: reading the message failed\n");
    opened = 0;
    goto out;
  }
  printf("peek_bytes=%zu\n", msg.body.len);
  if (getenv("LSYS_BENCH_PEEK_SHOW") != NULL)
    fprintf(stderr, "%.*s\n", (int)msg.body.len, (const char *)msg.body.bytes);
  amqp_destroy_message(&msg);
  rc = 0;

out:
  if (conn != NULL) {
    if (opened) {
      /* Closing the channel returns the unacknowledged message to the queue. */
      amqp_channel_close(conn, 1, AMQP_REPLY_SUCCESS);
      amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
    }
    amqp_destroy_connection(conn);
  }
  free(copy);
  return rc;
}

static void usage(FILE *fp) {
  fprintf(fp,
          "usage: bench_amqp_ceiling --url URL [--queue Q] [--count N] [--size B] [--window W]\n"
          "       bench_amqp_ceiling --url URL --queue Q --peek\n"
          "Publishes N persistent B-byte messages to durable queue Q with publisher confirms,\n"
          "at most W unconfirmed; prints messages/s.\n"
          "Defaults: --queue bench_ceiling --count 100000 --size 400 --window 4096\n");
}

int main(int argc, char **argv) {
  static const struct option opts[] = {
      {"url", required_argument, NULL, 'u'},   {"queue", required_argument, NULL, 'q'},
      {"count", required_argument, NULL, 'n'}, {"size", required_argument, NULL, 's'},
      {"window", required_argument, NULL, 'w'}, {"peek", no_argument, NULL, 'p'},
      {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
  };
  const char *url = NULL, *queue = "bench_ceiling";
  long count = 100000, size = 400, window = 4096;
  int c, do_peek = 0;

  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    int bad = 0;
    switch (c) {
    case 'u': url = optarg; break;
    case 'q': queue = optarg; break;
    case 'n': bad = parse_long(optarg, 1, 1000000000L, &count); break;
    case 's': bad = parse_long(optarg, 1, 64L << 20, &size); break;
    case 'w': bad = parse_long(optarg, 1, 1L << 24, &window); break;
    case 'p': do_peek = 1; break;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return 2;
    }
    if (bad) {
      fprintf(stderr, "bench_amqp_ceiling: bad value for %s: %s\n", argv[optind - 1], optarg);
      return 2;
    }
  }
  if (optind != argc || url == NULL) {
    usage(stderr);
    return 2;
  }
  if (do_peek)
    return peek(url, queue);

  /* A JSON-looking body of exactly size bytes: {"m":"xxx..."} (or x's if tiny). */
  char *body = malloc((size_t)size + 1);
  struct window_state w;
  memset(&w, 0, sizeof w);
  w.cap = (uint64_t)window + 1;
  w.slot = calloc(w.cap, sizeof *w.slot);
  if (body == NULL || w.slot == NULL) {
    fprintf(stderr, "bench_amqp_ceiling: out of memory\n");
    return 1;
  }
  memset(body, 'x', (size_t)size);
  if (size >= 8) {
    memcpy(body, "{\"m\":\"", 6);
    memcpy(body + size - 2, "\"}", 2);
  }
  body[size] = '\0';

  char err[512];
  lsys_amqp *s = NULL;
  int rv = lsys_amqp_connect(&s, url, 60, 1, err, sizeof err);
  if (rv != LSYS_OK) {
    fprintf(stderr, "bench_amqp_ceiling: %s\n", err);
    return 1;
  }
  if (lsys_amqp_declare_queue(s, queue, err, sizeof err) != LSYS_OK) {
    fprintf(stderr, "bench_amqp_ceiling: %s\n", err);
    lsys_amqp_destroy(s);
    return 1;
  }
  w.low = w.next = 1;

  int status = 0;
  char msgid[40];
  uint64_t prefix = (uint64_t)time(NULL) * 2654435761u;
  double t0 = now_s();
  for (long i = 0; i < count; i++) {
    while (outstanding(&w) >= (uint64_t)window) {
      if (lsys_amqp_poll(s, 100, on_confirm, &w) != LSYS_OK) {
        fprintf(stderr, "bench_amqp_ceiling: connection lost after %ld publishes\n", i);
        status = 1;
        goto done;
      }
    }
    snprintf(msgid, sizeof msgid, "%016" PRIx64 "%016" PRIx64, prefix, (uint64_t)i);
    uint64_t tag = 0;
    if (lsys_amqp_publish(s, queue, body, (size_t)size, msgid, &tag) != LSYS_OK) {
      fprintf(stderr, "bench_amqp_ceiling: publish failed after %ld publishes\n", i);
      status = 1;
      goto done;
    }
    if (tag != w.next) {
      fprintf(stderr, "bench_amqp_ceiling: unexpected delivery tag %" PRIu64 " (want %" PRIu64 ")\n",
              tag, w.next);
      status = 1;
      goto done;
    }
    w.slot[tag % w.cap] = tag;
    w.next++;
    /* Pick up confirms already here without waiting. */
    if (lsys_amqp_poll(s, 0, on_confirm, &w) != LSYS_OK) {
      fprintf(stderr, "bench_amqp_ceiling: connection lost after %ld publishes\n", i + 1);
      status = 1;
      goto done;
    }
  }
  while (w.low < w.next) {
    if (now_s() - t0 > 600) {
      fprintf(stderr, "bench_amqp_ceiling: gave up waiting for confirms\n");
      status = 1;
      goto done;
    }
    if (lsys_amqp_poll(s, 100, on_confirm, &w) != LSYS_OK) {
      fprintf(stderr, "bench_amqp_ceiling: connection lost while waiting for confirms\n");
      status = 1;
      goto done;
    }
  }

done:;
  double secs = now_s() - t0;
  double rate = secs > 0 ? (double)w.acked / secs : 0;
  printf("amqp ceiling: %" PRIu64 " of %ld persistent %ld-byte messages confirmed in %.3f s = "
         "%.0f msgs/s (window %ld, %" PRIu64 " confirm frames, %" PRIu64 " nacked)\n",
         w.acked, count, size, secs, rate, window, w.ack_frames, w.nacked);
  printf("amqp_ceiling count=%ld size=%ld window=%ld seconds=%.3f msgs_per_s=%.0f acked=%" PRIu64
         " nacked=%" PRIu64 " confirm_frames=%" PRIu64 "\n",
         count, size, window, secs, rate, w.acked, w.nacked, w.ack_frames);
  fflush(stdout);
  if (w.nacked > 0 || w.acked != (uint64_t)count)
    status = 1;
  lsys_amqp_destroy(s);
  free(w.slot);
  free(body);
  return status;
}
