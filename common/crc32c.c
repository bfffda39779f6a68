/* crc32c.c - CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), slice-by-8. */
#include "crc32c.h"

#include <pthread.h>

#define POLY 0x82F63B78u

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

/* build_tables fills table[0] with the byte-at-a-time CRC and table[k] with
 * the CRC of a byte followed by k zero bytes, which slice-by-8 needs. */
static void build_tables(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int b = 0; b < 8; b++)
      c = (c & 1u) ? (c >> 1) ^ POLY : c >> 1;
    table[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; i++)
    for (int k = 1; k < 8; k++)
      table[k][i] = (table[k - 1][i] >> 8) ^ table[0][table[k - 1][i] & 0xffu];
}

/* le32 loads 4 bytes little-endian whatever the host's byte order. */
static uint32_t le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint32_t lsys_crc32c_update(uint32_t crc, const void *buf, size_t len) {
  const uint8_t *p = buf;
  pthread_once(&table_once, build_tables);
  crc = ~crc;
  while (len >= 8) {
    uint32_t lo = le32(p) ^ crc, hi = le32(p + 4);
    crc = table[7][lo & 0xffu] ^ table[6][(lo >> 8) & 0xffu] ^ table[5][(lo >> 16) & 0xffu] ^
          table[4][lo >> 24] ^ table[3][hi & 0xffu] ^ table[2][(hi >> 8) & 0xffu] ^
          table[1][(hi >> 16) & 0xffu] ^ table[0][hi >> 24];
    p += 8;
    len -= 8;
  }
  while (len--)
    crc = table[0][(crc ^ *p++) & 0xffu] ^ (crc >> 8);
  return ~crc;
}

uint32_t lsys_crc32c(const void *buf, size_t len) { return lsys_crc32c_update(0, buf, len); }
