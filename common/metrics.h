/* metrics.h - a small registry of counters, gauges and histograms, rendered in
 * the Prometheus text exposition format 0.0.4 for GET /metrics (SPEC section 7).
 *
 * Each component registers its series once at start-up and keeps the handles;
 * the hot path then bumps a handle with one relaxed atomic operation, lock-free
 * and without touching the registry. Registration and rendering take the
 * registry's mutex. A series is a metric name plus a fixed label set given at
 * registration; series of one name form a family, rendered with one # HELP and
 * one # TYPE line, in registration order.
 *
 * The handles' own functions (lsys_counter_*, lsys_gauge_*, lsys_histogram_*)
 * live here too: one concept, one file. Handles stay valid until
 * lsys_metrics_destroy. Every bump function accepts a
 * NULL handle and does nothing, and every registration function accepts a NULL
 * registry and returns NULL, so code can count whether or not a registry exists.
 *
 * Secrets: the registry shows only what code registers - names, help texts,
 * label values and numbers - never a config value by itself. Label values must
 * therefore never be secrets (no tokens, passwords, URLs with credentials, chat
 * ids): use names a reader may see, such as a level, a queue or a sink kind.
 *
 * Numbers are formatted with the C locale's decimal point (logsys never calls
 * setlocale). */
#ifndef LSYS_METRICS_H
#define LSYS_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef struct lsys_metrics lsys_metrics;
typedef struct lsys_counter lsys_counter;
typedef struct lsys_gauge lsys_gauge;
typedef struct lsys_histogram lsys_histogram;

/* LSYS_LABELS("name", value, ...) builds the label list the registration
 * functions take: alternating label names and raw values, NULL-terminated.
 * Values are escaped when rendered (backslash, double quote, newline); names
 * must match [a-zA-Z_][a-zA-Z0-9_]* and not start with "__". Pass NULL for a
 * series without labels. */
#define LSYS_LABELS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Called at render time for a callback gauge (e.g. spool bytes, queue depth).
 * It runs on the rendering thread (an nng thread for the admin endpoint) with
 * the registry's mutex held: it must be quick, thread-safe, and must not call
 * any lsys_metrics_ function. */
typedef double (*lsys_gauge_fn)(void *arg);

/* Latency buckets in seconds (0.5 ms .. 10 s) for the "latencies as
 * histograms" of SPEC section 7, so every component uses the same ones. */
#define LSYS_METRICS_LATENCY_BOUNDS_N 14
extern const double lsys_metrics_latency_bounds[LSYS_METRICS_LATENCY_BOUNDS_N];

/* lsys_metrics_create makes an empty registry. Returns LSYS_OK or
 * LSYS_ENOMEM; *out is written only on success. Free with
 * lsys_metrics_destroy. */
int lsys_metrics_create(lsys_metrics **out);

/* lsys_metrics_counter registers (or finds) the counter series name{labels}
 * and returns its handle, owned by m. help is the family's # HELP text (the
 * first registration's text is kept). Registering the same name and labels
 * twice returns the same handle, so two components may share a counter.
 * Returns NULL when m is NULL, on a bad name or label, when name is already
 * registered as another type, or out of memory; the failure is kept for
 * lsys_metrics_check. Counter names should end in _total. */
lsys_counter *lsys_metrics_counter(lsys_metrics *m, const char *name, const char *help,
                                   const char *const *labels);

/* lsys_counter_add adds n to c: one relaxed atomic fetch_add. NULL c is a
 * no-op. */
void lsys_counter_add(lsys_counter *c, uint64_t n);

/* lsys_counter_value returns c's current value (0 for NULL). */
uint64_t lsys_counter_value(const lsys_counter *c);

/* lsys_metrics_gauge registers (or finds) a gauge series set by code, starting
 * at 0. The value is a double: integers up to 2^53 are exact. Same rules and
 * failures as lsys_metrics_counter. */
lsys_gauge *lsys_metrics_gauge(lsys_metrics *m, const char *name, const char *help,
                               const char *const *labels);

/* lsys_metrics_gauge_fn registers a gauge series whose value is fn(arg),
 * evaluated at each render (see lsys_gauge_fn for the rules fn must follow).
 * arg is not owned and must outlive m (or the admin endpoint rendering m).
 * Unlike the others, registering an existing series again fails. */
lsys_gauge *lsys_metrics_gauge_fn(lsys_metrics *m, const char *name, const char *help,
                                  const char *const *labels, lsys_gauge_fn fn, void *arg);

/* lsys_gauge_set sets g to v (one relaxed atomic store). NULL g, or a
 * callback gauge, is a no-op. */
void lsys_gauge_set(lsys_gauge *g, double v);

/* lsys_gauge_add adds delta (may be negative) to g, lock-free (a CAS loop).
 * NULL g, or a callback gauge, is a no-op. */
void lsys_gauge_add(lsys_gauge *g, double delta);

/* lsys_gauge_value returns g's current value (a callback gauge's fn is called;
 * 0 for NULL). */
double lsys_gauge_value(const lsys_gauge *g);

/* lsys_metrics_histogram registers (or finds) a histogram series with the n
 * upper bounds in bounds (copied; finite and strictly increasing; n may be 0;
 * +Inf is implicit). The label "le" is reserved. Registering an existing
 * series again returns it only when the bounds are the same. Same failures as
 * lsys_metrics_counter, and bad bounds. */
lsys_histogram *lsys_metrics_histogram(lsys_metrics *m, const char *name, const char *help,
                                       const char *const *labels, const double *bounds,
                                       size_t n);

/* lsys_histogram_observe records v: one relaxed fetch_add on its bucket and a
 * CAS loop adding v to the sum; lock-free. NaN counts in the +Inf bucket and
 * makes the sum NaN. NULL h is a no-op. */
void lsys_histogram_observe(lsys_histogram *h, double v);

/* lsys_histogram_count returns the number of observations of h (0 for NULL). */
uint64_t lsys_histogram_count(const lsys_histogram *h);

/* lsys_metrics_build_info registers the gauge
 * logsys_build_info{version="<LOGSYS_VERSION>",binary="<binary>"} 1.
 * Returns LSYS_OK, LSYS_EINVAL (m or binary NULL, or already registered with
 * other bounds/type) or LSYS_ENOMEM. */
int lsys_metrics_build_info(lsys_metrics *m, const char *binary);

/* lsys_metrics_check returns LSYS_OK when every registration so far
 * succeeded, else the first failure's code (LSYS_EINVAL or LSYS_ENOMEM) with a
 * message naming the metric in err. Call it once after start-up registration:
 * a failed registration returns a NULL handle that silently counts nothing.
 * A NULL m has registered nothing, so nothing failed: LSYS_OK. */
int lsys_metrics_check(lsys_metrics *m, char *err, size_t errlen);

/* lsys_metrics_render writes every family of m in the text format 0.0.4 into
 * a new NUL-terminated buffer: *out (the caller frees it with free()) and its
 * length *len. Values read while other threads bump them may be a moment
 * apart, but a histogram's +Inf bucket always equals its _count. Returns
 * LSYS_OK, LSYS_EINVAL (an argument is NULL) or LSYS_ENOMEM; *out and *len are
 * written only on success. */
int lsys_metrics_render(lsys_metrics *m, char **out, size_t *len);

/* lsys_metrics_destroy frees m and every handle it gave out; NULL is allowed.
 * Call it only after every user of a handle, and the admin endpoint rendering
 * m, has stopped. */
void lsys_metrics_destroy(lsys_metrics *m);

#endif
