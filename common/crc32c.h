/* crc32c.h - CRC-32C (Castagnoli), in software, for the spool's record checks.
 *
 * Slice-by-8 over tables built once (pthread_once), so it is safe to call from
 * any thread. No hardware instructions and no external dependency: about
 * 1-2 GB/s, which is far more than the spool's disk can write. */
#ifndef LSYS_CRC32C_H
#define LSYS_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* lsys_crc32c_update extends crc (the CRC of earlier bytes, 0 for none) with
 * len bytes at buf and returns the CRC of all of them, so
 * update(update(0, a), b) == crc32c(a || b). buf may be NULL when len is 0. */
uint32_t lsys_crc32c_update(uint32_t crc, const void *buf, size_t len);

/* lsys_crc32c returns the CRC-32C of len bytes at buf ("123456789" -> 0xE3069283). */
uint32_t lsys_crc32c(const void *buf, size_t len);

#endif
