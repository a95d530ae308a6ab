/* The inside of an opened table file, shared by the reader (lookups, open) and the iterator. */
#ifndef QX_SSTABLE_TABLE_H
#define QX_SSTABLE_TABLE_H

#include <stdatomic.h>
#include <stdint.h>

#include "sstable/block_cache.h"
#include "sstable/format.h"
#include "sstable/sstable.h"

typedef struct index_entry {
  uint64_t offset;
  uint32_t stored_size;
  uint32_t key_len;
  uint64_t last_lsn;
  const uint8_t *key; /* in the mapping */
} index_entry;

struct qx_sst {
  atomic_int refs;
  uint64_t number;
  char path[4096];
  const uint8_t *map;
  uint64_t size;
  sst_footer footer;
  index_entry *index;
  uint32_t blocks;
  const uint8_t *bloom;
  atomic_uint_fast64_t *verified; /* one bit per block whose checksum has been checked */
  qx_block_cache *cache;
  qx_sst_counters *counters;
};

/* One data block ready to read, pinned in the cache when it was decompressed. */
typedef struct block_ref {
  const uint8_t *data;
  uint32_t size;
  uint32_t count; /* entries */
  const uint32_t *offsets;
  uint64_t file_offset; /* where the block is stored */
  qx_cache_handle *pin;
} block_ref;

/* Loads block b (checksum verified on first use). QX_ERR_CORRUPT names file and offset. */
int qx_sst_load_block(qx_sst *t, uint32_t b, block_ref *out);
void qx_sst_release_block(qx_sst *t, block_ref *ref);
/* Decodes entry i of a block. */
int qx_sst_block_entry(const qx_sst *t, const block_ref *ref, uint32_t i, qx_ientry *out);
/* The first block whose last entry is >= (key, lsn); t->blocks if none. */
uint32_t qx_sst_find_block(const qx_sst *t, const uint8_t *key, size_t len, uint64_t lsn);
/* Sets *at to the first entry of the block >= (key, lsn), ref->count if none. QX_ERR_CORRUPT
 * (naming file and block) if the search meets a malformed entry. */
int qx_sst_find_in_block(const qx_sst *t, const block_ref *ref, const uint8_t *key, size_t len,
                         uint64_t lsn, uint32_t *at);

#endif
