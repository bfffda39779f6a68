/* jobqueue.c - bounded FIFO with a timed blocking pop (mutex + condvar). */
#include "jobqueue.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "errors.h"

struct lsys_jobq {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  void **items;
  size_t cap, head, len;
};

int lsys_jobq_create(lsys_jobq **out, size_t capacity) {
  lsys_jobq *q = calloc(1, sizeof *q);
  pthread_condattr_t ca;
  if (!q)
    return LSYS_ENOMEM;
  q->items = calloc(capacity ? capacity : 1, sizeof *q->items);
  if (!q->items) {
    free(q);
    return LSYS_ENOMEM;
  }
  q->cap = capacity ? capacity : 1;
  pthread_mutex_init(&q->mu, NULL);
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&q->cv, &ca);
  pthread_condattr_destroy(&ca);
  *out = q;
  return LSYS_OK;
}

int lsys_jobq_push(lsys_jobq *q, void *item) {
  int rc = LSYS_OK;
  pthread_mutex_lock(&q->mu);
  if (q->len == q->cap) {
    rc = LSYS_EFULL;
  } else {
    q->items[(q->head + q->len) % q->cap] = item;
    q->len++;
    pthread_cond_signal(&q->cv);
  }
  pthread_mutex_unlock(&q->mu);
  return rc;
}

int lsys_jobq_pop(lsys_jobq *q, void **item, int timeout_ms) {
  struct timespec dl;
  int rc = LSYS_OK;

  clock_gettime(CLOCK_MONOTONIC, &dl);
  dl.tv_sec += timeout_ms / 1000;
  dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
  if (dl.tv_nsec >= 1000000000L) {
    dl.tv_sec++;
    dl.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&q->mu);
  while (q->len == 0 && timeout_ms > 0) {
    if (pthread_cond_timedwait(&q->cv, &q->mu, &dl) == ETIMEDOUT)
      break;
  }
  if (q->len == 0) {
    rc = LSYS_ETIMEDOUT;
  } else {
    *item = q->items[q->head];
    q->head = (q->head + 1) % q->cap;
    q->len--;
  }
  pthread_mutex_unlock(&q->mu);
  return rc;
}

size_t lsys_jobq_len(lsys_jobq *q) {
  pthread_mutex_lock(&q->mu);
  size_t n = q->len;
  pthread_mutex_unlock(&q->mu);
  return n;
}

void lsys_jobq_destroy(lsys_jobq *q) {
  if (!q)
    return;
  pthread_cond_destroy(&q->cv);
  pthread_mutex_destroy(&q->mu);
  free(q->items);
  free(q);
}
