/* spool_checkpoint.c - load and atomically replace spool.ckpt. */
#include "spool_checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "errors.h"
#include "spool_format.h"

int lsys_spool_checkpoint_load(int dirfd, uint64_t *released, uint64_t *next_seq, char *err,
                               size_t errlen) {
  uint8_t buf[LSYS_SPOOL_CKPT_BYTES + 1];
  ssize_t n = 0;
  int rc = LSYS_OK;
  *released = *next_seq = 0;
  (void)unlinkat(dirfd, LSYS_SPOOL_CKPT_TMP, 0);
  int fd = openat(dirfd, LSYS_SPOOL_CKPT_NAME, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 && errno == ENOENT)
    return LSYS_OK;
  if (fd >= 0) {
    do
      n = pread(fd, buf, sizeof buf, 0);
    while (n < 0 && errno == EINTR);
  }
  if (fd < 0 || n < 0) {
    snprintf(err, errlen, "cannot read " LSYS_SPOOL_CKPT_NAME ": %s", strerror(errno));
    rc = LSYS_EIO;
  } else if (lsys_spool_format_parse_checkpoint(buf, (size_t)n, released, next_seq) != LSYS_OK) {
    snprintf(err, errlen, LSYS_SPOOL_CKPT_NAME " is damaged (%zd bytes); replaying every record",
             n);
    rc = LSYS_EPROTO;
  }
  if (fd >= 0)
    close(fd);
  return rc;
}

int lsys_spool_checkpoint_store(int dirfd, uint64_t released, uint64_t next_seq, int durable) {
  uint8_t buf[LSYS_SPOOL_CKPT_BYTES];
  size_t done = 0;
  int rc = LSYS_EIO;
  lsys_spool_format_checkpoint(buf, released, next_seq);
  int fd = openat(dirfd, LSYS_SPOOL_CKPT_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
                  0600);
  if (fd < 0)
    goto done;
  while (done < sizeof buf) {
    ssize_t n = write(fd, buf + done, sizeof buf - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      goto done;
    done += (size_t)n;
  }
  if (durable && fdatasync(fd) != 0)
    goto done;
  if (renameat(dirfd, LSYS_SPOOL_CKPT_TMP, dirfd, LSYS_SPOOL_CKPT_NAME) != 0)
    goto done;
  if (durable && fsync(dirfd) != 0)
    goto done;
  rc = LSYS_OK;
done:
  if (fd >= 0)
    close(fd);
  return rc;
}
