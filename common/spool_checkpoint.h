/* spool_checkpoint.h - the spool's release point on disk (spool.ckpt).
 *
 * The checkpoint says "every record with seq <= released is confirmed" and
 * which seq comes next. It is replaced atomically (write spool.ckpt.tmp, then
 * rename over spool.ckpt), so a crash leaves the old or the new one. A
 * checkpoint that is lost or stale only means replaying records that were
 * already confirmed (duplicates, which downstream drops by log_id); it never
 * loses one. Bytes: spool_format.h. */
#ifndef LSYS_SPOOL_CHECKPOINT_H
#define LSYS_SPOOL_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#define LSYS_SPOOL_CKPT_NAME "spool.ckpt"
#define LSYS_SPOOL_CKPT_TMP "spool.ckpt.tmp"

/* lsys_spool_checkpoint_load reads the checkpoint in dirfd and removes a
 * leftover spool.ckpt.tmp (a crash between write and rename).
 * Returns LSYS_OK with *released and *next_seq (both 0 when there is no
 * checkpoint yet), or LSYS_EPROTO (damaged) / LSYS_EIO (unreadable) with a
 * message in err and both set to 0: the caller reports it and goes on, since
 * replaying everything is safe. */
int lsys_spool_checkpoint_load(int dirfd, uint64_t *released, uint64_t *next_seq, char *err,
                               size_t errlen);

/* lsys_spool_checkpoint_store replaces the checkpoint in dirfd. With durable
 * set it is fdatasync'ed and the directory fsync'ed before returning (needed
 * before segments are deleted, so sequence numbers never go back); without,
 * it survives a crash of the process but maybe not of the machine.
 * Returns LSYS_OK or LSYS_EIO. */
int lsys_spool_checkpoint_store(int dirfd, uint64_t released, uint64_t next_seq, int durable);

#endif
