/* config_table.h - the table of every logsys setting (private to config.c).
 *
 * One row per key: its name, value type, default (as the text a user would
 * write), where it lives in struct lsys_config, which binaries use it, a
 * validator and the help text. The loader, the environment overrides,
 * --check-config and --help are all driven by this one table, so a new
 * setting is one new row (plus its struct field). */
#ifndef LSYS_CONFIG_TABLE_H
#define LSYS_CONFIG_TABLE_H

#include <stddef.h>
#include "config.h"

/* Value types; the struct field type for each is checked at compile time. */
typedef enum lsys_cfg_type {
  LSYS_CFG_STRING, /* char *, owned by the config; an empty value means unset (NULL) */
  LSYS_CFG_INT,    /* int, decimal, min..max */
  LSYS_CFG_LONG,   /* long, decimal, min..max */
  LSYS_CFG_MODE,   /* int, an octal file mode 0000..0777 */
  LSYS_CFG_BOOL,   /* int 0 or 1, from 0|1|true|false|yes|no */
  LSYS_CFG_ENUM,   /* lsys_console_mode: the index of the value in choices */
} lsys_cfg_type;

/* Row flags. */
enum {
  LSYS_CFG_SECRET = 1u << 0, /* never shown in a message, printed as ****, also <NAME>_FILE */
  LSYS_CFG_URL = 1u << 1,    /* a secret URL: printed with lsys_config_mask_url instead */
};

/* A validator returns 0, or LSYS_EINVAL with *why set to a static text saying
 * what was expected (it never quotes the value). */
typedef int (*lsys_cfg_validator)(const char *value, const char **why);

typedef struct lsys_cfg_key {
  const char *name;            /* LOGSYS_... */
  lsys_cfg_type type;
  unsigned flags;              /* LSYS_CFG_SECRET, LSYS_CFG_URL */
  const char *def;             /* default as text; NULL: unset */
  size_t offset;               /* offsetof(lsys_config, field) */
  unsigned binaries;           /* LSYS_BIN_* mask of the binaries that read it */
  long min, max;               /* INT, LONG */
  const char *const *choices;  /* ENUM: NULL-terminated */
  lsys_cfg_validator validate; /* STRING: checks a non-empty value; NULL: any text */
  const char *help;
} lsys_cfg_key;

#define LSYS_CONFIG_KEY_COUNT 38

/* The table, in the order --check-config and --help print it. */
extern const lsys_cfg_key lsys_config_table[LSYS_CONFIG_KEY_COUNT];

/* lsys_config_table_find returns the row named name, or NULL. */
const lsys_cfg_key *lsys_config_table_find(const char *name);

/* lsys_config_table_set parses value as k's type into cfg (a string is copied;
 * the previous one is freed). Returns 0, LSYS_ENOMEM, or LSYS_EINVAL with a
 * text saying what was expected in why (never the value itself). */
int lsys_config_table_set(const lsys_cfg_key *k, lsys_config *cfg, const char *value, char *why,
                          size_t whylen);

/* lsys_config_table_format returns the value of k in cfg as printable text:
 * either buf (len bytes, filled here) or a string owned by cfg. Secrets come
 * back as "****" ("" when unset), a secret URL with its password masked. */
const char *lsys_config_table_format(const lsys_cfg_key *k, const lsys_config *cfg, char *buf,
                                     size_t len);

/* lsys_config_table_describe writes what k accepts ("integer 1..65535",
 * "auto|color|plain|json|off", ...) into buf, for --help. */
void lsys_config_table_describe(const lsys_cfg_key *k, char *buf, size_t len);

/* lsys_config_table_valid_domain is the LOGSYS_DOMAIN rule (a queue name
 * prefix): [A-Za-z0-9._-]+, at most 200 bytes, not starting with "amq.".
 * Returns 0 or LSYS_EINVAL with a static reason in *why. */
int lsys_config_table_valid_domain(const char *value, const char **why);

#endif
