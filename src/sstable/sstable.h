/* Row SSTables: immutable sorted files of internal entries (see docs/formats/sstable.md).
 *
 * A file is a run of data blocks (about 4 KiB of entries each, optionally LZ4 or Zstd
 * compressed, each with a CRC32C), a sparse index (one entry per block: the block's last
 * internal key and where the block lies), a bloom filter over the user keys, and a fixed
 * footer with magic, format version and the checksums of index and bloom.
 *
 * Readers map the file (mmap). In an uncompressed file an entry's value is used in place in
 * the mapping (8-byte aligned, no decode, no copy); compressed blocks are decompressed into the
 * shared block cache and used in place there. A block's checksum is verified the first time
 * the block is read; damage is reported as QX_ERR_CORRUPT naming file and offset.
 *
 * Thread safety: a builder is used by one thread. An opened qx_sst is immutable and may be
 * read by any number of threads; the block cache is internally locked. */
#ifndef QX_SSTABLE_SSTABLE_H
#define QX_SSTABLE_SSTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "kv/iter.h"

enum qx_sst_compression { QX_SST_NONE = 0, QX_SST_LZ4 = 1, QX_SST_ZSTD = 2 };

typedef struct qx_sst_options {
  int compression;        /* enum qx_sst_compression; default QX_SST_NONE */
  int bloom_bits_per_key; /* default 10 (about 1% false positives) */
  uint32_t block_size;    /* target uncompressed data block size; default 4096 */
} qx_sst_options;

void qx_sst_options_init(qx_sst_options *options);

/* What the engine records about a file in its MANIFEST. */
typedef struct qx_sst_meta {
  uint64_t file_number;
  uint64_t file_size;
  uint64_t entry_count;
  uint64_t tombstone_count;
  uint64_t min_lsn, max_lsn;
  uint8_t smallest[QX_DB_MAX_KEY]; /* user key of the first entry */
  uint32_t smallest_len;
  uint8_t largest[QX_DB_MAX_KEY]; /* user key of the last entry */
  uint32_t largest_len;
} qx_sst_meta;

/* ---- building ---- */

typedef struct qx_sst_builder qx_sst_builder;

/* Creates path (which must not exist) and starts a file. options may be NULL. */
int qx_sst_builder_create(const char *path, uint64_t file_number, const qx_sst_options *options,
                          qx_sst_builder **out);
/* REQUIRES: entries arrive in strictly increasing internal order. */
int qx_sst_builder_add(qx_sst_builder *b, const qx_ientry *entry);
uint64_t qx_sst_builder_size(const qx_sst_builder *b); /* bytes written so far (estimate) */
uint64_t qx_sst_builder_entry_count(const qx_sst_builder *b);
/* Writes index, bloom and footer, fdatasyncs, closes and frees b; fills *meta. */
int qx_sst_builder_finish(qx_sst_builder *b, qx_sst_meta *meta);
/* Stops, deletes the partial file and frees b (after an error elsewhere). */
void qx_sst_builder_abandon(qx_sst_builder *b);

/* ---- block cache ---- */

typedef struct qx_block_cache qx_block_cache;
typedef struct qx_cache_handle qx_cache_handle;

int qx_block_cache_create(size_t capacity_bytes, qx_block_cache **out);
void qx_block_cache_destroy(qx_block_cache *cache); /* REQUIRES: no handle outstanding */
void qx_block_cache_release(qx_block_cache *cache, qx_cache_handle *handle);
/* Removes every block of a file (after the file is deleted). */
void qx_block_cache_erase_file(qx_block_cache *cache, uint64_t file_number);
void qx_block_cache_counters(const qx_block_cache *cache, uint64_t *hits, uint64_t *misses,
                             uint64_t *bytes_used);

/* ---- reading ---- */

/* Bloom filter effectiveness, shared by all files of one engine (atomic counters). */
typedef struct qx_sst_counters {
  uint64_t bloom_checks;          /* lookups that consulted a bloom filter */
  uint64_t bloom_negatives;       /* ... that the filter answered "absent" (a read saved) */
  uint64_t bloom_false_positives; /* "maybe present" but the key was not in the file */
} qx_sst_counters;

typedef struct qx_sst qx_sst;

/* Opens and maps path, verifying footer, index and bloom checksums. cache is needed only
 * for compressed files and counters may be NULL. The result holds one reference. */
int qx_sst_open(const char *path, uint64_t file_number, qx_block_cache *cache,
                qx_sst_counters *counters, qx_sst **out);
/* Maps every page of the file into the process now (from the page cache), so that readers of
 * a file just written by a flush or compaction do not each take page faults on first touch.
 * Best effort: does nothing where the kernel lacks MADV_POPULATE_READ. */
void qx_sst_populate(qx_sst *sst);
void qx_sst_ref(qx_sst *sst);
void qx_sst_unref(qx_sst *sst); /* unmaps and frees at the last reference */
uint64_t qx_sst_file_number(const qx_sst *sst);

/* Finds the newest entry of key with LSN <= snapshot_lsn. Returns 1 (found, *out filled),
 * 0 (absent) or a negative status. When the value lies in the block cache, *pin receives a
 * handle the caller must release with qx_block_cache_release once done with the value;
 * otherwise *pin is NULL and the value lives as long as the qx_sst. */
int qx_sst_get(qx_sst *sst, const uint8_t *key, size_t key_len, uint64_t snapshot_lsn,
               qx_ientry *out, qx_cache_handle **pin);

/* An iterator over every entry of the file; holds a reference to sst until destroyed. */
int qx_sst_iter_create(qx_sst *sst, qx_iter **out);

/* Reads the whole file at path and verifies every checksum and the entry order without
 * opening it for the engine (qaxdb check). On damage returns QX_ERR_CORRUPT or QX_ERR_FORMAT
 * with file and offset in qx_last_error(). entries_out may be NULL. */
int qx_sst_verify(const char *path, uint64_t *entries_out);

#endif
