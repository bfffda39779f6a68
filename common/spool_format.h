/* spool_format.h - the spool's on-disk format, in one place: records,
 * segment file names and the checkpoint file's bytes.
 *
 * A segment file is a plain sequence of records, nothing before the first:
 *
 *   offset  size  field
 *        0     4  magic  F5 'L' 'S' 01  (F5 never occurs in UTF-8, 01 never
 *                        unescaped in JSON: rare inside payloads)
 *        4     4  crc    CRC-32C of bytes 8 .. 20+len (len, seq and payload)
 *        8     4  len    payload bytes, at most LSYS_SPOOL_MAX_RECORD
 *       12     8  seq    sequence number, increasing across the whole spool
 *       20   len  payload (opaque to the spool)
 *
 * All integers are little-endian. A segment is named after the sequence number
 * of its first record, spool-%020llu.seg, so names sort in replay order.
 *
 * The checkpoint file (spool.ckpt, written by spool_checkpoint.c) is 28 bytes:
 * "LSYSCKP1", released (u64: every seq <= it is confirmed), next_seq (u64: the
 * next seq to assign, so numbers keep increasing when every segment is gone),
 * and the CRC-32C of those 24 bytes.
 *
 * Because len <= 16 MiB, the high byte of len is 00 or 01: a payload of JSON
 * text cannot contain a whole valid header, so resynchronising after damage
 * (see spool_reader.h) cannot be fooled by a record embedded in a log line. */
#ifndef LSYS_SPOOL_FORMAT_H
#define LSYS_SPOOL_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define LSYS_SPOOL_MAGIC                                                                           \
  "\xF5"                                                                                           \
  "LS"                                                                                             \
  "\x01"                                       /* 4 bytes, no NUL counted */
#define LSYS_SPOOL_HDR 20u                     /* header bytes before the payload */
#define LSYS_SPOOL_MAX_RECORD (16u << 20)      /* largest payload: 16 MiB */
#define LSYS_SPOOL_SEQ_MAX (UINT64_C(1) << 62) /* sequence numbers stay below this */
#define LSYS_SPOOL_NAME_LEN 31u                /* "spool-" 20 digits ".seg" and NUL */
#define LSYS_SPOOL_CKPT_BYTES 28u              /* size of the checkpoint file */

/* LSYS_SPOOL_EMPTY: "no record ready" from lsys_spool_next and the reader
 * (not an error; like LSYS_RING_EMPTY). */
#define LSYS_SPOOL_EMPTY (-1)

/* lsys_spool_report_fn receives one line about damage found on disk (which
 * file, at which offset, how many bytes skipped) for the owner to log. line is
 * valid only during the call. */
typedef void (*lsys_spool_report_fn)(void *arg, const char *line);

/* lsys_spool_format_header writes the LSYS_SPOOL_HDR-byte header of a record
 * with sequence number seq and payload[0..len) into hdr (CRC included). The
 * caller has checked len <= LSYS_SPOOL_MAX_RECORD. */
void lsys_spool_format_header(uint8_t *hdr, uint64_t seq, const void *payload, uint32_t len);

/* lsys_spool_format_peek decodes the header at hdr (LSYS_SPOOL_HDR bytes).
 * Returns LSYS_OK with *len and *seq, or LSYS_EPROTO when the magic is wrong,
 * len exceeds LSYS_SPOOL_MAX_RECORD or seq is 0 or not below LSYS_SPOOL_SEQ_MAX.
 * The CRC is not checked here (the payload may not be read yet). */
int lsys_spool_format_peek(const uint8_t *hdr, uint32_t *len, uint64_t *seq);

/* lsys_spool_format_verify checks the CRC of the whole record at rec
 * (LSYS_SPOOL_HDR + len bytes, len from lsys_spool_format_peek).
 * Returns LSYS_OK or LSYS_EPROTO. */
int lsys_spool_format_verify(const uint8_t *rec, uint32_t len);

/* lsys_spool_format_segment_name writes the file name of the segment whose
 * first record is seq into out (LSYS_SPOOL_NAME_LEN bytes). */
void lsys_spool_format_segment_name(char *out, uint64_t seq);

/* lsys_spool_format_parse_segment_name returns LSYS_OK and the sequence number
 * in *seq when name is exactly a segment name with 1 <= seq < LSYS_SPOOL_SEQ_MAX,
 * else LSYS_EINVAL (any other file in the directory is not ours). */
int lsys_spool_format_parse_segment_name(const char *name, uint64_t *seq);

/* lsys_spool_format_checkpoint writes the LSYS_SPOOL_CKPT_BYTES bytes of a
 * checkpoint into out. */
void lsys_spool_format_checkpoint(uint8_t *out, uint64_t released, uint64_t next_seq);

/* lsys_spool_format_parse_checkpoint decodes n bytes at p. Returns LSYS_OK with
 * *released and *next_seq, or LSYS_EPROTO when the size, magic or CRC is wrong
 * or the numbers are impossible (released >= next_seq, next_seq > LSYS_SPOOL_SEQ_MAX). */
int lsys_spool_format_parse_checkpoint(const uint8_t *p, size_t n, uint64_t *released,
                                       uint64_t *next_seq);

#endif
