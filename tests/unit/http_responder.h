/* http_responder.h - a tiny scripted HTTP/1.1 server on 127.0.0.1 for unit
 * tests of the deliverer (included by *_test.c; all functions static).
 *
 * Each request is recorded (arrival time, path, Content-Type, body, which
 * connection) and answered with the next scripted reply, or the default one.
 * A reply may stall first (to provoke client timeouts) or close without an
 * answer. Connections are kept alive. Tests wait for conditions with
 * deadlines (hr_wait), never with sleeps. */
#ifndef LSYS_TEST_HTTP_RESPONDER_H
#define LSYS_TEST_HTTP_RESPONDER_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Every function is static; a test uses only some of them. */
#define HR_FN static __attribute__((unused))

#define HR_MAX_REQ 256
#define HR_MAX_SCRIPT 64
#define HR_MAX_CONN 64

typedef struct hr_reply {
  int status;   /* 0: close the connection without answering */
  int stall_ms; /* wait this long before answering (ends early on hr_stop) */
  char body[1024];
  char headers[256]; /* extra header lines, each ending in \r\n */
} hr_reply;

typedef struct hr_request {
  int64_t t_ms; /* arrival, monotonic clock */
  char path[512];
  char ctype[64];
  char *body; /* NUL-terminated; valid until hr_stop */
  size_t body_len;
  int conn; /* connection number, from 0 */
  int status;
} hr_request;

typedef struct hr {
  int lfd, port;
  pthread_t acceptor;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  atomic_int stop;
  hr_request req[HR_MAX_REQ];
  int nreq;
  hr_reply script[HR_MAX_SCRIPT];
  int nscript, script_next;
  hr_reply def;
  pthread_t conn_thr[HR_MAX_CONN];
  int conn_fd[HR_MAX_CONN];
  int nconn;
  int active, max_active; /* requests being answered now / at most */
} hr;

typedef struct hr_conn_arg {
  hr *h;
  int fd, id;
} hr_conn_arg;

HR_FN int64_t hr_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* hr_read_some appends what fd has to *buf; 0 when closed or stopping. */
HR_FN int hr_read_some(hr *h, int fd, char **buf, size_t *len, size_t *cap) {
  for (;;) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (atomic_load(&h->stop))
      return 0;
    if (poll(&p, 1, 20) <= 0)
      continue;
    if (*cap - *len < 4096) {
      *cap = *cap * 2 + 8192;
      *buf = realloc(*buf, *cap);
      if (*buf == NULL)
        return 0;
    }
    ssize_t n = read(fd, *buf + *len, *cap - *len - 1);
    if (n <= 0)
      return 0;
    *len += (size_t)n;
    (*buf)[*len] = '\0';
    return 1;
  }
}

/* hr_header copies the value of header name (lower case, with ':') found in
 * the head into out. */
HR_FN void hr_header(const char *head, size_t head_len, const char *name, char *out, size_t outlen) {
  size_t k = strlen(name);
  out[0] = '\0';
  for (size_t i = 0; i + k < head_len; i++) {
    if ((i == 0 || head[i - 1] == '\n') && strncasecmp(head + i, name, k) == 0) {
      const char *v = head + i + k;
      while (*v == ' ')
        v++;
      size_t n = strcspn(v, "\r\n");
      snprintf(out, outlen, "%.*s", (int)n, v);
      return;
    }
  }
}

HR_FN void *hr_conn_main(void *arg) {
  hr_conn_arg a = *(hr_conn_arg *)arg;
  hr *h = a.h;
  char *buf = NULL, clen_text[32], out[2048];
  size_t len = 0, cap = 0;

  free(arg);
  for (;;) {
    char *end;
    while (buf == NULL || (end = strstr(buf, "\r\n\r\n")) == NULL) {
      if (!hr_read_some(h, a.fd, &buf, &len, &cap))
        goto out;
    }
    size_t head_len = (size_t)(end - buf) + 4;
    hr_header(buf, head_len, "content-length:", clen_text, sizeof clen_text);
    size_t clen = (size_t)strtoul(clen_text, NULL, 10);
    while (len < head_len + clen) {
      if (!hr_read_some(h, a.fd, &buf, &len, &cap))
        goto out;
    }
    hr_reply rep;
    pthread_mutex_lock(&h->mu);
    rep = h->script_next < h->nscript ? h->script[h->script_next++] : h->def;
    if (h->nreq < HR_MAX_REQ) {
      hr_request *r = &h->req[h->nreq++];
      memset(r, 0, sizeof *r);
      r->t_ms = hr_now_ms();
      sscanf(buf, "%*s %511s", r->path);
      hr_header(buf, head_len, "content-type:", r->ctype, sizeof r->ctype);
      r->body = malloc(clen + 1);
      memcpy(r->body, buf + head_len, clen);
      r->body[clen] = '\0';
      r->body_len = clen;
      r->conn = a.id;
      r->status = rep.status;
    }
    if (++h->active > h->max_active)
      h->max_active = h->active;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);

    for (int64_t until = hr_now_ms() + rep.stall_ms; hr_now_ms() < until && !atomic_load(&h->stop);) {
      struct timespec ts = {0, 5 * 1000000};
      nanosleep(&ts, NULL);
    }
    int ok = rep.status != 0 && !atomic_load(&h->stop);
    if (ok) {
      int n = snprintf(out, sizeof out,
                       "HTTP/1.1 %d Scripted\r\nContent-Type: application/json\r\n"
                       "Content-Length: %zu\r\n%s\r\n%s",
                       rep.status, strlen(rep.body), rep.headers, rep.body);
      ok = write(a.fd, out, (size_t)n) == n;
    }
    pthread_mutex_lock(&h->mu);
    h->active--;
    pthread_mutex_unlock(&h->mu);
    if (!ok)
      goto out;
    memmove(buf, buf + head_len + clen, len - head_len - clen + 1);
    len -= head_len + clen;
  }
out:
  free(buf);
  shutdown(a.fd, SHUT_RDWR);
  return NULL;
}

HR_FN void *hr_accept_main(void *arg) {
  hr *h = arg;
  while (!atomic_load(&h->stop)) {
    struct pollfd p = {.fd = h->lfd, .events = POLLIN};
    if (poll(&p, 1, 20) <= 0)
      continue;
    int fd = accept(h->lfd, NULL, NULL);
    if (fd < 0)
      continue;
    pthread_mutex_lock(&h->mu);
    if (h->nconn == HR_MAX_CONN) {
      pthread_mutex_unlock(&h->mu);
      close(fd);
      continue;
    }
    hr_conn_arg *a = malloc(sizeof *a);
    a->h = h;
    a->fd = fd;
    a->id = h->nconn;
    h->conn_fd[h->nconn] = fd;
    pthread_create(&h->conn_thr[h->nconn], NULL, hr_conn_main, a);
    h->nconn++;
    pthread_mutex_unlock(&h->mu);
  }
  return NULL;
}

/* hr_start listens on 127.0.0.1 (a free port, in h->port); default reply 200 {"ok":true}. */
HR_FN void hr_start(hr *h) {
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t sl = sizeof sa;
  memset(h, 0, sizeof *h);
  pthread_mutex_init(&h->mu, NULL);
  pthread_cond_init(&h->cv, NULL);
  h->def.status = 200;
  strcpy(h->def.body, "{\"ok\":true}");
  h->lfd = socket(AF_INET, SOCK_STREAM, 0);
  if (h->lfd < 0 || bind(h->lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(h->lfd, 64) != 0 ||
      getsockname(h->lfd, (struct sockaddr *)&sa, &sl) != 0) {
    fprintf(stderr, "hr_start: cannot listen\n");
    abort();
  }
  h->port = ntohs(sa.sin_port);
  pthread_create(&h->acceptor, NULL, hr_accept_main, h);
}

/* hr_stop ends every connection and thread and frees what was recorded. */
HR_FN void hr_stop(hr *h) {
  atomic_store(&h->stop, 1);
  pthread_join(h->acceptor, NULL);
  for (int i = 0; i < h->nconn; i++) {
    pthread_join(h->conn_thr[i], NULL);
    close(h->conn_fd[i]);
  }
  close(h->lfd);
  for (int i = 0; i < h->nreq; i++)
    free(h->req[i].body);
  pthread_mutex_destroy(&h->mu);
  pthread_cond_destroy(&h->cv);
}

HR_FN hr_reply hr_make(int status, const char *body, int stall_ms, const char *headers) {
  hr_reply r;
  memset(&r, 0, sizeof r);
  r.status = status;
  r.stall_ms = stall_ms;
  snprintf(r.body, sizeof r.body, "%s", body ? body : "");
  snprintf(r.headers, sizeof r.headers, "%s", headers ? headers : "");
  return r;
}

/* hr_push adds a scripted reply (used in order, before the default). */
HR_FN void hr_push(hr *h, int status, const char *body, int stall_ms, const char *headers) {
  pthread_mutex_lock(&h->mu);
  if (h->nscript < HR_MAX_SCRIPT)
    h->script[h->nscript++] = hr_make(status, body, stall_ms, headers);
  pthread_mutex_unlock(&h->mu);
}

HR_FN void hr_set_default(hr *h, int status, const char *body, int stall_ms) {
  pthread_mutex_lock(&h->mu);
  h->def = hr_make(status, body, stall_ms, NULL);
  pthread_mutex_unlock(&h->mu);
}

/* hr_wait waits until n requests arrived or timeout_ms passed; returns the count. */
HR_FN int hr_wait(hr *h, int n, int timeout_ms) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += timeout_ms / 1000;
  until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
  if (until.tv_nsec >= 1000000000) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000;
  }
  pthread_mutex_lock(&h->mu);
  while (h->nreq < n && pthread_cond_timedwait(&h->cv, &h->mu, &until) == 0)
    ;
  int got = h->nreq;
  pthread_mutex_unlock(&h->mu);
  return got;
}

/* hr_get returns a copy of request i (its body stays owned by h). */
HR_FN hr_request hr_get(hr *h, int i) {
  pthread_mutex_lock(&h->mu);
  hr_request r = h->req[i];
  pthread_mutex_unlock(&h->mu);
  return r;
}

/* hr_closed_port returns a local TCP port nothing listens on. */
HR_FN int hr_closed_port(void) {
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t sl = sizeof sa;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
      getsockname(fd, (struct sockaddr *)&sa, &sl) != 0)
    abort();
  close(fd);
  return ntohs(sa.sin_port);
}

#endif
