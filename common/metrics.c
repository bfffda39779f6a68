/* metrics.c - the metrics registry and its Prometheus text rendering.
 *
 * The registry is a list of families (one per metric name), each a list of
 * series (one per label set). Series are allocated one by one and never move
 * or go away before the registry does, so a handle is a plain pointer into its
 * series and bumping it needs no lock. The mutex guards only the lists: it is
 * taken to register and to render.
 *
 * Doubles that threads update (gauges, histogram sums) live in atomic 64-bit
 * words holding their bit pattern and change through compare-and-swap. A
 * histogram keeps one non-cumulative counter per bucket and no separate count:
 * rendering sums the buckets, so the +Inf bucket always equals _count. */
#include "metrics.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"

#ifndef LOGSYS_VERSION
#define LOGSYS_VERSION "unknown"
#endif

#define MAX_BOUNDS 64 /* buckets per histogram, +Inf aside */

const double lsys_metrics_latency_bounds[LSYS_METRICS_LATENCY_BOUNDS_N] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

typedef enum kind { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM } kind;

static const char *const kind_names[] = {"counter", "gauge", "histogram"};

struct lsys_counter {
  _Atomic uint64_t value;
};

struct lsys_gauge {
  _Atomic uint64_t bits; /* the double value's bit pattern */
  lsys_gauge_fn fn;      /* set: a callback gauge, bits unused */
  void *arg;
};

struct lsys_histogram {
  size_t n;                  /* bounds, +Inf excluded */
  double *bounds;            /* n upper bounds, increasing */
  _Atomic uint64_t *buckets; /* n + 1 non-cumulative counts; the last is +Inf */
  _Atomic uint64_t sum_bits; /* the sum's bit pattern */
};

typedef struct series {
  struct series *next;
  char *labels; /* rendered and escaped: a="x",b="y"; "" when none */
  union {
    lsys_counter c;
    lsys_gauge g;
    lsys_histogram h;
  } u;
} series;

typedef struct family {
  struct family *next;
  char *name;
  char *help;
  kind kind;
  series *head;
  series **tail;
} family;

struct lsys_metrics {
  pthread_mutex_t mu; /* guards the lists and the first error */
  family *head;
  family **tail;
  int err;            /* first registration failure */
  char errmsg[200];
};

/* A growing output buffer; a failed allocation is remembered and checked once
 * at the end. */
typedef struct buf {
  char *p;
  size_t len, cap;
  int oom;
} buf;

static uint64_t to_bits(double d) {
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  return u;
}

static double from_bits(uint64_t u) {
  double d;
  memcpy(&d, &u, sizeof d);
  return d;
}

/* add_double adds v to the double stored in *bits, lock-free. */
static void add_double(_Atomic uint64_t *bits, double v) {
  uint64_t old = atomic_load_explicit(bits, memory_order_relaxed);
  while (!atomic_compare_exchange_weak_explicit(bits, &old, to_bits(from_bits(old) + v),
                                                memory_order_relaxed, memory_order_relaxed)) {
  }
}

/* reserve makes room for n more bytes plus a NUL in b. */
static int reserve(buf *b, size_t n) {
  if (b->oom)
    return -1;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + n + 1)
      cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->oom = 1;
      return -1;
    }
    b->p = p;
    b->cap = cap;
  }
  return 0;
}

static void put(buf *b, const char *s, size_t n) {
  if (reserve(b, n) != 0)
    return;
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void puts_(buf *b, const char *s) {
  put(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void putf(buf *b, const char *fmt, ...) {
  char small[128];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) {
    b->oom = 1;
    return;
  }
  if ((size_t)n < sizeof small) {
    put(b, small, (size_t)n);
    return;
  }
  if (reserve(b, (size_t)n) != 0)
    return;
  va_start(ap, fmt);
  vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

/* put_escaped writes s with backslash and newline escaped, and double quotes
 * too when quotes is set (label values; HELP text leaves them alone). */
static void put_escaped(buf *b, const char *s, int quotes) {
  for (; *s; s++) {
    if (*s == '\\')
      put(b, "\\\\", 2);
    else if (*s == '\n')
      put(b, "\\n", 2);
    else if (*s == '"' && quotes)
      put(b, "\\\"", 2);
    else
      put(b, s, 1);
  }
}

/* fmt_double writes v the way Prometheus clients do: the shortest text that
 * reads back as v, and +Inf, -Inf, NaN. */
static void fmt_double(char out[32], double v) {
  if (isnan(v)) {
    strcpy(out, "NaN");
  } else if (isinf(v)) {
    strcpy(out, v > 0 ? "+Inf" : "-Inf");
  } else {
    snprintf(out, 32, "%.15g", v);
    if (strtod(out, NULL) != v)
      snprintf(out, 32, "%.17g", v);
  }
}

/* valid_name tells whether s matches [a-zA-Z_:][a-zA-Z0-9_:]* (metric names)
 * or, without colons, a label name. */
static int valid_name(const char *s, int colon) {
  if (!s || !*s)
    return 0;
  for (const char *p = s; *p; p++) {
    int alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
                (colon && *p == ':');
    if (!alpha && !(p > s && *p >= '0' && *p <= '9'))
      return 0;
  }
  return 1;
}

/* fail records the first registration failure in m (caller holds m->mu). */
__attribute__((format(printf, 3, 4))) static void fail(lsys_metrics *m, int rv, const char *fmt,
                                                       ...) {
  if (m->err)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(m->errmsg, sizeof m->errmsg, fmt, ap);
  va_end(ap);
  m->err = rv;
}

/* render_labels turns the NULL-terminated name/value list into escaped text
 * in *out (malloc'd; "" for none). On a bad list it returns LSYS_EINVAL with
 * a static reason in *why. */
static int render_labels(const char *const *labels, int histogram, char **out, const char **why) {
  buf b = {0};
  int rv = LSYS_EINVAL;

  put(&b, "", 0);
  for (size_t i = 0; labels && labels[i]; i += 2) {
    const char *name = labels[i], *value = labels[i + 1];
    if (!valid_name(name, 0) || strncmp(name, "__", 2) == 0) {
      *why = "bad label name";
      goto fail;
    }
    if (histogram && strcmp(name, "le") == 0) {
      *why = "label \"le\" is reserved for histogram buckets";
      goto fail;
    }
    if (!value) {
      *why = "a label has no value";
      goto fail;
    }
    for (size_t j = 0; j < i; j += 2) {
      if (strcmp(labels[j], name) == 0) {
        *why = "a label name repeats";
        goto fail;
      }
    }
    putf(&b, "%s%s=\"", i ? "," : "", name);
    put_escaped(&b, value, 1);
    put(&b, "\"", 1);
  }
  if (b.oom) {
    *why = "out of memory";
    rv = LSYS_ENOMEM;
    goto fail;
  }
  *out = b.p;
  return LSYS_OK;
fail:
  free(b.p);
  return rv;
}

static void series_free(series *s, kind k) {
  if (!s)
    return;
  if (k == KIND_HISTOGRAM) {
    free(s->u.h.bounds);
    free(s->u.h.buckets);
  }
  free(s->labels);
  free(s);
}

static void family_free(family *f) {
  series *s, *next;
  for (s = f->head; s; s = next) {
    next = s->next;
    series_free(s, f->kind);
  }
  free(f->name);
  free(f->help);
  free(f);
}

/* same_series tells whether the registered series old may be handed out again
 * for a new registration equal to s. */
static int same_series(kind k, const series *old, const series *s) {
  if (k == KIND_GAUGE)
    return !old->u.g.fn && !s->u.g.fn;
  if (k == KIND_HISTOGRAM)
    return old->u.h.n == s->u.h.n &&
           memcmp(old->u.h.bounds, s->u.h.bounds, s->u.h.n * sizeof(double)) == 0;
  return 1;
}

/* find_family returns m's family called name, or NULL (caller holds m->mu). */
static family *find_family(lsys_metrics *m, const char *name) {
  for (family *f = m->head; f; f = f->next)
    if (strcmp(f->name, name) == 0)
      return f;
  return NULL;
}

/* link_series adds the prepared series s (labels rendered, data set up) to
 * the family name in m, making the family when it is new. It takes ownership
 * of s and returns s, an equal series already registered (s is freed), or
 * NULL with the failure recorded (s is freed). */
static series *link_series(lsys_metrics *m, kind k, const char *name, const char *help,
                           series *s) {
  series *got = NULL;
  family *f;

  pthread_mutex_lock(&m->mu);
  if ((f = find_family(m, name)) != NULL) {
    if (f->kind != k) {
      fail(m, LSYS_EINVAL, "metric %s: registered as a %s and as a %s", name, kind_names[f->kind],
           kind_names[k]);
      goto done;
    }
    for (series *old = f->head; old; old = old->next) {
      if (strcmp(old->labels, s->labels) == 0) {
        if (same_series(k, old, s))
          got = old;
        else
          fail(m, LSYS_EINVAL, "metric %s{%s}: registered twice differently", name, s->labels);
        goto done;
      }
    }
  } else {
    if (!(f = calloc(1, sizeof *f)) || !(f->name = strdup(name)) ||
        !(f->help = strdup(help ? help : ""))) {
      if (f) {
        f->tail = &f->head;
        family_free(f);
      }
      fail(m, LSYS_ENOMEM, "metric %s: out of memory", name);
      goto done;
    }
    f->kind = k;
    f->tail = &f->head;
    *m->tail = f;
    m->tail = &f->next;
  }
  *f->tail = s;
  f->tail = &s->next;
  got = s;
  s = NULL;
done:
  pthread_mutex_unlock(&m->mu);
  series_free(s, k);
  return got;
}

/* new_series validates name and labels and allocates a zeroed series of kind
 * k with its labels rendered; failures are recorded in m. */
static series *new_series(lsys_metrics *m, kind k, const char *name, const char *const *labels) {
  const char *why = "out of memory";
  series *s = NULL;
  int rv = LSYS_ENOMEM;

  if (!valid_name(name, 1)) {
    why = "bad metric name";
    rv = LSYS_EINVAL;
    goto fail;
  }
  if (!(s = calloc(1, sizeof *s)))
    goto fail;
  if ((rv = render_labels(labels, k == KIND_HISTOGRAM, &s->labels, &why)) != LSYS_OK)
    goto fail;
  return s;
fail:
  free(s);
  pthread_mutex_lock(&m->mu);
  fail(m, rv, "metric %s: %s", name ? name : "(null)", why);
  pthread_mutex_unlock(&m->mu);
  return NULL;
}

int lsys_metrics_create(lsys_metrics **out) {
  lsys_metrics *m = calloc(1, sizeof *m);
  if (!m)
    return LSYS_ENOMEM;
  if (pthread_mutex_init(&m->mu, NULL) != 0) {
    free(m);
    return LSYS_ENOMEM;
  }
  m->tail = &m->head;
  *out = m;
  return LSYS_OK;
}

lsys_counter *lsys_metrics_counter(lsys_metrics *m, const char *name, const char *help,
                                   const char *const *labels) {
  series *s;
  if (!m || !(s = new_series(m, KIND_COUNTER, name, labels)))
    return NULL;
  atomic_init(&s->u.c.value, 0);
  s = link_series(m, KIND_COUNTER, name, help, s);
  return s ? &s->u.c : NULL;
}

void lsys_counter_add(lsys_counter *c, uint64_t n) {
  if (c)
    atomic_fetch_add_explicit(&c->value, n, memory_order_relaxed);
}

uint64_t lsys_counter_value(const lsys_counter *c) {
  return c ? atomic_load_explicit(&((lsys_counter *)c)->value, memory_order_relaxed) : 0;
}

/* register_gauge is lsys_metrics_gauge and lsys_metrics_gauge_fn. */
static lsys_gauge *register_gauge(lsys_metrics *m, const char *name, const char *help,
                                  const char *const *labels, lsys_gauge_fn fn, void *arg) {
  series *s;
  if (!m || !(s = new_series(m, KIND_GAUGE, name, labels)))
    return NULL;
  atomic_init(&s->u.g.bits, to_bits(0.0));
  s->u.g.fn = fn;
  s->u.g.arg = arg;
  s = link_series(m, KIND_GAUGE, name, help, s);
  return s ? &s->u.g : NULL;
}

lsys_gauge *lsys_metrics_gauge(lsys_metrics *m, const char *name, const char *help,
                               const char *const *labels) {
  return register_gauge(m, name, help, labels, NULL, NULL);
}

lsys_gauge *lsys_metrics_gauge_fn(lsys_metrics *m, const char *name, const char *help,
                                  const char *const *labels, lsys_gauge_fn fn, void *arg) {
  if (m && !fn) {
    pthread_mutex_lock(&m->mu);
    fail(m, LSYS_EINVAL, "metric %s: callback gauge without a callback", name ? name : "(null)");
    pthread_mutex_unlock(&m->mu);
    return NULL;
  }
  return register_gauge(m, name, help, labels, fn, arg);
}

void lsys_gauge_set(lsys_gauge *g, double v) {
  if (g && !g->fn)
    atomic_store_explicit(&g->bits, to_bits(v), memory_order_relaxed);
}

void lsys_gauge_add(lsys_gauge *g, double delta) {
  if (g && !g->fn)
    add_double(&g->bits, delta);
}

double lsys_gauge_value(const lsys_gauge *g) {
  if (!g)
    return 0;
  if (g->fn)
    return g->fn(g->arg);
  return from_bits(atomic_load_explicit(&((lsys_gauge *)g)->bits, memory_order_relaxed));
}

lsys_histogram *lsys_metrics_histogram(lsys_metrics *m, const char *name, const char *help,
                                       const char *const *labels, const double *bounds,
                                       size_t n) {
  const char *why = NULL;
  series *s;
  int rv = LSYS_EINVAL;

  if (!m || !(s = new_series(m, KIND_HISTOGRAM, name, labels)))
    return NULL;
  if (n > MAX_BOUNDS || (n > 0 && !bounds)) {
    why = "too many bucket bounds, or none given";
    goto fail;
  }
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1]))) {
      why = "bucket bounds must be finite and strictly increasing";
      goto fail;
    }
  }
  s->u.h.n = n;
  if (!(s->u.h.bounds = malloc((n ? n : 1) * sizeof(double))) ||
      !(s->u.h.buckets = malloc((n + 1) * sizeof *s->u.h.buckets))) {
    why = "out of memory";
    rv = LSYS_ENOMEM;
    goto fail;
  }
  if (n)
    memcpy(s->u.h.bounds, bounds, n * sizeof(double));
  for (size_t i = 0; i <= n; i++)
    atomic_init(&s->u.h.buckets[i], 0);
  atomic_init(&s->u.h.sum_bits, to_bits(0.0));
  s = link_series(m, KIND_HISTOGRAM, name, help, s);
  return s ? &s->u.h : NULL;
fail:
  pthread_mutex_lock(&m->mu);
  fail(m, rv, "metric %s: %s", name, why);
  pthread_mutex_unlock(&m->mu);
  series_free(s, KIND_HISTOGRAM);
  return NULL;
}

void lsys_histogram_observe(lsys_histogram *h, double v) {
  if (!h)
    return;
  size_t lo = 0, hi = h->n; /* first bound >= v; NaN compares false and lands in +Inf */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (v <= h->bounds[mid])
      hi = mid;
    else
      lo = mid + 1;
  }
  atomic_fetch_add_explicit(&h->buckets[lo], 1, memory_order_relaxed);
  add_double(&h->sum_bits, v);
}

uint64_t lsys_histogram_count(const lsys_histogram *h) {
  uint64_t total = 0;
  if (h)
    for (size_t i = 0; i <= h->n; i++)
      total += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
  return total;
}

int lsys_metrics_build_info(lsys_metrics *m, const char *binary) {
  lsys_gauge *g;
  if (!m || !binary)
    return LSYS_EINVAL;
  g = lsys_metrics_gauge(m, "logsys_build_info", "Version and binary of this logsys build",
                         LSYS_LABELS("version", LOGSYS_VERSION, "binary", binary));
  if (!g) {
    pthread_mutex_lock(&m->mu);
    int rv = m->err ? m->err : LSYS_EINVAL;
    pthread_mutex_unlock(&m->mu);
    return rv;
  }
  lsys_gauge_set(g, 1);
  return LSYS_OK;
}

int lsys_metrics_check(lsys_metrics *m, char *err, size_t errlen) {
  int rv;
  if (!m)
    return LSYS_OK;
  pthread_mutex_lock(&m->mu);
  rv = m->err;
  if (rv && err && errlen)
    snprintf(err, errlen, "%s", m->errmsg);
  pthread_mutex_unlock(&m->mu);
  return rv;
}

/* put_sample writes one line: name[suffix]{labels[,extra]} value. */
static void put_sample(buf *b, const family *f, const char *suffix, const series *s,
                       const char *extra, const char *value) {
  puts_(b, f->name);
  puts_(b, suffix);
  if (s->labels[0] || extra) {
    put(b, "{", 1);
    puts_(b, s->labels);
    if (extra) {
      if (s->labels[0])
        put(b, ",", 1);
      puts_(b, extra);
    }
    put(b, "}", 1);
  }
  put(b, " ", 1);
  puts_(b, value);
  put(b, "\n", 1);
}

/* render_histogram writes h's cumulative buckets, _sum and _count. */
static void render_histogram(buf *b, const family *f, const series *s) {
  const lsys_histogram *h = &s->u.h;
  char le[48], num[32], val[32];
  uint64_t cum = 0;

  for (size_t i = 0; i <= h->n; i++) {
    cum += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
    if (i < h->n)
      fmt_double(num, h->bounds[i]);
    else
      strcpy(num, "+Inf");
    snprintf(le, sizeof le, "le=\"%s\"", num);
    snprintf(val, sizeof val, "%" PRIu64, cum);
    put_sample(b, f, "_bucket", s, le, val);
  }
  fmt_double(num, from_bits(atomic_load_explicit(&((lsys_histogram *)h)->sum_bits,
                                                 memory_order_relaxed)));
  put_sample(b, f, "_sum", s, NULL, num);
  put_sample(b, f, "_count", s, NULL, val);
}

int lsys_metrics_render(lsys_metrics *m, char **out, size_t *len) {
  buf b = {0};
  char val[32];

  if (!m || !out || !len)
    return LSYS_EINVAL;
  put(&b, "", 0);
  pthread_mutex_lock(&m->mu);
  for (const family *f = m->head; f; f = f->next) {
    if (!f->head)
      continue;
    if (f->help[0]) {
      putf(&b, "# HELP %s ", f->name);
      put_escaped(&b, f->help, 0);
      put(&b, "\n", 1);
    }
    putf(&b, "# TYPE %s %s\n", f->name, kind_names[f->kind]);
    for (const series *s = f->head; s; s = s->next) {
      switch (f->kind) {
      case KIND_COUNTER:
        snprintf(val, sizeof val, "%" PRIu64, lsys_counter_value(&s->u.c));
        put_sample(&b, f, "", s, NULL, val);
        break;
      case KIND_GAUGE:
        fmt_double(val, lsys_gauge_value(&s->u.g));
        put_sample(&b, f, "", s, NULL, val);
        break;
      case KIND_HISTOGRAM:
        render_histogram(&b, f, s);
        break;
      }
    }
  }
  pthread_mutex_unlock(&m->mu);
  if (b.oom) {
    free(b.p);
    return LSYS_ENOMEM;
  }
  *out = b.p;
  *len = b.len;
  return LSYS_OK;
}

void lsys_metrics_destroy(lsys_metrics *m) {
  family *f, *next;
  if (!m)
    return;
  for (f = m->head; f; f = next) {
    next = f->next;
    family_free(f);
  }
  pthread_mutex_destroy(&m->mu);
  free(m);
}
