/* config.c - loads, checks and prints the settings (SPEC section 7).
 *
 * Defaults, then the --config file, then LOGSYS_* environment variables, each
 * a KEY=value pair run through the same apply(): a row of config_table.c, a
 * secret's <NAME>_FILE variant, or LOGSYS_ROUTE_<level>. Messages name the key
 * and the bad value, except for secrets, whose values never leave this file. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "config.h"
#include "config_table.h"
#include "errors.h"

#define ROUTE_PREFIX "LOGSYS_ROUTE_"
#define FILE_SUFFIX "_FILE"
#define SECRET_FILE_MAX (64 * 1024) /* a token or URL; anything bigger is a wrong path */
#define SHOWN_MAX 96                /* longest value quoted in a message */

/* How a key was set within one source, to refuse NAME and NAME_FILE together. */
enum { FORM_PLAIN = 1, FORM_FILE = 2 };

typedef struct loader {
  lsys_config *cfg;
  const char *where; /* "environment" or "config file PATH line N" */
  unsigned char forms[LSYS_CONFIG_KEY_COUNT];
  char *err;
  size_t errlen;
} loader;

/* fail writes "<where>: <message>" into the caller's error buffer and returns rc. */
__attribute__((format(printf, 3, 4))) static int fail(loader *l, int rc, const char *fmt, ...) {
  va_list ap;
  int n;
  if (l->err == NULL || l->errlen == 0)
    return rc;
  n = snprintf(l->err, l->errlen, "%s: ", l->where);
  if (n < 0 || (size_t)n >= l->errlen)
    return rc;
  va_start(ap, fmt);
  vsnprintf(l->err + n, l->errlen - (size_t)n, fmt, ap);
  va_end(ap);
  return rc;
}

/* shown copies s into buf for a message: control bytes as \xNN, cut after
 * SHOWN_MAX bytes with "...". Never called with a secret. */
static const char *shown(const char *s, char *buf, size_t len) {
  size_t n = 0;
  for (; *s && n + 8 < len; s++) {
    unsigned char c = (unsigned char)*s;
    if (n >= SHOWN_MAX) {
      n += (size_t)snprintf(buf + n, len - n, "...");
      break;
    }
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
      n += (size_t)snprintf(buf + n, len - n, c == '"' || c == '\\' ? "\\%c" : "\\x%02x", c);
    else
      buf[n++] = (char)c;
  }
  buf[n] = '\0';
  return buf;
}

/* claim records that row k is set in form (FORM_PLAIN or FORM_FILE) by the
 * current source; setting NAME and NAME_FILE in one source is an error. */
static int claim(loader *l, const lsys_cfg_key *k, int form) {
  size_t idx = (size_t)(k - lsys_config_table);
  if (l->forms[idx] & (form ^ (FORM_PLAIN | FORM_FILE)))
    return fail(l, LSYS_ECONFIG, "both %s and %s" FILE_SUFFIX " are set; use one", k->name,
                k->name);
  l->forms[idx] |= (unsigned char)form;
  return 0;
}

/* apply_value sets row k from value (origin: "" or " (from NAME_FILE path)"). */
static int apply_value(loader *l, const lsys_cfg_key *k, const char *value, const char *origin) {
  char why[160];
  char show[SHOWN_MAX * 4 + 16];
  int rc = lsys_config_table_set(k, l->cfg, value, why, sizeof why);
  if (rc == LSYS_ENOMEM)
    return fail(l, rc, "out of memory setting %s", k->name);
  if (rc != 0 && (k->flags & LSYS_CFG_SECRET))
    return fail(l, LSYS_ECONFIG, "bad value for %s%s (secret value not shown): %s", k->name,
                origin, why);
  if (rc != 0)
    return fail(l, LSYS_ECONFIG, "bad value for %s: \"%s\": %s", k->name,
                shown(value, show, sizeof show), why);
  return 0;
}

/* read_secret reads the file at path into *out (malloc'd, trailing blanks and
 * newlines removed). Returns 0, LSYS_EIO (errno set) or LSYS_ENOMEM. */
static int read_secret(const char *path, char **out) {
  FILE *fp = NULL;
  char *buf = NULL;
  size_t n = 0;
  int rc = LSYS_EIO;
  if ((fp = fopen(path, "rb")) == NULL)
    goto fail;
  if ((buf = malloc(SECRET_FILE_MAX + 1)) == NULL) {
    rc = LSYS_ENOMEM;
    goto fail;
  }
  n = fread(buf, 1, SECRET_FILE_MAX + 1, fp);
  if (ferror(fp))
    goto fail;
  if (n > SECRET_FILE_MAX || memchr(buf, '\0', n) != NULL) {
    errno = n > SECRET_FILE_MAX ? EFBIG : EINVAL;
    goto fail;
  }
  while (n > 0 && strchr(" \t\r\n\v\f", buf[n - 1]))
    n--;
  buf[n] = '\0';
  fclose(fp);
  *out = buf;
  return 0;
fail:
  if (buf) {
    explicit_bzero(buf, SECRET_FILE_MAX + 1);
    free(buf);
  }
  if (fp) {
    int saved = errno;
    fclose(fp);
    errno = saved;
  }
  return rc;
}

/* apply_file sets secret row k from the file named by key (NAME_FILE=path). */
static int apply_file(loader *l, const lsys_cfg_key *k, const char *key, const char *path) {
  char *secret = NULL;
  char origin[512];
  char show[SHOWN_MAX * 4 + 16];
  int rc;
  if (!(k->binaries & l->cfg->binary))
    return 0; /* another binary's secret: do not even read it */
  if ((rc = claim(l, k, FORM_FILE)) != 0)
    goto fail;
  if (*path == '\0') {
    rc = fail(l, LSYS_ECONFIG, "%s is empty; give the path of a file holding %s", key, k->name);
    goto fail;
  }
  rc = read_secret(path, &secret);
  if (rc == LSYS_ENOMEM) {
    rc = fail(l, rc, "out of memory reading %s", key);
    goto fail;
  }
  if (rc != 0) {
    rc = fail(l, LSYS_ECONFIG, "%s: cannot read \"%s\": %s", key, shown(path, show, sizeof show),
              errno == EFBIG ? "larger than 64 KiB" : errno == EINVAL ? "holds a NUL byte"
                                                                      : strerror(errno));
    goto fail;
  }
  snprintf(origin, sizeof origin, " (from %s \"%s\")", key, shown(path, show, sizeof show));
  rc = apply_value(l, k, secret, origin);
fail:
  if (secret) {
    explicit_bzero(secret, strlen(secret));
    free(secret);
  }
  return rc;
}

/* parse_level reads the <level> of LOGSYS_ROUTE_<level>: a number or a level
 * name ("Error", any case). Returns 0 or LSYS_EINVAL. */
static int parse_level(const lsys_route_table *t, const char *s, long *level) {
  char *end = NULL;
  if (*s >= '0' && *s <= '9' && strlen(s) <= 3) {
    *level = strtol(s, &end, 10);
    return (*end == '\0' && lsys_routing_lookup(t, *level)) ? 0 : LSYS_EINVAL;
  }
  for (int i = 0; i < LSYS_LEVEL_COUNT; i++) {
    if (t->rows[i].name && strcasecmp(t->rows[i].name, s) == 0) {
      *level = t->rows[i].level;
      return 0;
    }
  }
  return LSYS_EINVAL;
}

/* apply_route overrides one routing row from LOGSYS_ROUTE_<level>=sinks. */
static int apply_route(loader *l, const char *key, const char *value) {
  char show[SHOWN_MAX * 4 + 16];
  long level = 0;
  unsigned sinks = 0;
  if (parse_level(&l->cfg->routes, key + strlen(ROUTE_PREFIX), &level) != 0)
    return fail(l, LSYS_ECONFIG, "unknown key %s: no such level (valid levels: %s)",
                shown(key, show, sizeof show), lsys_routing_valid_levels());
  if (!(l->cfg->binary & (LSYS_BIN_SIDECAR | LSYS_BIN_WORKER)))
    return 0;
  if (lsys_routing_parse_sinks(value, &sinks) != 0)
    return fail(l, LSYS_ECONFIG,
                "bad value for %s: \"%s\": expected sinks console, logbeacon, tg_developer, "
                "tg_customer separated by commas, or none",
                key, shown(value, show, sizeof show));
  if (lsys_routing_set(&l->cfg->routes, level, sinks) != 0)
    return fail(l, LSYS_ECONFIG, "unknown key %s (valid levels: %s)", key,
                lsys_routing_valid_levels());
  return 0;
}

/* file_variant returns the secret row whose NAME_FILE is key, or NULL. */
static const lsys_cfg_key *file_variant(const char *key) {
  size_t n = strlen(key), sn = strlen(FILE_SUFFIX);
  char name[128];
  const lsys_cfg_key *k;
  if (n <= sn || n - sn >= sizeof name || strcmp(key + n - sn, FILE_SUFFIX) != 0)
    return NULL;
  memcpy(name, key, n - sn);
  name[n - sn] = '\0';
  k = lsys_config_table_find(name);
  return (k && (k->flags & LSYS_CFG_SECRET)) ? k : NULL;
}

/* apply sets one KEY=value from the file or (from_env) the environment. */
static int apply(loader *l, const char *key, const char *value, int from_env) {
  char show[SHOWN_MAX * 4 + 16];
  const lsys_cfg_key *k = lsys_config_table_find(key);
  if (k && !(k->binaries & l->cfg->binary))
    return 0; /* another binary's key: the file may be a shared ConfigMap */
  if (k) {
    int rc = claim(l, k, FORM_PLAIN);
    return rc != 0 ? rc : apply_value(l, k, value, "");
  }
  if ((k = file_variant(key)) != NULL)
    return apply_file(l, k, key, value);
  if (strncmp(key, ROUTE_PREFIX, strlen(ROUTE_PREFIX)) == 0)
    return apply_route(l, key, value);
  if (from_env && (strncmp(key, "LOGSYS_TEST_", 12) == 0 || strncmp(key, "LOGSYS_BENCH_", 13) == 0))
    return 0; /* test and benchmark harness variables */
  return fail(l, LSYS_ECONFIG, "unknown key %s", shown(key, show, sizeof show));
}

/* parse_line applies one line of the config file (s is modified). */
static int parse_line(loader *l, char *s) {
  char *eq, *end, *value;
  size_t n = strlen(s);
  while (n > 0 && strchr(" \t\r\n\v\f", s[n - 1]))
    s[--n] = '\0';
  s += strspn(s, " \t");
  if (*s == '\0' || *s == '#')
    return 0;
  if (strncmp(s, "export", 6) == 0 && (s[6] == ' ' || s[6] == '\t'))
    s += 6 + strspn(s + 6, " \t");
  if ((eq = strchr(s, '=')) == NULL)
    return fail(l, LSYS_ECONFIG, "expected KEY=value"); /* the line may be a secret: not shown */
  for (end = eq; end > s && (end[-1] == ' ' || end[-1] == '\t'); end--)
    ;
  *end = '\0';
  if (*s == '\0')
    return fail(l, LSYS_ECONFIG, "expected KEY=value (no key before '=')");
  value = eq + 1;
  value += strspn(value, " \t");
  n = strlen(value);
  if (n > 0 && (value[0] == '"' || value[0] == '\'')) {
    if (n < 2 || value[n - 1] != value[0])
      return fail(l, LSYS_ECONFIG, "unterminated quote in the value of %s", s);
    value[n - 1] = '\0';
    value++;
  }
  return apply(l, s, value, 0);
}

/* load_file applies every line of the file at path. */
static int load_file(loader *l, const char *path) {
  char where[600];
  char show[SHOWN_MAX * 4 + 16];
  char *line = NULL;
  size_t cap = 0;
  unsigned lineno = 0;
  FILE *fp = NULL;
  int rc = 0;
  shown(path, show, sizeof show);
  snprintf(where, sizeof where, "config file %s", show);
  l->where = where;
  memset(l->forms, 0, sizeof l->forms);
  if ((fp = fopen(path, "r")) == NULL) {
    rc = fail(l, LSYS_ECONFIG, "cannot open: %s", strerror(errno));
    goto fail;
  }
  while (getline(&line, &cap, fp) != -1) {
    snprintf(where, sizeof where, "config file %s line %u", show, ++lineno);
    if ((rc = parse_line(l, line)) != 0)
      goto fail;
  }
  if (ferror(fp)) {
    snprintf(where, sizeof where, "config file %s", show);
    rc = fail(l, LSYS_ECONFIG, "read error: %s", strerror(errno));
  }
fail:
  if (line) {
    explicit_bzero(line, cap); /* it may have held a secret */
    free(line);
  }
  if (fp)
    fclose(fp);
  l->where = "config";
  return rc;
}

/* load_env applies the LOGSYS_* entries of environ_. */
static int load_env(loader *l, char *const *environ_) {
  char key[256];
  l->where = "environment";
  memset(l->forms, 0, sizeof l->forms);
  for (; *environ_; environ_++) {
    const char *e = *environ_, *eq;
    size_t n;
    int rc;
    if (strncmp(e, "LOGSYS_", 7) != 0 || (eq = strchr(e, '=')) == NULL)
      continue;
    n = (size_t)(eq - e) < sizeof key ? (size_t)(eq - e) : sizeof key - 1;
    memcpy(key, e, n);
    key[n] = '\0';
    if ((rc = apply(l, key, eq + 1, 1)) != 0)
      return rc;
  }
  return 0;
}

/* load_defaults sets every row that has a default (for all binaries alike). */
static int load_defaults(loader *l) {
  char why[160];
  l->where = "built-in defaults";
  for (size_t i = 0; i < LSYS_CONFIG_KEY_COUNT; i++) {
    const lsys_cfg_key *k = &lsys_config_table[i];
    int rc;
    if (k->def && (rc = lsys_config_table_set(k, l->cfg, k->def, why, sizeof why)) != 0)
      return fail(l, rc == LSYS_ENOMEM ? rc : LSYS_ECONFIG, "%s: %s", k->name, why);
  }
  lsys_routing_default(&l->cfg->routes);
  return 0;
}

int lsys_config_load(lsys_config *cfg, lsys_binary binary, const char *path, char *const *environ_,
                     char *err, size_t errlen) {
  loader l = {.cfg = cfg, .where = "config", .err = err, .errlen = errlen};
  int rc;
  if (err && errlen)
    err[0] = '\0';
  memset(cfg, 0, sizeof *cfg);
  cfg->binary = binary;
  if ((rc = load_defaults(&l)) != 0)
    goto fail;
  if (path && (rc = load_file(&l, path)) != 0)
    goto fail;
  if (environ_ && (rc = load_env(&l, environ_)) != 0)
    goto fail;
  return 0;
fail:
  lsys_config_free(cfg);
  return rc;
}

int lsys_config_require(const lsys_config *cfg, char *err, size_t errlen) {
  const lsys_cfg_key *k = lsys_config_table_find("LOGSYS_DOMAIN");
  char show[SHOWN_MAX * 4 + 16];
  const char *why = NULL;
  if (err == NULL)
    errlen = 0;
  if (!(cfg->binary & k->binaries))
    return 0;
  if (cfg->domain == NULL || cfg->domain[0] == '\0') {
    snprintf(err, errlen, "LOGSYS_DOMAIN is required (set it in the environment or the --config file)");
    return LSYS_ECONFIG;
  }
  if (lsys_config_table_valid_domain(cfg->domain, &why) != 0) {
    snprintf(err, errlen, "bad value for LOGSYS_DOMAIN: \"%s\": %s",
             shown(cfg->domain, show, sizeof show), why);
    return LSYS_ECONFIG;
  }
  return 0;
}

void lsys_config_print(const lsys_config *cfg, FILE *fp) {
  char buf[2048];
  for (size_t i = 0; i < LSYS_CONFIG_KEY_COUNT; i++) {
    const lsys_cfg_key *k = &lsys_config_table[i];
    if (k->binaries & cfg->binary)
      fprintf(fp, "%s=%s\n", k->name, lsys_config_table_format(k, cfg, buf, sizeof buf));
  }
  if (!(cfg->binary & (LSYS_BIN_SIDECAR | LSYS_BIN_WORKER)))
    return;
  for (int i = 0; i < LSYS_LEVEL_COUNT; i++) {
    buf[0] = '\0';
    lsys_routing_format_sinks(cfg->routes.rows[i].sinks, buf, sizeof buf);
    fprintf(fp, ROUTE_PREFIX "%d=%s\n", cfg->routes.rows[i].level, buf[0] ? buf : "none");
  }
}

void lsys_config_help(lsys_binary binary, FILE *fp) {
  char type[160];
  fprintf(fp, "Settings (KEY=value lines in the --config file, or LOGSYS_* environment variables;"
              " the environment wins):\n\n");
  for (size_t i = 0; i < LSYS_CONFIG_KEY_COUNT; i++) {
    const lsys_cfg_key *k = &lsys_config_table[i];
    if (!(k->binaries & binary))
      continue;
    lsys_config_table_describe(k, type, sizeof type);
    fprintf(fp, "  %-28s default: %s\n      %s [%s]\n", k->name,
            k->def ? k->def : "(unset)", k->help, type);
  }
  if (binary & (LSYS_BIN_SIDECAR | LSYS_BIN_WORKER))
    fprintf(fp, "  %-28s default: the routing table\n"
                "      Sinks of one level: console,logbeacon,tg_developer,tg_customer or none.\n"
                "      Levels: %s.\n",
            ROUTE_PREFIX "<level>", lsys_routing_valid_levels());
}

void lsys_config_mask_url(const char *url, char *buf, size_t len) {
  const char *p = url, *rest, *at, *colon;
  if (buf == NULL || len == 0)
    return;
  buf[0] = '\0';
  if (url == NULL)
    return;
  if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))) {
    snprintf(buf, len, "****");
    return;
  }
  while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
         *p == '+' || *p == '.' || *p == '-')
    p++;
  if (strncmp(p, "://", 3) != 0) {
    snprintf(buf, len, "****"); /* no scheme: cannot tell a password from a host */
    return;
  }
  rest = p + 3;
  /* The last '@' ends the user info even when an unencoded password holds '@'
   * or '/'; the cost of a '@' in the path is a masked host, never a leak. */
  at = strrchr(rest, '@');
  colon = at ? memchr(rest, ':', (size_t)(at - rest)) : NULL;
  if (colon == NULL) {
    snprintf(buf, len, "%s", url);
    return;
  }
  snprintf(buf, len, "%.*s:****%s", (int)(colon - url), url, at);
}

void lsys_config_free(lsys_config *cfg) {
  if (cfg == NULL)
    return;
  for (size_t i = 0; i < LSYS_CONFIG_KEY_COUNT; i++) {
    const lsys_cfg_key *k = &lsys_config_table[i];
    char **field;
    if (k->type != LSYS_CFG_STRING)
      continue;
    field = (char **)(void *)((char *)cfg + k->offset);
    if (*field && (k->flags & LSYS_CFG_SECRET))
      explicit_bzero(*field, strlen(*field));
    free(*field);
  }
  memset(cfg, 0, sizeof *cfg);
}
