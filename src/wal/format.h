/* The WAL's on-disk format, byte by byte. docs/formats/wal.md is the reference; keep in step.
 *
 * A log is a directory of segment files named <first LSN, 20 decimal digits>.wal. Each file is
 * preallocated to the segment size and zero-filled before use, then holds:
 *
 *   segment header, 64 bytes:
 *     0  magic "QAXDBWAL"            8 bytes
 *     8  format version (1)          u32
 *    12  header size (64)            u32
 *    16  first LSN of the segment    u64
 *    24  segment size in bytes       u64
 *    32  creation time, ns           i64
 *    40  previous segment's first LSN u64  (the segment this one was rotated from; 0: none, or
 *                                          written before the field existed)
 *    48  reserved, zero              12 bytes
 *    60  CRC32C of bytes 0..59       u32
 *
 *   entries, each starting at an 8-byte aligned offset, back to back:
 *     0  CRC32C of bytes 4 .. 32+size u32  (header after this field, then the payload)
 *     4  payload size                 u32  (1 .. QX_WAL_MAX_RECORD)
 *     8  LSN                          u64
 *    16  timestamp, ns                i64
 *    24  table id                     u16
 *    26  schema version               u16
 *    28  flags                        u32  (WAL_ENTRY_BATCH_CONTINUES; every other bit zero)
 *    32  payload, then zero padding to the next multiple of 8
 *
 * All integers little-endian. An entry is valid when its size is in range, it fits in the file,
 * its CRC matches, it has no unknown flag, and its LSN is exactly one more than the previous
 * entry's (the first entry of a segment carries the header's first LSN). The first invalid entry
 * ends the segment; what that means (end of segment, torn tail, or corruption) is decided in
 * scan.c.
 *
 * Batches. The records of one append call form a batch: consecutive entries, every one but the
 * last with WAL_ENTRY_BATCH_CONTINUES set; a batch may span segments. The log holds whole batches
 * only: a batch whose last entry is missing where the log ends (a torn tail, a failed write or
 * rotation) is cut with the tail, from its first entry on, and the writer never publishes an LSN
 * inside a batch, so no reader stops in one. Logs written before the flag existed have zero
 * there (the field was reserved), so each of their entries reads as a batch of one: the format
 * version stays 1. */
#ifndef QX_WAL_FORMAT_H
#define QX_WAL_FORMAT_H

#include <stdint.h>

#include "qaxdb/wal.h"

#define WAL_MAGIC "QAXDBWAL"
#define WAL_FORMAT_VERSION 1u
#define WAL_SEGMENT_HEADER_SIZE 64u
#define WAL_ENTRY_HEADER_SIZE 32u
#define WAL_SEGMENT_SUFFIX ".wal"
#define WAL_SEGMENT_NAME_LEN 24      /* 20 digits + ".wal" */
#define WAL_ENTRY_BATCH_CONTINUES QX_WAL_BATCH_CONTINUES /* more entries of this entry's batch follow it */
#define WAL_ENTRY_KNOWN_FLAGS WAL_ENTRY_BATCH_CONTINUES

typedef struct wal_segment_header {
  char magic[8];
  uint32_t format_version;
  uint32_t header_size;
  uint64_t first_lsn;
  uint64_t segment_size;
  int64_t created_ns;
  uint64_t prev_first_lsn;
  uint8_t reserved[12];
  uint32_t crc;
} wal_segment_header;
_Static_assert(sizeof(wal_segment_header) == WAL_SEGMENT_HEADER_SIZE, "segment header layout");

typedef struct wal_entry_header {
  uint32_t crc;
  uint32_t size;
  uint64_t lsn;
  int64_t ts_ns;
  uint16_t table_id;
  uint16_t schema_version;
  uint32_t flags;
} wal_entry_header;
_Static_assert(sizeof(wal_entry_header) == WAL_ENTRY_HEADER_SIZE, "entry header layout");

/* Bytes an entry with a payload of size bytes occupies, header and padding included. */
static inline uint64_t wal_entry_span(uint32_t size) {
  return WAL_ENTRY_HEADER_SIZE + (((uint64_t)size + 7) & ~(uint64_t)7);
}

#endif
