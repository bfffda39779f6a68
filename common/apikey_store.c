/* apikey_store.c - LogBeacon API keys in memory and on disk (see apikey_store.h).
 *
 * A worker serves one domain and a handful of programs, so the keys are a
 * small array searched linearly, keyed by file name. */
#include "apikey_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"

#define PREFIX "api_key-"
#define SUFFIX "-logbeacon.txt"
#define TMP_MARK ".tmp."
#define NAME_MAX_BYTES 255

typedef struct entry {
  char *name; /* file name, or "\x01domain\x1fprogram" for a memory-only pair */
  char *key;
} entry;

struct lsys_apikey_store {
  char *dir; /* NULL: memory only */
  entry *entries;
  size_t count, cap;
  unsigned tmp_seq; /* makes temporary file names unique within the process */
};

int lsys_apikey_store_valid_key(const char *key) {
  size_t n = 0;
  if (key == NULL)
    return 0;
  for (const unsigned char *p = (const unsigned char *)key; *p; p++, n++) {
    if (*p < 0x21 || *p > 0x7e)
      return 0;
  }
  return n > 0 && n <= LSYS_APIKEY_MAX;
}

/* put_sanitised appends name to buf at *w (bounded by len), replacing what
 * could escape the directory or break a file name (see the header). */
static void put_sanitised(const char *name, char *buf, size_t len, size_t *w) {
  char prev = '\0';
  if (*name == '\0')
    name = "_";
  for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
    char c = (char)*p;
    if (*p < 0x20 || *p == 0x7f || c == '/' || c == '\\' || (c == '.' && prev == '.'))
      c = '_';
    if (*w + 1 < len)
      buf[*w] = c;
    (*w)++;
    prev = c;
  }
}

int lsys_apikey_store_file_name(const char *domain, const char *program, char *buf, size_t len) {
  size_t w = 0;
  const char *parts[] = {PREFIX, NULL, "-", NULL, SUFFIX};

  if (domain == NULL || program == NULL || buf == NULL || len == 0)
    return LSYS_EINVAL;
  parts[1] = domain;
  parts[3] = program;
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
    if (i == 1 || i == 3) {
      put_sanitised(parts[i], buf, len, &w);
    } else {
      for (const char *p = parts[i]; *p; p++, w++) {
        if (w + 1 < len)
          buf[w] = *p;
      }
    }
  }
  if (w >= len || w > NAME_MAX_BYTES) {
    buf[0] = '\0';
    return LSYS_EINVAL;
  }
  buf[w] = '\0';
  return LSYS_OK;
}

/* entry_name returns the lookup name of a pair in a new string: its file
 * name, or a memory-only name when the file name would be too long. */
static char *entry_name(const char *domain, const char *program) {
  char buf[NAME_MAX_BYTES + 1];
  char *name;

  if (lsys_apikey_store_file_name(domain, program, buf, sizeof buf) == LSYS_OK)
    return strdup(buf);
  if (asprintf(&name, "\x01%s\x1f%s", domain, program) < 0)
    return NULL;
  return name;
}

static entry *find(const lsys_apikey_store *s, const char *name) {
  for (size_t i = 0; i < s->count; i++) {
    if (strcmp(s->entries[i].name, name) == 0)
      return &s->entries[i];
  }
  return NULL;
}

/* remember sets name's key to a copy of key, adding an entry when needed;
 * name is copied too. */
static int remember(lsys_apikey_store *s, const char *name, const char *key) {
  entry *e = find(s, name);
  char *copy = strdup(key);

  if (copy == NULL)
    return LSYS_ENOMEM;
  if (e == NULL) {
    if (s->count == s->cap) {
      size_t ncap = s->cap ? s->cap * 2 : 8;
      entry *grown = realloc(s->entries, ncap * sizeof *grown);
      if (grown == NULL)
        goto fail;
      s->entries = grown;
      s->cap = ncap;
    }
    e = &s->entries[s->count];
    if ((e->name = strdup(name)) == NULL)
      goto fail;
    e->key = NULL;
    s->count++;
  }
  free(e->key);
  e->key = copy;
  return LSYS_OK;

fail:
  free(copy);
  return LSYS_ENOMEM;
}

static int has_suffix(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* load_file reads the key in dir/name (surrounding blanks trimmed) into a
 * static-size buffer; returns 1 when it holds a valid key. */
static int load_file(int dirfd, const char *name, char key[static LSYS_APIKEY_MAX + 2]) {
  char buf[LSYS_APIKEY_MAX + 64];
  size_t n = 0, start = 0;
  ssize_t got;
  int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);

  if (fd < 0)
    return 0;
  while (n < sizeof buf - 1 && (got = read(fd, buf + n, sizeof buf - 1 - n)) > 0)
    n += (size_t)got;
  close(fd);
  while (n > 0 && strchr(" \t\r\n", buf[n - 1]) != NULL && buf[n - 1] != '\0')
    n--;
  while (start < n && (buf[start] == ' ' || buf[start] == '\t'))
    start++;
  if (n - start == 0 || n - start > LSYS_APIKEY_MAX)
    return 0;
  memcpy(key, buf + start, n - start);
  key[n - start] = '\0';
  return lsys_apikey_store_valid_key(key);
}

/* load_dir loads every key file of s->dir and removes temporary files left
 * by a crash during a write. */
static int load_dir(lsys_apikey_store *s, char *err, size_t errlen) {
  char key[LSYS_APIKEY_MAX + 2];
  DIR *dp = opendir(s->dir);
  struct dirent *de;
  int rc = LSYS_OK;

  if (dp == NULL) {
    snprintf(err, errlen, "LOGSYS_LOGBEACON_KEY_DIR: cannot read %s: %s", s->dir, strerror(errno));
    return LSYS_ECONFIG;
  }
  while (rc == LSYS_OK && (de = readdir(dp)) != NULL) {
    const char *name = de->d_name;
    if (name[0] == '.' && strncmp(name + 1, PREFIX, strlen(PREFIX)) == 0 &&
        strstr(name, SUFFIX TMP_MARK) != NULL) {
      unlinkat(dirfd(dp), name, 0);
      continue;
    }
    if (strncmp(name, PREFIX, strlen(PREFIX)) != 0 || !has_suffix(name, SUFFIX))
      continue;
    if (load_file(dirfd(dp), name, key))
      rc = remember(s, name, key);
  }
  closedir(dp);
  memset(key, 0, sizeof key);
  return rc;
}

int lsys_apikey_store_create(lsys_apikey_store **out, const char *dir, char *err, size_t errlen) {
  lsys_apikey_store *s = calloc(1, sizeof *s);
  int rc = LSYS_ENOMEM;

  if (s == NULL)
    goto fail;
  if (dir != NULL && *dir != '\0') {
    if ((s->dir = strdup(dir)) == NULL)
      goto fail;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
      snprintf(err, errlen, "LOGSYS_LOGBEACON_KEY_DIR: cannot create %s: %s", dir, strerror(errno));
      rc = LSYS_ECONFIG;
      goto fail;
    }
    if ((rc = load_dir(s, err, errlen)) != LSYS_OK)
      goto fail;
  }
  *out = s;
  return LSYS_OK;

fail:
  if (rc == LSYS_ENOMEM)
    snprintf(err, errlen, "out of memory loading LogBeacon API keys");
  lsys_apikey_store_destroy(s);
  return rc;
}

void lsys_apikey_store_destroy(lsys_apikey_store *s) {
  if (s == NULL)
    return;
  for (size_t i = 0; i < s->count; i++) {
    free(s->entries[i].name);
    if (s->entries[i].key != NULL)
      memset(s->entries[i].key, 0, strlen(s->entries[i].key));
    free(s->entries[i].key);
  }
  free(s->entries);
  free(s->dir);
  free(s);
}

const char *lsys_apikey_store_get(const lsys_apikey_store *s, const char *domain,
                                  const char *program) {
  char *name = entry_name(domain, program);
  const entry *e = name ? find(s, name) : NULL;
  free(name);
  return e ? e->key : NULL;
}

/* write_all writes n bytes of buf to fd. */
static int write_all(int fd, const char *buf, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, buf, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    buf += w;
    n -= (size_t)w;
  }
  return 0;
}

/* write_file replaces dir/name with key atomically (see the header). */
static int write_file(lsys_apikey_store *s, const char *name, const char *key, char *err,
                      size_t errlen) {
  char *path = NULL, *tmp = NULL;
  const char *what = "open";
  int fd = -1, dfd = -1, rc = LSYS_ENOMEM;

  if (asprintf(&path, "%s/%s", s->dir, name) < 0) {
    path = NULL;
    goto fail;
  }
  if (asprintf(&tmp, "%s/.%s" TMP_MARK "%ld.%u", s->dir, name, (long)getpid(), s->tmp_seq++) < 0) {
    tmp = NULL;
    goto fail;
  }
  rc = LSYS_EIO;
  if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
    goto fail;
  what = "write";
  if (write_all(fd, key, strlen(key)) != 0 || fsync(fd) != 0)
    goto fail;
  what = "close";
  if (close(fd) != 0) {
    fd = -1;
    goto fail;
  }
  fd = -1;
  what = "rename";
  if (rename(tmp, path) != 0)
    goto fail;
  free(tmp);
  tmp = NULL; /* renamed: nothing to remove any more */
  what = "sync directory";
  if ((dfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fsync(dfd) != 0)
    goto fail;
  close(dfd);
  free(path);
  return LSYS_OK;

fail:
  if (rc == LSYS_EIO)
    snprintf(err, errlen, "cannot store LogBeacon API key in %s (%s): %s", path, what, strerror(errno));
  else
    snprintf(err, errlen, "out of memory storing a LogBeacon API key");
  if (fd >= 0)
    close(fd);
  if (dfd >= 0)
    close(dfd);
  if (tmp != NULL)
    unlink(tmp);
  free(tmp);
  free(path);
  return rc;
}

int lsys_apikey_store_set(lsys_apikey_store *s, const char *domain, const char *program,
                          const char *key, char *err, size_t errlen) {
  char *name = NULL;
  const entry *e;
  int rc = LSYS_EINVAL;

  if (s == NULL || domain == NULL || program == NULL || !lsys_apikey_store_valid_key(key)) {
    snprintf(err, errlen, "refusing a LogBeacon API key that is empty, too long or not printable");
    goto done;
  }
  rc = LSYS_ENOMEM;
  if ((name = entry_name(domain, program)) == NULL) {
    snprintf(err, errlen, "out of memory storing a LogBeacon API key");
    goto done;
  }
  e = find(s, name);
  if (e != NULL && strcmp(e->key, key) == 0) {
    rc = LSYS_OK; /* unchanged: no write */
    goto done;
  }
  if ((rc = remember(s, name, key)) != LSYS_OK) {
    snprintf(err, errlen, "out of memory storing a LogBeacon API key");
    goto done;
  }
  if (s->dir != NULL && name[0] != '\x01')
    rc = write_file(s, name, key, err, errlen);

done:
  free(name);
  return rc;
}
