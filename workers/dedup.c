/* dedup.c - a bounded, time-windowed set of delivered keys with a journal.
 *
 * Keys live in a ring in the order they were recorded (so the oldest is
 * always at the head, where expiry and eviction take it) and are found
 * through a chained hash index of ring positions. A key recorded again leaves
 * a tombstone at its old position and moves to the tail. */
#include "dedup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "errors.h"

#define MAX_SLOTS 64             /* journals of one name in one directory */
#define COMPACT_MIN_LINES 4096   /* never rewrite a journal smaller than this */
#define LINE_MAX_BYTES (LSYS_DEDUP_KEY_MAX + 32)

typedef struct entry {
  char *key;    /* NULL: a tombstone, left when the key was recorded again */
  uint64_t hash;
  int64_t t;    /* wall-clock ms when recorded */
  int32_t next; /* next ring position in the same hash chain, or -1 */
} entry;

struct lsys_dedup {
  int64_t window_ms;
  entry *ring;
  size_t cap, head, count; /* count: ring positions in use, tombstones included */
  size_t live;             /* keys in the index */
  int32_t *buckets;
  size_t mask;             /* buckets - 1 (a power of two minus one) */
  uint64_t evicted;
  char *journal, *tmp;     /* own journal path and its rewrite path */
  int lock_fd, journal_fd;
  size_t journal_lines;
};

/* fnv1a hashes a NUL-terminated key. */
static uint64_t fnv1a(const char *s) {
  uint64_t h = 1469598103934665603ULL;
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ULL;
  }
  return h;
}

/* escape appends s to out[*pos..cap) %XX-escaping unsafe bytes; 0 when it
 * does not fit. */
static int escape(char *out, size_t cap, size_t *pos, const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    int plain = c > 0x20 && c < 0x7f && c != '%' && c != '/';
    if (*pos + (plain ? 1 : 3) >= cap)
      return 0;
    if (plain) {
      out[(*pos)++] = (char)c;
    } else {
      out[(*pos)++] = '%';
      out[(*pos)++] = hex[c >> 4];
      out[(*pos)++] = hex[c & 15];
    }
  }
  out[*pos] = '\0';
  return 1;
}

int lsys_dedup_make_key(const char *dest, const char *message_id, const char *body, size_t len,
                        char *key, size_t keylen) {
  const char *log_id = message_id && *message_id ? message_id : NULL;
  cJSON *doc = NULL;
  size_t pos = 0;
  int ok;

  if ((!log_id || !dest) && body) {
    doc = cJSON_ParseWithLength(body, len);
    if (cJSON_IsObject(doc)) {
      const cJSON *v;
      if (!log_id && cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(doc, "log_id")))
        log_id = v->valuestring;
      if (!dest && cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(doc, "type")))
        dest = v->valuestring;
    }
  }
  ok = log_id && *log_id && dest && *dest && keylen > 0 && escape(key, keylen, &pos, dest) &&
       pos + 1 < keylen;
  if (ok) {
    key[pos++] = '/';
    ok = escape(key, keylen, &pos, log_id);
  }
  cJSON_Delete(doc);
  return ok;
}

/* find returns the ring position of key, or -1. */
static int32_t find(const lsys_dedup *d, const char *key, uint64_t h) {
  for (int32_t i = d->buckets[h & d->mask]; i >= 0; i = d->ring[i].next)
    if (d->ring[i].hash == h && strcmp(d->ring[i].key, key) == 0)
      return i;
  return -1;
}

/* forget takes the key at ring position i out of the index and frees it,
 * leaving a tombstone. */
static void forget(lsys_dedup *d, int32_t i) {
  int32_t *link = &d->buckets[d->ring[i].hash & d->mask];
  while (*link != i)
    link = &d->ring[*link].next;
  *link = d->ring[i].next;
  free(d->ring[i].key);
  d->ring[i].key = NULL;
  d->live--;
}

/* pop_head reclaims the oldest ring position. */
static void pop_head(lsys_dedup *d) {
  if (d->ring[d->head].key)
    forget(d, (int32_t)d->head);
  d->head = (d->head + 1) % d->cap;
  d->count--;
}

/* expire reclaims tombstones and expired keys at the head. */
static void expire(lsys_dedup *d, int64_t now_ms) {
  while (d->count > 0 &&
         (!d->ring[d->head].key || now_ms - d->ring[d->head].t >= d->window_ms))
    pop_head(d);
}

/* insert remembers key at t (moving it to the tail when known). */
static int insert(lsys_dedup *d, const char *key, int64_t t, int64_t now_ms) {
  uint64_t h = fnv1a(key);
  int32_t i = find(d, key, h);
  char *copy;
  if (i >= 0) {
    if (d->ring[i].t >= t)
      return LSYS_OK;
    forget(d, i);
  }
  if (d->count == d->cap) {
    const entry *e = &d->ring[d->head];
    if (e->key && now_ms - e->t < d->window_ms)
      d->evicted++;
    pop_head(d);
  }
  if ((copy = strdup(key)) == NULL)
    return LSYS_ENOMEM;
  i = (int32_t)((d->head + d->count) % d->cap);
  d->ring[i] = (entry){copy, h, t, d->buckets[h & d->mask]};
  d->buckets[h & d->mask] = i;
  d->count++;
  d->live++;
  return LSYS_OK;
}

/* now_wall_ms returns the wall clock in milliseconds (journals outlive the process). */
static int64_t now_wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* load_journal inserts the unexpired keys of one journal file; lines that do
 * not parse (e.g. cut short by a full disk) are skipped. */
static int load_journal(lsys_dedup *d, const char *path, int64_t now_ms) {
  char line[LINE_MAX_BYTES + 2];
  FILE *fp = fopen(path, "r");
  int rc = LSYS_OK;
  if (!fp)
    return errno == ENOENT ? LSYS_OK : LSYS_EIO;
  while (rc == LSYS_OK && fgets(line, sizeof line, fp)) {
    char *end = NULL;
    size_t n = strlen(line);
    if (n == 0 || line[n - 1] != '\n') {
      int c; /* an over-long line: skip the rest of it */
      while ((c = fgetc(fp)) != EOF && c != '\n')
        ;
      continue;
    }
    line[--n] = '\0';
    long long t = strtoll(line, &end, 10);
    if (end == line || *end != ' ' || end[1] == '\0' || strchr(end + 1, ' ') ||
        now_ms - t >= d->window_ms)
      continue;
    rc = insert(d, end + 1, t, now_ms);
  }
  fclose(fp);
  return rc;
}

/* compact rewrites the own journal with the live keys, oldest first. */
static int compact(lsys_dedup *d) {
  FILE *fp = fopen(d->tmp, "w");
  int fd;
  size_t lines = 0;
  if (!fp)
    return LSYS_EIO;
  for (size_t k = 0; k < d->count; k++) {
    const entry *e = &d->ring[(d->head + k) % d->cap];
    if (e->key) {
      fprintf(fp, "%lld %s\n", (long long)e->t, e->key);
      lines++;
    }
  }
  if (ferror(fp) | (fclose(fp) != 0) || rename(d->tmp, d->journal) != 0) {
    unlink(d->tmp);
    return LSYS_EIO;
  }
  if ((fd = open(d->journal, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) < 0)
    return LSYS_EIO;
  if (d->journal_fd >= 0)
    close(d->journal_fd);
  d->journal_fd = fd;
  d->journal_lines = lines;
  return LSYS_OK;
}

/* is_journal tells whether file name is "{name}.dedup.{digits}". */
static int is_journal(const char *file, const char *prefix) {
  size_t n = strlen(prefix);
  return strncmp(file, prefix, n) == 0 && file[n] != '\0' &&
         strspn(file + n, "0123456789") == strlen(file + n);
}

/* open_dir takes a journal slot in dir, loads every journal of name there and
 * rewrites the own one. */
static int open_dir(lsys_dedup *d, const char *dir, const char *name, char *err, size_t errlen) {
  char prefix[300], path[4096];
  DIR *dh = NULL;
  struct dirent *de;
  int64_t now = now_wall_ms();
  int slot = -1;

  snprintf(prefix, sizeof prefix, "%s.dedup.", name);
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
    snprintf(err, errlen, "LOGSYS_DEDUP_DIR: cannot create %s: %s", dir, strerror(errno));
    return LSYS_ECONFIG;
  }
  for (int n = 0; n < MAX_SLOTS && slot < 0; n++) {
    snprintf(path, sizeof path, "%s/%s%d.lock", dir, prefix, n);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
      snprintf(err, errlen, "LOGSYS_DEDUP_DIR: cannot create %s: %s", path, strerror(errno));
      return LSYS_ECONFIG;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
      d->lock_fd = fd;
      slot = n;
    } else {
      close(fd);
    }
  }
  if (slot < 0) {
    snprintf(err, errlen, "LOGSYS_DEDUP_DIR: all %d journal slots of %s in %s are in use", MAX_SLOTS,
             name, dir);
    return LSYS_ECONFIG;
  }
  if (asprintf(&d->journal, "%s/%s%d", dir, prefix, slot) < 0 ||
      asprintf(&d->tmp, "%s/%s%d.tmp", dir, prefix, slot) < 0) {
    d->journal = d->tmp = NULL;
    snprintf(err, errlen, "out of memory");
    return LSYS_ENOMEM;
  }
  if ((dh = opendir(dir)) == NULL) {
    snprintf(err, errlen, "LOGSYS_DEDUP_DIR: cannot read %s: %s", dir, strerror(errno));
    return LSYS_ECONFIG;
  }
  while ((de = readdir(dh)) != NULL) {
    if (!is_journal(de->d_name, prefix))
      continue;
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    if (load_journal(d, path, now) != LSYS_OK) {
      snprintf(err, errlen, "LOGSYS_DEDUP_DIR: cannot load %s: %s", path, strerror(errno));
      closedir(dh);
      return LSYS_ECONFIG;
    }
  }
  closedir(dh);
  if (compact(d) != LSYS_OK) {
    snprintf(err, errlen, "LOGSYS_DEDUP_DIR: cannot write %s: %s", d->journal, strerror(errno));
    return LSYS_ECONFIG;
  }
  return LSYS_OK;
}

int lsys_dedup_create(lsys_dedup **out, const lsys_dedup_opts *opts, char *err, size_t errlen) {
  lsys_dedup *d = calloc(1, sizeof *d);
  size_t nb = 16;
  int rc = LSYS_ENOMEM;

  if (!d) {
    snprintf(err, errlen, "out of memory");
    return LSYS_ENOMEM;
  }
  d->lock_fd = d->journal_fd = -1;
  d->window_ms = (int64_t)(opts->window_s > 0 ? opts->window_s : 0) * 1000;
  d->cap = opts->max_entries ? opts->max_entries : LSYS_DEDUP_DEFAULT_MAX_ENTRIES;
  if (d->cap > INT32_MAX / 2)
    d->cap = INT32_MAX / 2;
  while (nb < d->cap)
    nb *= 2;
  d->mask = nb - 1;
  if (d->window_ms == 0) {
    *out = d; /* off: nothing to hold */
    return LSYS_OK;
  }
  if ((d->ring = calloc(d->cap, sizeof *d->ring)) == NULL ||
      (d->buckets = malloc(nb * sizeof *d->buckets)) == NULL) {
    snprintf(err, errlen, "out of memory");
    goto fail;
  }
  memset(d->buckets, 0xff, nb * sizeof *d->buckets); /* all -1 */
  if (opts->dir && *opts->dir && (rc = open_dir(d, opts->dir, opts->name, err, errlen)) != LSYS_OK)
    goto fail;
  *out = d;
  return LSYS_OK;
fail:
  lsys_dedup_destroy(d);
  return rc;
}

int lsys_dedup_seen(lsys_dedup *d, const char *key, int64_t now_ms) {
  if (d->window_ms == 0)
    return 0;
  int32_t i = find(d, key, fnv1a(key));
  return i >= 0 && now_ms - d->ring[i].t < d->window_ms;
}

int lsys_dedup_record(lsys_dedup *d, const char *key, int64_t now_ms) {
  char line[LINE_MAX_BYTES];
  int rc, n;
  if (d->window_ms == 0)
    return LSYS_OK;
  expire(d, now_ms);
  if ((rc = insert(d, key, now_ms, now_ms)) != LSYS_OK || d->journal_fd < 0)
    return rc;
  n = snprintf(line, sizeof line, "%lld %s\n", (long long)now_ms, key);
  if (n <= 0 || (size_t)n >= sizeof line || write(d->journal_fd, line, (size_t)n) != n)
    return LSYS_EIO;
  d->journal_lines++;
  if (d->journal_lines > 2 * d->live + COMPACT_MIN_LINES)
    return compact(d);
  return LSYS_OK;
}

size_t lsys_dedup_size(const lsys_dedup *d) { return d->live; }

uint64_t lsys_dedup_evicted(const lsys_dedup *d) { return d->evicted; }

const char *lsys_dedup_journal(const lsys_dedup *d) { return d->journal; }

void lsys_dedup_destroy(lsys_dedup *d) {
  if (!d)
    return;
  for (size_t k = 0; d->ring && k < d->count; k++)
    free(d->ring[(d->head + k) % d->cap].key);
  if (d->journal_fd >= 0)
    close(d->journal_fd);
  if (d->lock_fd >= 0)
    close(d->lock_fd);
  free(d->journal);
  free(d->tmp);
  free(d->ring);
  free(d->buckets);
  free(d);
}
