/* Opening a table file and point lookups: map the file, check the footer, index and bloom
 * checksums, load the index; a lookup consults the bloom filter, finds the block through the
 * index and the entry through the block's offset array, and returns the value in place. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <lz4.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zstd.h>

#include "sstable/bloom.h"
#include "sstable/table.h"
#include "util/crc32c.h"
#include "util/error.h"
#include "util/fileio.h"

#define COUNT(counter) __atomic_fetch_add(&(counter), 1, __ATOMIC_RELAXED)

static int corrupt(const qx_sst *t, uint64_t offset, const char *what) {
  return qx_fail(QX_ERR_CORRUPT, "%s: %s at offset %" PRIu64, t->path, what, offset);
}

/* Does [offset, offset + length) end at or before limit? Without overflow: both come from
 * the file. */
static int ends_by(uint64_t offset, uint64_t length, uint64_t limit) {
  return offset <= limit && length <= limit - offset;
}

/* ---- open ---- */

static int map_file(qx_sst *t) {
  int fd;
  int rc = qx_open_sized(t->path, O_RDONLY, &fd, &t->size);
  if (rc != QX_OK) return rc;
  if (t->size < SST_FOOTER_SIZE) {
    close(fd);
    return qx_fail(QX_ERR_FORMAT, "%s: %" PRIu64 " bytes is too short for a table file", t->path,
                   t->size);
  }
  void *map = mmap(NULL, t->size, PROT_READ, MAP_SHARED, fd, 0);
  int e = errno;
  close(fd);
  if (map == MAP_FAILED) return qx_fail_errno(QX_ERR_IO, e, "mmap %s", t->path);
  t->map = map;
  return QX_OK;
}

static int check_footer(qx_sst *t) {
  uint64_t at = t->size - SST_FOOTER_SIZE;
  sst_footer *f = &t->footer;
  memcpy(f, t->map + at, sizeof *f);
  if (memcmp(f->magic, SST_MAGIC, 8) != 0)
    return qx_fail(QX_ERR_FORMAT, "%s: not a qaxdb table file (bad magic at offset %" PRIu64 ")",
                   t->path, at + 56);
  if (f->footer_crc != qx_crc32c(0, f, 52)) return corrupt(t, at, "footer checksum mismatch");
  if (f->format_version != SST_FORMAT_VERSION)
    return qx_fail(QX_ERR_FORMAT, "%s: unsupported table format version %u at offset %" PRIu64,
                   t->path, f->format_version, at + 48);
  if (!ends_by(f->index_offset, f->index_size, f->bloom_offset) ||
      !ends_by(f->bloom_offset, f->qx_bloom_size, at))
    return corrupt(t, at, "footer points outside the file");
  if (qx_crc32c(0, t->map + f->index_offset, f->index_size) != f->index_crc)
    return corrupt(t, f->index_offset, "index checksum mismatch");
  if (qx_crc32c(0, t->map + f->bloom_offset, f->qx_bloom_size) != f->bloom_crc)
    return corrupt(t, f->bloom_offset, "bloom filter checksum mismatch");
  t->bloom = t->map + f->bloom_offset;
  return QX_OK;
}

/* An index entry describes a block at an 8-byte aligned offset after the previous block's
 * trailer, no larger than the format allows, with its trailer before the index. */
static int index_entry_ok(const sst_index_entry *ie, uint64_t room, uint64_t previous_end,
                          uint64_t index_offset) {
  return ie->key_len > 0 && ie->key_len <= QX_DB_MAX_KEY && sst_pad8(ie->key_len) <= room &&
         ie->offset % 8 == 0 && ie->offset >= previous_end &&
         ie->stored_size <= SST_MAX_BLOCK_SIZE &&
         ends_by(ie->offset, (uint64_t)ie->stored_size + SST_TRAILER_SIZE, index_offset);
}

static int load_index(qx_sst *t) {
  const sst_footer *f = &t->footer;
  /* The block count sizes two allocations: bound it by what the index can hold first. */
  if (f->block_count > f->index_size / SST_MIN_INDEX_ENTRY)
    return qx_fail(QX_ERR_CORRUPT,
                   "%s: an index of %" PRIu32 " bytes cannot hold %" PRIu32
                   " blocks (footer at offset %" PRIu64 ")",
                   t->path, f->index_size, f->block_count, t->size - SST_FOOTER_SIZE);
  t->blocks = f->block_count;
  t->index = calloc((size_t)t->blocks + 1, sizeof *t->index);
  t->verified = calloc((size_t)t->blocks / 64 + 1, sizeof *t->verified);
  if (!t->index || !t->verified) return qx_fail(QX_ERR_NOMEM, "out of memory opening %s", t->path);
  uint64_t at = f->index_offset, end = f->index_offset + f->index_size, previous_end = 0;
  for (uint32_t i = 0; i < t->blocks; i++) {
    sst_index_entry ie;
    if (end - at < sizeof ie) return corrupt(t, at, "index shorter than its block count");
    memcpy(&ie, t->map + at, sizeof ie);
    if (!index_entry_ok(&ie, end - at - sizeof ie, previous_end, f->index_offset))
      return corrupt(t, at, "malformed index entry");
    t->index[i] =
        (index_entry){ie.offset, ie.stored_size, ie.key_len, ie.last_lsn, t->map + at + sizeof ie};
    previous_end = ie.offset + ie.stored_size + SST_TRAILER_SIZE;
    at += sizeof ie + sst_pad8(ie.key_len);
  }
  if (at != end) return corrupt(t, at, "index longer than its block count");
  return QX_OK;
}

static void close_table(qx_sst *t) {
  if (t->map) munmap((void *)t->map, t->size);
  free(t->index);
  free(t->verified);
  free(t);
}

int qx_sst_open(const char *path, uint64_t file_number, qx_block_cache *cache,
                qx_sst_counters *counters, qx_sst **out) {
  qx_sst *t = calloc(1, sizeof *t);
  if (!t) return qx_fail(QX_ERR_NOMEM, "out of memory opening %s", path);
  atomic_init(&t->refs, 1);
  t->number = file_number;
  t->cache = cache;
  t->counters = counters;
  snprintf(t->path, sizeof t->path, "%s", path);
  int rc = map_file(t);
  if (rc == QX_OK) rc = check_footer(t);
  if (rc == QX_OK) rc = load_index(t);
  if (rc == QX_OK && t->footer.compression != QX_SST_NONE && !cache)
    rc = qx_fail(QX_ERR_INVALID_ARG, "%s: a compressed table file needs a block cache", path);
  if (rc != QX_OK) {
    close_table(t);
    return rc;
  }
  *out = t;
  return QX_OK;
}

void qx_sst_populate(qx_sst *t) {
#ifdef MADV_POPULATE_READ
  madvise((void *)t->map, t->size, MADV_POPULATE_READ);
#else
  (void)t;
#endif
}

void qx_sst_ref(qx_sst *t) {
  atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
}

void qx_sst_unref(qx_sst *t) {
  if (t && atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1) close_table(t);
}

uint64_t qx_sst_file_number(const qx_sst *t) {
  return t->number;
}

/* ---- blocks ---- */

static int verify_block(qx_sst *t, uint32_t b, const sst_block_trailer *trailer) {
  uint64_t bit = UINT64_C(1) << (b % 64);
  atomic_uint_fast64_t *word = &t->verified[b / 64];
  if (atomic_load_explicit(word, memory_order_relaxed) & bit) return QX_OK;
  const index_entry *ie = &t->index[b];
  uint32_t crc = qx_crc32c(qx_crc32c(0, t->map + ie->offset, ie->stored_size), trailer, 8);
  if (crc != trailer->crc) return corrupt(t, ie->offset, "block checksum mismatch");
  atomic_fetch_or_explicit(word, bit, memory_order_relaxed);
  return QX_OK;
}

static int decompress(qx_sst *t, uint32_t b, const sst_block_trailer *tr, block_ref *out) {
  const index_entry *ie = &t->index[b];
  if (tr->raw_size > SST_MAX_BLOCK_SIZE) /* before it sizes an allocation */
    return qx_fail(QX_ERR_CORRUPT,
                   "%s: block at offset %" PRIu64 ": %" PRIu32
                   " bytes before compression exceeds the format's maximum (%u)",
                   t->path, ie->offset, tr->raw_size, SST_MAX_BLOCK_SIZE);
  out->pin = qx_block_cache_lookup(t->cache, t->number, ie->offset);
  if (!out->pin) {
    uint8_t *raw = malloc(tr->raw_size ? tr->raw_size : 1);
    if (!raw) return qx_fail(QX_ERR_NOMEM, "out of memory reading %s", t->path);
    const uint8_t *src = t->map + ie->offset;
    size_t n = tr->compression == QX_SST_LZ4
                   ? (size_t)LZ4_decompress_safe((const char *)src, (char *)raw,
                                                 (int)ie->stored_size, (int)tr->raw_size)
                   : ZSTD_decompress(raw, tr->raw_size, src, ie->stored_size);
    if (n != tr->raw_size) {
      free(raw);
      return corrupt(t, ie->offset, "block does not decompress");
    }
    out->pin = qx_block_cache_insert(t->cache, t->number, ie->offset, raw, tr->raw_size);
    if (!out->pin) return qx_fail(QX_ERR_NOMEM, "out of memory reading %s", t->path);
  }
  out->data = qx_block_cache_data(out->pin);
  out->size = tr->raw_size;
  return QX_OK;
}

/* A block ends in u32 offsets[count] and u32 count; its size is a multiple of 4, so in an
 * 8-byte aligned block (the mapping at an aligned offset, or the cache's allocation) the
 * offsets are aligned. */
static int check_block_shape(const qx_sst *t, block_ref *ref) {
  if (ref->size < 4 || ref->size % 4 != 0)
    return qx_fail(QX_ERR_CORRUPT,
                   "%s: block at offset %" PRIu64 ": %" PRIu32
                   " bytes is too short or not a multiple of 4",
                   t->path, ref->file_offset, ref->size);
  memcpy(&ref->count, ref->data + ref->size - 4, 4);
  if ((uint64_t)ref->count * 4 + 4 > ref->size)
    return corrupt(t, ref->file_offset, "malformed block");
  ref->offsets =
      (const uint32_t *)(const void *)(ref->data + ref->size - 4 - (size_t)ref->count * 4);
  return QX_OK;
}

int qx_sst_load_block(qx_sst *t, uint32_t b, block_ref *out) {
  const index_entry *ie = &t->index[b];
  sst_block_trailer tr;
  memcpy(&tr, t->map + ie->offset + ie->stored_size, sizeof tr);
  *out = (block_ref){.file_offset = ie->offset};
  int rc = verify_block(t, b, &tr);
  if (rc != QX_OK) return rc;
  if (tr.compression == QX_SST_NONE) {
    out->data = t->map + ie->offset;
    out->size = ie->stored_size;
  } else if (tr.compression <= QX_SST_ZSTD && t->cache) {
    rc = decompress(t, b, &tr, out);
    if (rc != QX_OK) return rc;
  } else {
    return corrupt(t, ie->offset, "unknown block compression");
  }
  rc = check_block_shape(t, out);
  if (rc != QX_OK) qx_sst_release_block(t, out);
  return rc;
}

void qx_sst_release_block(qx_sst *t, block_ref *ref) {
  if (ref->pin) qx_block_cache_release(t->cache, ref->pin);
  ref->pin = NULL;
}

int qx_sst_block_entry(const qx_sst *t, const block_ref *ref, uint32_t i, qx_ientry *out) {
  uint32_t at = ref->offsets[i], limit = ref->size - 4 - ref->count * 4;
  sst_entry_header h = {0};
  int ok = at % 8 == 0 && at <= limit && limit - at >= sizeof h;
  if (ok) memcpy(&h, ref->data + at, sizeof h);
  uint64_t key_at = (uint64_t)at + sizeof h, value_at = key_at + sst_pad8(h.key_len);
  ok = ok && h.key_len > 0 && h.key_len <= QX_DB_MAX_KEY && h.value_len <= QX_DB_MAX_VALUE &&
       h.kind <= QX_KIND_PUT && value_at + h.value_len <= limit;
  if (!ok)
    return qx_fail(QX_ERR_CORRUPT, "%s: malformed entry %u in the block at offset %" PRIu64,
                   t->path, i, ref->file_offset);
  *out =
      (qx_ientry){ref->data + key_at, h.key_len, h.kind, h.lsn, ref->data + value_at, h.value_len};
  return QX_OK;
}

uint32_t qx_sst_find_block(const qx_sst *t, const uint8_t *key, size_t len, uint64_t lsn) {
  uint32_t lo = 0, hi = t->blocks;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    const index_entry *ie = &t->index[mid];
    if (qx_ikey_cmp(ie->key, ie->key_len, ie->last_lsn, key, len, lsn) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

int qx_sst_find_in_block(const qx_sst *t, const block_ref *ref, const uint8_t *key, size_t len,
                         uint64_t lsn, uint32_t *at) {
  uint32_t lo = 0, hi = ref->count;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    qx_ientry e;
    int rc = qx_sst_block_entry(t, ref, mid, &e);
    if (rc != QX_OK) return rc; /* damage, not absence */
    if (qx_ikey_cmp(e.key, e.key_len, e.lsn, key, len, lsn) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  *at = lo;
  return QX_OK;
}

/* ---- point lookups ---- */

static int bloom_says_absent(qx_sst *t, const uint8_t *key, size_t len) {
  if (t->counters) COUNT(t->counters->bloom_checks);
  if (qx_bloom_may_contain(t->bloom, t->footer.qx_bloom_size, qx_bloom_hash(key, len))) return 0;
  if (t->counters) COUNT(t->counters->bloom_negatives);
  return 1;
}

int qx_sst_get(qx_sst *t, const uint8_t *key, size_t key_len, uint64_t snapshot_lsn, qx_ientry *out,
               qx_cache_handle **pin) {
  *pin = NULL;
  if (bloom_says_absent(t, key, key_len)) return 0;
  uint32_t b = qx_sst_find_block(t, key, key_len, snapshot_lsn);
  if (b < t->blocks) {
    block_ref ref;
    int rc = qx_sst_load_block(t, b, &ref);
    if (rc != QX_OK) return rc;
    uint32_t i = 0;
    rc = qx_sst_find_in_block(t, &ref, key, key_len, snapshot_lsn, &i);
    qx_ientry e;
    if (rc == QX_OK && i < ref.count && (rc = qx_sst_block_entry(t, &ref, i, &e)) == QX_OK &&
        qx_user_key_cmp(e.key, e.key_len, key, key_len) == 0) {
      *out = e;
      *pin = ref.pin;
      return 1;
    }
    qx_sst_release_block(t, &ref);
    if (rc != QX_OK) return rc;
  }
  /* Absent at this snapshot; counted as a false positive although a newer version may exist. */
  if (t->counters) COUNT(t->counters->bloom_false_positives);
  return 0;
}
