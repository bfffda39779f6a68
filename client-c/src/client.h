/* client.h - liblogsys internals that logsys-send uses beyond the public API.
 *
 * The command-line tool must say which record failed, so it needs each record's
 * log_id and an outcome for every record, not only the rejected or changed ones.
 * These functions are hidden in the shared library; logsys-send links the static
 * one. */
#ifndef LSYS_CLIENT_H
#define LSYS_CLIENT_H

#include "ids.h"
#include "logsys.h"

/* lsys_client_open flag: call on_result for every accepted record too. */
#define LSYS_CLIENT_REPORT_ALL 1u

/* lsys_client_open is logsys_open() with LSYS_CLIENT_* flags. Same returns. */
int lsys_client_open(logsys_client **out, const logsys_options *opts, unsigned flags);

/* lsys_client_log is logsys_log_hash() that also copies the record's log_id into
 * log_id (LSYS_ID_LEN + 1 bytes) when it is not NULL and the call succeeds.
 * Same returns. */
int lsys_client_log(logsys_client *c, int level, const char *def_name, const char *message,
                    const char *extra_info, const char *hash_value, char *log_id);

#endif
