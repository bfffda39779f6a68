/* apikey_store.h - LogBeacon API keys per (domain, program), in memory and in
 * LOGSYS_LOGBEACON_KEY_DIR as api_key-{domain}-{program}-logbeacon.txt (the
 * old worker's file names and format: the key alone, no newline needed).
 *
 * Every api_key-*-logbeacon.txt of the directory is loaded at create. A pair
 * is looked up by its file name, so memory and disk always agree, also for the
 * (inherent) case of two pairs sharing a name ("a-b","c" and "a","b-c").
 * A new or rotated key is written atomically: temporary file (mode 0600),
 * fsync, rename over the old file, fsync of the directory.
 *
 * File names are sanitised: '/', '\\' and control bytes become '_', and so
 * does the second '.' of any "..", so a name can never leave the directory;
 * everything else (also non-ASCII) is kept so the old files are found. A pair
 * whose file name would be over 255 bytes is kept in memory only.
 *
 * Keys are secrets: no function writes a key into an error message.
 * Not thread-safe: one owner. */
#ifndef LSYS_APIKEY_STORE_H
#define LSYS_APIKEY_STORE_H

#include <stddef.h>

typedef struct lsys_apikey_store lsys_apikey_store;

/* Longest key accepted, in bytes. Keys are 1..LSYS_APIKEY_MAX printable ASCII
 * characters without blanks; anything else is refused (and never stored). */
#define LSYS_APIKEY_MAX 1024

/* lsys_apikey_store_create makes a store backed by dir (created with mode
 * 0700 when missing; NULL: memory only) and loads the keys found there.
 * Unreadable or invalid files are skipped. On failure returns LSYS_ECONFIG
 * (dir cannot be created or read; err names the directory and the cause) or
 * LSYS_ENOMEM. *out (free with lsys_apikey_store_destroy) is written only on
 * success. */
int lsys_apikey_store_create(lsys_apikey_store **out, const char *dir, char *err, size_t errlen);

/* lsys_apikey_store_destroy frees s; NULL is allowed. */
void lsys_apikey_store_destroy(lsys_apikey_store *s);

/* lsys_apikey_store_get returns the key of (domain, program) or NULL. The
 * string belongs to s and stays valid until the next set of that pair or
 * destroy. */
const char *lsys_apikey_store_get(const lsys_apikey_store *s, const char *domain,
                                  const char *program);

/* lsys_apikey_store_set remembers key (copied) for (domain, program) and, when
 * it differs from the stored one and s has a directory, writes its file.
 * Returns LSYS_OK; LSYS_EINVAL for a key that is not acceptable (nothing
 * changes); LSYS_ENOMEM; or LSYS_EIO when the file could not be written (the
 * key is still kept in memory; err says why, without the key). */
int lsys_apikey_store_set(lsys_apikey_store *s, const char *domain, const char *program,
                          const char *key, char *err, size_t errlen);

/* lsys_apikey_store_file_name writes the sanitised file name of (domain,
 * program) into buf. Returns LSYS_OK, or LSYS_EINVAL when it does not fit in
 * len bytes or would exceed 255 bytes. */
int lsys_apikey_store_file_name(const char *domain, const char *program, char *buf, size_t len);

/* lsys_apikey_store_valid_key reports whether key may be stored and sent. */
int lsys_apikey_store_valid_key(const char *key);

#endif
