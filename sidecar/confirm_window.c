/* confirm_window.c - a ring of unsettled delivery tags indexed by tag % size. */
#include "confirm_window.h"

#include <stdlib.h>

#include "errors.h"

typedef struct slot {
  void *owner;
  size_t item;
  int unsettled;
} slot;

struct lsys_confirms {
  slot *slots;
  size_t size;
  uint64_t base;    /* lowest tag not yet passed (all below are settled) */
  uint64_t next;    /* tag the next publish will get */
  size_t unsettled; /* tags in [base, next) still waiting */
};

int lsys_confirms_create(lsys_confirms **out, size_t size) {
  lsys_confirms *c = calloc(1, sizeof *c);
  if (!c || !(c->slots = calloc(size ? size : 1, sizeof *c->slots))) {
    free(c);
    return LSYS_ENOMEM;
  }
  c->size = size ? size : 1;
  lsys_confirms_reset(c);
  *out = c;
  return LSYS_OK;
}

void lsys_confirms_reset(lsys_confirms *c) {
  for (size_t i = 0; i < c->size; i++)
    c->slots[i].unsettled = 0;
  c->base = c->next = 1;
  c->unsettled = 0;
}

int lsys_confirms_full(const lsys_confirms *c) { return c->next - c->base >= c->size; }

size_t lsys_confirms_inflight(const lsys_confirms *c) { return c->unsettled; }

int lsys_confirms_add(lsys_confirms *c, uint64_t tag, void *owner, size_t item) {
  if (tag != c->next)
    return LSYS_EINVAL;
  if (lsys_confirms_full(c))
    return LSYS_EFULL;
  slot *s = &c->slots[tag % c->size];
  s->owner = owner;
  s->item = item;
  s->unsettled = 1;
  c->next++;
  c->unsettled++;
  return LSYS_OK;
}

/* settle_one settles tag if it is still waiting. */
static void settle_one(lsys_confirms *c, uint64_t tag, int ack, lsys_confirms_fn fn, void *arg) {
  slot *s = &c->slots[tag % c->size];
  if (!s->unsettled)
    return;
  s->unsettled = 0;
  c->unsettled--;
  fn(arg, s->owner, s->item, ack);
}

void lsys_confirms_settle(lsys_confirms *c, uint64_t tag, int multiple, int ack, lsys_confirms_fn fn,
                          void *arg) {
  if (tag >= c->next)
    return; /* not ours (or a broker bug): ignore */
  if (multiple) {
    for (uint64_t t = c->base; t <= tag; t++)
      settle_one(c, t, ack, fn, arg);
  } else if (tag >= c->base) {
    settle_one(c, tag, ack, fn, arg);
  }
  while (c->base < c->next && !c->slots[c->base % c->size].unsettled)
    c->base++;
}

void lsys_confirms_abandon(lsys_confirms *c, lsys_confirms_fn fn, void *arg) {
  for (uint64_t t = c->base; t < c->next; t++)
    settle_one(c, t, 0, fn, arg);
  lsys_confirms_reset(c);
}

void lsys_confirms_destroy(lsys_confirms *c) {
  if (!c)
    return;
  free(c->slots);
  free(c);
}
