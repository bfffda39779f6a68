/* logrec.c - building a record in one allocation, with the client's field caps. */
#include "logrec.h"

#include <string.h>
#include <time.h>

#include "utf8.h"

#define MARKER_LEN (sizeof LSYS_TRUNCATION_MARKER - 1)

/* Upper bound of the protobuf overhead of one record besides its string bytes:
 * record tag + length (6), level (6), time (11), seven string tags + lengths (5 each). */
#define WIRE_OVERHEAD 64

/* field is one string being copied: its source and the length it gets. */
struct field {
  const char *src;
  size_t len; /* bytes to copy from src */
  int cut;    /* append the marker after them */
};

/* cut_at_boundary returns n <= max so that s[n] does not fall inside a UTF-8
 * sequence; s holds more than max bytes. Bytes that are not UTF-8 at all are
 * cut at max (the sidecar repairs them). */
static size_t cut_at_boundary(const char *s, size_t max) {
  size_t n = max;
  for (int back = 0; back < 3 && n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80; back++)
    n--;
  if (((unsigned char)s[n] & 0xc0) == 0x80)
    return max;
  return n;
}

/* measure fills f for s under cap and returns the bytes it will occupy, NUL included. */
static size_t measure(struct field *f, const char *s, size_t cap) {
  f->src = s != NULL ? s : "";
  f->len = strnlen(f->src, cap + 1);
  f->cut = f->len > cap;
  if (f->cut)
    f->len = cut_at_boundary(f->src, cap - MARKER_LEN);
  return f->len + (f->cut ? MARKER_LEN : 0) + 1;
}

/* place copies f to p and returns the byte after its NUL. */
static char *place(const struct field *f, char *p) {
  memcpy(p, f->src, f->len);
  p += f->len;
  if (f->cut) {
    memcpy(p, LSYS_TRUNCATION_MARKER, MARKER_LEN);
    p += MARKER_LEN;
  }
  *p = '\0';
  return p + 1;
}

/* lsys_logrec_create measures, allocates once, then copies. */
int lsys_logrec_create(lsys_logrec **out, lsys_pool *pool, lsys_ids *ids, int level,
                       const char *def_name, const char *message, const char *extra_info,
                       const char *hash) {
  struct field f[4];
  struct timespec ts;
  lsys_logrec *r;
  size_t bytes = 0;
  int own_hash = hash != NULL && hash[0] != '\0';
  char *p;

  bytes += measure(&f[0], def_name, LSYS_LOGREC_MAX_FIELD);
  bytes += measure(&f[1], message, LSYS_LOGREC_MAX_FIELD);
  bytes += measure(&f[2], extra_info, LSYS_LOGREC_MAX_FIELD);
  if (own_hash)
    bytes += measure(&f[3], hash, LSYS_LOGREC_MAX_HASH);
  r = lsys_pool_get(pool, sizeof *r + bytes);
  if (r == NULL)
    return LSYS_ENOMEM;
  r->alloc_size = sizeof *r + bytes;
  clock_gettime(CLOCK_REALTIME, &ts); /* vDSO: no system call */
  r->level = level;
  r->sent = 0;
  r->time_unix_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
  lsys_ids_next(ids, r->log_id);
  p = r->data;
  r->def_name = p;
  p = place(&f[0], p);
  r->message = p;
  p = place(&f[1], p);
  r->extra_info = p;
  p = place(&f[2], p);
  r->hash = r->log_id;
  if (own_hash) {
    r->hash = p;
    place(&f[3], p);
  }
  r->wire_size = WIRE_OVERHEAD + bytes + 2 * LSYS_ID_LEN;
  *out = r;
  return LSYS_OK;
}

/* lsys_logrec_destroy returns the single allocation. */
void lsys_logrec_destroy(lsys_logrec *r, lsys_pool *pool) {
  if (r != NULL)
    lsys_pool_put(pool, r, r->alloc_size);
}
