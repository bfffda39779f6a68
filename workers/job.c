/* job.c - jobs and their intrusive FIFO lists. */
#include "job.h"

#include <stdlib.h>
#include <string.h>

#include "errors.h"

int lsys_job_create(lsys_job **out, lsys_amqp_msg *m, unsigned epoch) {
  lsys_job *j = calloc(1, sizeof *j);
  if (!j)
    return LSYS_ENOMEM;
  j->msg = m;
  j->epoch = epoch;
  j->attempt = 1;
  *out = j;
  return LSYS_OK;
}

void lsys_job_free(lsys_job *j) {
  if (!j)
    return;
  lsys_amqp_msg_free(j->msg);
  free(j);
}

void lsys_job_push(lsys_job_list *l, lsys_job *j) {
  j->next = NULL;
  j->prev = l->tail;
  if (l->tail)
    l->tail->next = j;
  else
    l->head = j;
  l->tail = j;
  l->n++;
}

void lsys_job_push_front(lsys_job_list *l, lsys_job *j) {
  j->prev = NULL;
  j->next = l->head;
  if (l->head)
    l->head->prev = j;
  else
    l->tail = j;
  l->head = j;
  l->n++;
}

void lsys_job_remove(lsys_job_list *l, lsys_job *j) {
  if (j->prev)
    j->prev->next = j->next;
  else
    l->head = j->next;
  if (j->next)
    j->next->prev = j->prev;
  else
    l->tail = j->prev;
  j->prev = j->next = NULL;
  l->n--;
}

lsys_job *lsys_job_pop(lsys_job_list *l) {
  lsys_job *j = l->head;
  if (j)
    lsys_job_remove(l, j);
  return j;
}

lsys_job *lsys_job_find_key(const lsys_job_list *l, const char *key) {
  for (lsys_job *j = l->head; j; j = j->next)
    if (j->has_key && strcmp(j->key, key) == 0)
      return j;
  return NULL;
}

void lsys_job_free_all(lsys_job_list *l) {
  lsys_job *j;
  while ((j = lsys_job_pop(l)) != NULL)
    lsys_job_free(j);
}
