/* Checksum repair for fuzz inputs and crafted seeds (see fix_checksums.h). */
#include "fix_checksums.h"

#include <stddef.h>
#include <string.h>

#include "qaxdb/wal.h"
#include "sstable/format.h"
#include "util/crc32c.h"
#include "wal/format.h"

/* The MANIFEST's layout constants are private to src/lsm/manifest.c; these follow
 * docs/formats/manifest.md. */
#define MANIFEST_HEADER_SIZE 16u
#define MANIFEST_FRAME_SIZE 8u

/* Is [offset, offset + length) inside an image of size bytes? */
static int inside(uint64_t offset, uint64_t length, size_t size) {
  return offset <= size && length <= size - offset;
}

static void fix_block(uint8_t *image, size_t limit, const sst_index_entry *ie) {
  if (!inside(ie->offset, (uint64_t)ie->stored_size + SST_TRAILER_SIZE, limit)) return;
  uint8_t *trailer = image + ie->offset + ie->stored_size;
  uint32_t crc = qx_crc32c(qx_crc32c(0, image + ie->offset, ie->stored_size), trailer, 8);
  memcpy(trailer + offsetof(sst_block_trailer, crc), &crc, 4);
}

void fuzz_fix_sstable(uint8_t *image, size_t size) {
  if (size < SST_FOOTER_SIZE) return;
  size_t tail = size - SST_FOOTER_SIZE;
  sst_footer f;
  memcpy(&f, image + tail, sizeof f);
  if (inside(f.index_offset, f.index_size, tail)) {
    uint64_t at = f.index_offset, end = f.index_offset + f.index_size;
    for (uint32_t b = 0; b < f.block_count && end - at >= sizeof(sst_index_entry); b++) {
      sst_index_entry ie;
      memcpy(&ie, image + at, sizeof ie);
      fix_block(image, tail, &ie);
      if (end - at - sizeof ie < sst_pad8(ie.key_len)) break;
      at += sizeof ie + sst_pad8(ie.key_len);
    }
    f.index_crc = qx_crc32c(0, image + f.index_offset, f.index_size);
  }
  if (inside(f.bloom_offset, f.qx_bloom_size, tail))
    f.bloom_crc = qx_crc32c(0, image + f.bloom_offset, f.qx_bloom_size);
  f.footer_crc = qx_crc32c(0, &f, offsetof(sst_footer, footer_crc));
  memcpy(image + tail, &f, sizeof f);
}

void fuzz_fix_wal_segment(uint8_t *image, size_t size) {
  if (size < WAL_SEGMENT_HEADER_SIZE) return;
  wal_segment_header h;
  memcpy(&h, image, sizeof h);
  h.segment_size = size;
  h.crc = qx_crc32c(0, &h, offsetof(wal_segment_header, crc));
  memcpy(image, &h, sizeof h);
  for (size_t at = WAL_SEGMENT_HEADER_SIZE; size - at >= WAL_ENTRY_HEADER_SIZE;) {
    wal_entry_header e;
    memcpy(&e, image + at, sizeof e);
    if (e.size == 0 || e.size > QX_WAL_MAX_RECORD || wal_entry_span(e.size) > size - at) break;
    uint32_t crc = qx_crc32c(0, image + at + 4, WAL_ENTRY_HEADER_SIZE - 4 + e.size);
    memcpy(image + at, &crc, 4);
    at += wal_entry_span(e.size);
  }
}

void fuzz_fix_manifest(uint8_t *image, size_t size) {
  if (size < MANIFEST_HEADER_SIZE) return;
  uint32_t crc = qx_crc32c(0, image, 12);
  memcpy(image + 12, &crc, 4);
  for (size_t at = MANIFEST_HEADER_SIZE; size - at >= MANIFEST_FRAME_SIZE;) {
    uint32_t length;
    memcpy(&length, image + at, 4);
    if (length > size - at - MANIFEST_FRAME_SIZE) break;
    crc = qx_crc32c(0, image + at + MANIFEST_FRAME_SIZE, length);
    memcpy(image + at + 4, &crc, 4);
    at += MANIFEST_FRAME_SIZE + length;
  }
}
