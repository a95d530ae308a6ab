/* The block cache's interface to table readers (the public half is in sstable.h): decompressed
 * blocks keyed by (file number, block offset), pinned by handles while in use. */
#ifndef QX_SSTABLE_BLOCK_CACHE_H
#define QX_SSTABLE_BLOCK_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "sstable/sstable.h"

/* A pinned block, or NULL (a miss, counted). */
qx_cache_handle *qx_block_cache_lookup(qx_block_cache *cache, uint64_t file, uint64_t offset);
/* Inserts data (malloc'd, ownership passes to the cache) and returns it pinned. If another
 * thread inserted the same block meanwhile, data is freed and that block returned. NULL only
 * when out of memory (data is freed then too). */
qx_cache_handle *qx_block_cache_insert(qx_block_cache *cache, uint64_t file, uint64_t offset,
                                       void *data, size_t size);
const void *qx_block_cache_data(const qx_cache_handle *h);

#endif
