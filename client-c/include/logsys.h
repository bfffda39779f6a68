/**
 * \file logsys.h
 * \brief liblogsys - the application side of logsys.
 *
 * logsys_log() copies a record into a bounded in-memory buffer and returns; a
 * background thread sends records in batches over nng IPC (protobuf) to the
 * logsysd sidecar, which acknowledges each record only after it is durably
 * accepted. Records not acknowledged are resent; when the buffer is full the
 * record is dropped and counted (see logsys_stats()).
 *
 * Thread safety: every function may be called from any thread, except that
 * logsys_close() must not race with other calls on the same client.
 */
#ifndef LOGSYS_H
#define LOGSYS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Levels (the default routing table of the sidecar). */
enum logsys_level {
  LOGSYS_DEBUG = 0,
  LOGSYS_INFO = 1,
  LOGSYS_ERROR = 9,
  LOGSYS_INFO_CTG = 11,
  LOGSYS_ERROR_CTG = 91,
  LOGSYS_MONITOR = 99,
};

/** Error codes (returned negated nowhere: all are positive, 0 is success). */
enum logsys_error {
  LOGSYS_OK = 0,
  LOGSYS_EINVAL = 1,    /**< bad argument (unknown level, NULL client) */
  LOGSYS_EFULL = 2,     /**< buffer full: the record was dropped and counted */
  LOGSYS_ENOMEM = 3,    /**< allocation failed: the record was dropped and counted */
  LOGSYS_ETIMEDOUT = 4, /**< flush/close: records still unacknowledged */
  LOGSYS_ECLOSED = 5,   /**< the client is closing */
  LOGSYS_ESYS = 6,      /**< a system or nng call failed at open */
};

/** What the sidecar said about one record (passed to logsys_options.on_result). */
enum logsys_result {
  LOGSYS_RESULT_ACCEPTED = 0, /**< durably accepted (flags may say it was changed) */
  LOGSYS_RESULT_REJECTED = 1, /**< invalid: will not be resent */
};

/** Flags of an accepted record. */
enum logsys_result_flag {
  LOGSYS_FLAG_TRUNCATED = 1,     /**< a field was cut at the size limit */
  LOGSYS_FLAG_UTF8_REPAIRED = 2, /**< invalid UTF-8 was replaced by U+FFFD */
};

/**
 * Called on the sender thread for every record that was rejected or accepted
 * with flags. Must not block and must not call back into the client.
 * \param log_id the record's idempotency key (valid during the call only)
 * \param reason the sidecar's reason text (valid during the call only)
 */
typedef void (*logsys_result_fn)(void *arg, const char *log_id, int result, unsigned flags,
                                 const char *reason);

/** Options for logsys_open(); zero/NULL fields take the default. */
typedef struct logsys_options {
  const char *ipc_url;       /**< default: $LOGSYS_IPC_URL, else ipc:///tmp/logsys.sock */
  const char *program_name;  /**< default: the process name */
  size_t buffer_records;     /**< ring capacity (rounded up to a power of 2), default 65536 */
  unsigned batch_records;    /**< max records per request, default 512 */
  int reply_timeout_ms;      /**< wait for a reply before resending, default 5000 */
  logsys_result_fn on_result; /**< optional */
  void *on_result_arg;
} logsys_options;

/** Counters of a client (monotonic except pending). */
typedef struct logsys_stats {
  uint64_t logged;        /**< records accepted by logsys_log() into the buffer */
  uint64_t acknowledged;  /**< records the sidecar durably accepted */
  uint64_t rejected;      /**< records the sidecar rejected (not resent) */
  uint64_t dropped;       /**< records dropped because the buffer was full */
  uint64_t resent;        /**< records sent again after a timeout or retry reply */
  uint64_t pending;       /**< logged - acknowledged - rejected */
} logsys_stats;

typedef struct logsys_client logsys_client;

/**
 * Creates a client and starts its sender thread. The sidecar need not be up:
 * records wait in the buffer until it is.
 * \param out set to the new client on success only
 * \param opts may be NULL for all defaults
 * \return LOGSYS_OK, LOGSYS_EINVAL, LOGSYS_ENOMEM or LOGSYS_ESYS
 */
int logsys_open(logsys_client **out, const logsys_options *opts);

/**
 * Logs one record without waiting for anything. Strings are copied; NULL
 * means "". A unique hash and log_id are made here.
 * \return LOGSYS_OK; LOGSYS_EINVAL for an unknown level (nothing logged);
 *         LOGSYS_EFULL or LOGSYS_ENOMEM when the record was dropped (counted);
 *         LOGSYS_ECLOSED after logsys_close() began.
 */
int logsys_log(logsys_client *c, int level, const char *def_name, const char *message,
               const char *extra_info);

/**
 * As logsys_log(), with the caller's correlation key (the old system's
 * hash_value); NULL or "" makes a unique one.
 */
int logsys_log_hash(logsys_client *c, int level, const char *def_name, const char *message,
                    const char *extra_info, const char *hash_value);

/**
 * Waits until every record logged before the call is acknowledged or rejected,
 * or timeout_ms passes.
 * \return LOGSYS_OK or LOGSYS_ETIMEDOUT
 */
int logsys_flush(logsys_client *c, int timeout_ms);

/** Copies the client's counters into *st. */
void logsys_stats_get(logsys_client *c, logsys_stats *st);

/**
 * Flushes for up to timeout_ms, stops the sender and frees the client.
 * \param undelivered if not NULL, set to the number of records that were not
 *        acknowledged (still pending, or dropped at close)
 * \return LOGSYS_OK when everything was acknowledged, else LOGSYS_ETIMEDOUT
 */
int logsys_close(logsys_client *c, int timeout_ms, uint64_t *undelivered);

/** Returns a static description of an error code. */
const char *logsys_strerror(int err);

/** Returns 1 when level is one of the six levels, else 0. */
int logsys_level_valid(int level);

#ifdef __cplusplus
}
#endif
#endif
