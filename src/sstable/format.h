/* The byte layout of a row SSTable (docs/formats/sstable.md is the prose version of this
 * file; keep them in step). All integers are little-endian; every block starts at an 8-byte
 * aligned file offset so that values in an uncompressed block are 8-byte aligned in the map.
 *
 *   data block 0 | trailer | pad | data block 1 | trailer | pad | ... | index | bloom | footer
 *
 * A data block (before compression) is its entries, then u32 offsets[count] (each entry's
 * offset in the block) and u32 count. An entry is an entry_header, the key padded to 8 bytes,
 * the value padded to 8 bytes. */
#ifndef QX_SSTABLE_FORMAT_H
#define QX_SSTABLE_FORMAT_H

#include <stdint.h>

#define SST_MAGIC "QXSST001"
#define SST_FORMAT_VERSION 1u
#define SST_FOOTER_SIZE 64u
#define SST_TRAILER_SIZE 16u
/* The largest data block, before compression, that a reader accepts. The builder's target
 * block size is at most half of it, and a block over its target holds one entry (at most
 * 16 + 256 + 65536 bytes, its offset and the count), so a valid file never comes near it. */
#define SST_MAX_BLOCK_SIZE (4u << 20)
/* The smallest index entry: its header and a key of 1 byte padded to 8. */
#define SST_MIN_INDEX_ENTRY 32u

typedef struct sst_entry_header {
  uint64_t lsn;
  uint32_t value_len;
  uint16_t key_len;
  uint8_t kind;
  uint8_t reserved;
} sst_entry_header; /* 16 bytes */

/* After each stored data block. crc covers the stored bytes, then bytes 0..7 of the trailer. */
typedef struct sst_block_trailer {
  uint8_t compression; /* how this block is stored: enum qx_sst_compression */
  uint8_t reserved[3];
  uint32_t raw_size; /* bytes after decompression */
  uint32_t crc;
  uint32_t reserved2;
} sst_block_trailer;

/* One index entry per data block, back to back: this header, then the block's last key
 * padded to 8 bytes. The index block is never compressed. */
typedef struct sst_index_entry {
  uint64_t offset;      /* of the block's stored bytes */
  uint32_t stored_size; /* stored bytes, without the trailer */
  uint32_t key_len;
  uint64_t last_lsn; /* LSN of the block's last entry */
} sst_index_entry;   /* 24 bytes */

typedef struct sst_footer {
  uint64_t index_offset;
  uint32_t index_size;
  uint32_t index_crc;
  uint64_t bloom_offset;
  uint32_t qx_bloom_size;
  uint32_t bloom_crc;
  uint64_t entry_count;
  uint32_t block_count;
  uint8_t compression; /* the file's setting; each block says how it is stored */
  uint8_t reserved[3];
  uint32_t format_version;
  uint32_t footer_crc; /* of bytes 0..51 */
  char magic[8];
} sst_footer;

_Static_assert(sizeof(sst_entry_header) == 16, "entry header layout");
_Static_assert(sizeof(sst_block_trailer) == SST_TRAILER_SIZE, "trailer layout");
_Static_assert(sizeof(sst_index_entry) == 24, "index entry layout");
_Static_assert(sizeof(sst_footer) == SST_FOOTER_SIZE, "footer layout");

static inline uint64_t sst_pad8(uint64_t n) {
  return (n + 7) & ~(uint64_t)7;
}

#endif
