/* tg_collapse.c - the table of notification keys and their held messages
 * (see tg_collapse.h): a chained hash table of groups, one per key. */
#include "tg_collapse.h"

#include <stdlib.h>
#include <string.h>

#include "errors.h"

typedef struct group {
  struct group *next; /* bucket chain */
  char *key;
  uint64_t hash;
  int64_t last_sent;  /* start of the key's last send, when has_sent */
  int has_sent;
  int leader_waiting; /* a leader was admitted and has not started */
  int summary_queued; /* the owner queued a summary, not started yet */
  int due_now;        /* over the bound, or the last send failed */
  void **items;       /* held messages, in arrival order */
  size_t n, cap;
} group;

struct lsys_tg_collapse {
  int64_t window_ms;
  size_t max_held;
  size_t held;     /* sum of n over all groups */
  size_t groups;   /* number of groups */
  size_t nbuckets; /* power of two */
  group **buckets;
};

static uint64_t hash_key(const char *key) {
  uint64_t h = UINT64_C(14695981039346656037);
  for (const unsigned char *p = (const unsigned char *)key; *p; p++)
    h = (h ^ *p) * UINT64_C(1099511628211);
  return h;
}

int lsys_tg_collapse_create(lsys_tg_collapse **out, int64_t window_ms, size_t max_held) {
  lsys_tg_collapse *c;

  if (out == NULL || window_ms <= 0 || max_held == 0)
    return LSYS_EINVAL;
  if ((c = calloc(1, sizeof *c)) == NULL)
    return LSYS_ENOMEM;
  c->window_ms = window_ms;
  c->max_held = max_held;
  c->nbuckets = 64;
  if ((c->buckets = calloc(c->nbuckets, sizeof *c->buckets)) == NULL) {
    free(c);
    return LSYS_ENOMEM;
  }
  *out = c;
  return LSYS_OK;
}

static void group_free(group *g) {
  free(g->key);
  free(g->items);
  free(g);
}

void lsys_tg_collapse_destroy(lsys_tg_collapse *c) {
  if (c == NULL)
    return;
  for (size_t b = 0; b < c->nbuckets; b++) {
    while (c->buckets[b] != NULL) {
      group *g = c->buckets[b];
      c->buckets[b] = g->next;
      group_free(g);
    }
  }
  free(c->buckets);
  free(c);
}

static group *find(const lsys_tg_collapse *c, const char *key) {
  uint64_t h = hash_key(key);
  for (group *g = c->buckets[h & (c->nbuckets - 1)]; g != NULL; g = g->next) {
    if (g->hash == h && strcmp(g->key, key) == 0)
      return g;
  }
  return NULL;
}

/* grow doubles the bucket array when there are more groups than buckets;
 * failing to grow only makes chains longer. */
static void grow(lsys_tg_collapse *c) {
  size_t nb = c->nbuckets * 2;
  group **b = calloc(nb, sizeof *b);

  if (b == NULL)
    return;
  for (size_t i = 0; i < c->nbuckets; i++) {
    while (c->buckets[i] != NULL) {
      group *g = c->buckets[i];
      c->buckets[i] = g->next;
      g->next = b[g->hash & (nb - 1)];
      b[g->hash & (nb - 1)] = g;
    }
  }
  free(c->buckets);
  c->buckets = b;
  c->nbuckets = nb;
}

static group *add(lsys_tg_collapse *c, const char *key) {
  group *g = calloc(1, sizeof *g);

  if (g == NULL || (g->key = strdup(key)) == NULL) {
    free(g);
    return NULL;
  }
  if (c->groups >= c->nbuckets)
    grow(c);
  g->hash = hash_key(key);
  g->next = c->buckets[g->hash & (c->nbuckets - 1)];
  c->buckets[g->hash & (c->nbuckets - 1)] = g;
  c->groups++;
  return g;
}

/* hold appends item to g; returns 0 when out of memory. */
static int hold(lsys_tg_collapse *c, group *g, void *item) {
  if (g->n == g->cap) {
    size_t ncap = g->cap ? g->cap * 2 : 4;
    void **grown = realloc(g->items, ncap * sizeof *grown);
    if (grown == NULL)
      return 0;
    g->items = grown;
    g->cap = ncap;
  }
  g->items[g->n++] = item;
  c->held++;
  if (c->held >= c->max_held)
    g->due_now = 1;
  return 1;
}

int lsys_tg_collapse_admit(lsys_tg_collapse *c, const char *key, int64_t now_ms, void *item) {
  group *g = find(c, key);

  if (g == NULL) {
    if ((g = add(c, key)) != NULL)
      g->leader_waiting = 1;
    return LSYS_TG_COLLAPSE_SEND;
  }
  if (g->n > 0 || g->summary_queued || g->leader_waiting ||
      (g->has_sent && now_ms - g->last_sent < c->window_ms)) {
    if (hold(c, g, item))
      return LSYS_TG_COLLAPSE_HOLD;
    return LSYS_TG_COLLAPSE_SEND; /* out of memory: send it rather than lose it */
  }
  g->leader_waiting = 1;
  return LSYS_TG_COLLAPSE_SEND;
}

void lsys_tg_collapse_started(lsys_tg_collapse *c, const char *key, int64_t now_ms) {
  group *g = find(c, key);

  if (g == NULL && (g = add(c, key)) == NULL)
    return;
  g->last_sent = now_ms;
  g->has_sent = 1;
  g->leader_waiting = 0;
}

void lsys_tg_collapse_failed(lsys_tg_collapse *c, const char *key) {
  group *g = find(c, key);

  if (g == NULL)
    return;
  g->has_sent = 0;
  g->leader_waiting = 0;
  g->due_now = 1;
}

/* ready reports whether g's held messages may be summarised (ignoring time). */
static int ready(const group *g) {
  return g->n > 0 && !g->summary_queued && !g->leader_waiting;
}

/* due_at returns when a ready group g becomes due. */
static int64_t due_at(const lsys_tg_collapse *c, const group *g, int64_t now_ms) {
  if (g->due_now || !g->has_sent)
    return now_ms;
  return g->last_sent + c->window_ms;
}

/* idle reports whether g holds nothing and no longer limits its key. */
static int idle(const lsys_tg_collapse *c, const group *g, int64_t now_ms) {
  return g->n == 0 && !g->summary_queued && !g->leader_waiting &&
         (!g->has_sent || now_ms - g->last_sent >= c->window_ms);
}

int lsys_tg_collapse_due(lsys_tg_collapse *c, int64_t now_ms, const char **key, void **first) {
  for (size_t b = 0; b < c->nbuckets; b++) {
    group **link = &c->buckets[b];
    while (*link != NULL) {
      group *g = *link;
      if (idle(c, g, now_ms)) {
        *link = g->next;
        c->groups--;
        group_free(g);
        continue;
      }
      if (ready(g) && due_at(c, g, now_ms) <= now_ms) {
        g->summary_queued = 1;
        *key = g->key;
        *first = g->items[0];
        return 1;
      }
      link = &g->next;
    }
  }
  return 0;
}

size_t lsys_tg_collapse_take(lsys_tg_collapse *c, const char *key, int64_t now_ms, void ***items,
                             unsigned *span_s) {
  group *g = find(c, key);
  size_t n;
  int64_t span_ms = c->window_ms;

  *items = NULL;
  if (g != NULL && g->has_sent && now_ms > g->last_sent)
    span_ms = now_ms - g->last_sent;
  *span_s = (unsigned)((span_ms + 500) / 1000); /* nearest second, at least 1 */
  if (*span_s == 0)
    *span_s = 1;
  if (g == NULL || g->n == 0)
    return 0;
  *items = g->items;
  n = g->n;
  c->held -= n;
  g->items = NULL;
  g->n = g->cap = 0;
  g->summary_queued = 0;
  g->due_now = 0;
  return n;
}

int64_t lsys_tg_collapse_next_due(const lsys_tg_collapse *c, int64_t now_ms) {
  int64_t next = INT64_MAX;

  for (size_t b = 0; b < c->nbuckets; b++) {
    for (const group *g = c->buckets[b]; g != NULL; g = g->next) {
      if (ready(g) && due_at(c, g, now_ms) < next)
        next = due_at(c, g, now_ms);
    }
  }
  return next;
}

size_t lsys_tg_collapse_held(const lsys_tg_collapse *c) {
  return c->held;
}

void lsys_tg_collapse_drain(lsys_tg_collapse *c, void (*fn)(void *arg, void *item), void *arg) {
  for (size_t b = 0; b < c->nbuckets; b++) {
    while (c->buckets[b] != NULL) {
      group *g = c->buckets[b];
      c->buckets[b] = g->next;
      for (size_t i = 0; i < g->n; i++)
        fn(arg, g->items[i]);
      c->held -= g->n;
      c->groups--;
      group_free(g);
    }
  }
}
