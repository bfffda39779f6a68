/* spool_format.c - encoding and checking of spool records and segment names. */
#include "spool_format.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "crc32c.h"
#include "errors.h"

static void put32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}

static uint64_t get64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}

void lsys_spool_format_header(uint8_t *hdr, uint64_t seq, const void *payload, uint32_t len) {
  memcpy(hdr, LSYS_SPOOL_MAGIC, 4);
  put32(hdr + 8, len);
  put64(hdr + 12, seq);
  uint32_t crc = lsys_crc32c_update(0, hdr + 8, 12);
  put32(hdr + 4, lsys_crc32c_update(crc, payload, len));
}

int lsys_spool_format_peek(const uint8_t *hdr, uint32_t *len, uint64_t *seq) {
  if (memcmp(hdr, LSYS_SPOOL_MAGIC, 4) != 0)
    return LSYS_EPROTO;
  uint32_t l = get32(hdr + 8);
  uint64_t s = get64(hdr + 12);
  if (l > LSYS_SPOOL_MAX_RECORD || s == 0 || s >= LSYS_SPOOL_SEQ_MAX)
    return LSYS_EPROTO;
  *len = l;
  *seq = s;
  return LSYS_OK;
}

int lsys_spool_format_verify(const uint8_t *rec, uint32_t len) {
  uint32_t want = get32(rec + 4);
  return lsys_crc32c(rec + 8, 12 + (size_t)len) == want ? LSYS_OK : LSYS_EPROTO;
}

void lsys_spool_format_segment_name(char *out, uint64_t seq) {
  snprintf(out, LSYS_SPOOL_NAME_LEN, "spool-%020" PRIu64 ".seg", seq);
}

int lsys_spool_format_parse_segment_name(const char *name, uint64_t *seq) {
  if (strlen(name) != LSYS_SPOOL_NAME_LEN - 1 || memcmp(name, "spool-", 6) != 0 ||
      strcmp(name + 26, ".seg") != 0)
    return LSYS_EINVAL;
  uint64_t v = 0;
  for (int i = 6; i < 26; i++) {
    if (name[i] < '0' || name[i] > '9')
      return LSYS_EINVAL;
    if (v >= LSYS_SPOOL_SEQ_MAX / 10 + 1)
      return LSYS_EINVAL; /* would reach LSYS_SPOOL_SEQ_MAX: not a name we write */
    v = v * 10 + (uint64_t)(name[i] - '0');
  }
  if (v == 0 || v >= LSYS_SPOOL_SEQ_MAX)
    return LSYS_EINVAL;
  *seq = v;
  return LSYS_OK;
}

#define CKPT_MAGIC "LSYSCKP1"

void lsys_spool_format_checkpoint(uint8_t *out, uint64_t released, uint64_t next_seq) {
  memcpy(out, CKPT_MAGIC, 8);
  put64(out + 8, released);
  put64(out + 16, next_seq);
  put32(out + 24, lsys_crc32c(out, 24));
}

int lsys_spool_format_parse_checkpoint(const uint8_t *p, size_t n, uint64_t *released,
                                       uint64_t *next_seq) {
  if (n != LSYS_SPOOL_CKPT_BYTES || memcmp(p, CKPT_MAGIC, 8) != 0 ||
      lsys_crc32c(p, 24) != get32(p + 24))
    return LSYS_EPROTO;
  uint64_t rel = get64(p + 8), next = get64(p + 16);
  if (next == 0 || rel >= next || next > LSYS_SPOOL_SEQ_MAX)
    return LSYS_EPROTO;
  *released = rel;
  *next_seq = next;
  return LSYS_OK;
}
