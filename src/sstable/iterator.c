/* Iterating a table file block by block, and qx_sst_verify, which walks every entry with the
 * same iterator to check every block checksum and the order of all entries. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "sstable/table.h"
#include "util/error.h"

typedef struct sst_iter {
  qx_iter base;
  qx_sst *t;
  uint32_t block; /* t->blocks when exhausted */
  block_ref ref;
  uint32_t at; /* entry in the block */
  qx_ientry entry;
  int status;
} sst_iter;

static void leave_block(sst_iter *it) {
  qx_sst_release_block(it->t, &it->ref);
  it->ref = (block_ref){0};
}

/* Positions at entry `at` of block b, moving on to later blocks while past a block's end. */
static void position(sst_iter *it, uint32_t b, uint32_t at) {
  leave_block(it);
  for (; b < it->t->blocks; b++, at = 0) {
    it->status = qx_sst_load_block(it->t, b, &it->ref);
    if (it->status != QX_OK) break;
    if (at < it->ref.count) {
      it->block = b;
      it->at = at;
      it->status = qx_sst_block_entry(it->t, &it->ref, at, &it->entry);
      if (it->status == QX_OK) return;
      break;
    }
    leave_block(it);
  }
  leave_block(it);
  it->block = it->t->blocks;
}

static void iter_seek(qx_iter *i, const uint8_t *key, size_t len, uint64_t lsn) {
  sst_iter *it = (sst_iter *)i;
  uint32_t b = qx_sst_find_block(it->t, key, len, lsn);
  if (b == it->t->blocks) {
    position(it, b, 0);
    return;
  }
  leave_block(it);
  it->status = qx_sst_load_block(it->t, b, &it->ref);
  if (it->status != QX_OK) {
    it->block = it->t->blocks;
    return;
  }
  uint32_t at = 0;
  it->status = qx_sst_find_in_block(it->t, &it->ref, key, len, lsn, &at);
  if (it->status != QX_OK) {
    leave_block(it);
    it->block = it->t->blocks;
    return;
  }
  if (at == it->ref.count) {
    position(it, b + 1, 0);
    return;
  }
  it->block = b;
  it->at = at;
  it->status = qx_sst_block_entry(it->t, &it->ref, at, &it->entry);
}

static void iter_seek_first(qx_iter *i) {
  position((sst_iter *)i, 0, 0);
}

static void iter_next(qx_iter *i) {
  sst_iter *it = (sst_iter *)i;
  if (it->at + 1 < it->ref.count) {
    it->at++;
    it->status = qx_sst_block_entry(it->t, &it->ref, it->at, &it->entry);
    if (it->status != QX_OK) position(it, it->t->blocks, 0);
    return;
  }
  position(it, it->block + 1, 0);
}

static int iter_valid(const qx_iter *i) {
  const sst_iter *it = (const sst_iter *)i;
  return it->status == QX_OK && it->block < it->t->blocks;
}

static const qx_ientry *iter_entry(const qx_iter *i) {
  return &((const sst_iter *)i)->entry;
}
static int iter_status(const qx_iter *i) {
  return ((const sst_iter *)i)->status;
}

static void iter_destroy(qx_iter *i) {
  sst_iter *it = (sst_iter *)i;
  leave_block(it);
  qx_sst_unref(it->t);
  free(it);
}

static const qx_iter_ops sst_iter_ops = {iter_seek,  iter_seek_first, iter_next,   iter_valid,
                                         iter_entry, iter_status,     iter_destroy};

int qx_sst_iter_create(qx_sst *t, qx_iter **out) {
  sst_iter *it = calloc(1, sizeof *it);
  if (!it) return qx_fail(QX_ERR_NOMEM, "out of memory for an iterator");
  it->base.ops = &sst_iter_ops;
  it->t = t;
  it->block = t->blocks;
  qx_sst_ref(t);
  *out = &it->base;
  return QX_OK;
}

/* ---- verification ---- */

static int check_order(qx_sst *t, const sst_iter *it, const qx_ientry *prev, uint64_t n) {
  const qx_ientry *e = &it->entry;
  if (n && qx_ikey_cmp(prev->key, prev->key_len, prev->lsn, e->key, e->key_len, e->lsn) >= 0)
    return qx_fail(QX_ERR_CORRUPT,
                   "%s: entry %" PRIu64 " is out of order (entry %" PRIu32
                   " of the block at offset %" PRIu64 ")",
                   t->path, n, it->at, it->ref.file_offset);
  return QX_OK;
}

static int walk(qx_sst *t, uint64_t *entries) {
  qx_iter *it = NULL;
  int rc = qx_sst_iter_create(t, &it);
  if (rc != QX_OK) return rc;
  uint8_t prev_key[QX_DB_MAX_KEY];
  qx_ientry prev = {.key = prev_key};
  uint64_t n = 0;
  for (qx_iter_seek_first(it); qx_iter_valid(it) && rc == QX_OK; qx_iter_next(it), n++) {
    const qx_ientry *e = qx_iter_entry(it);
    rc = check_order(t, (const sst_iter *)it, &prev, n);
    memcpy(prev_key, e->key, e->key_len);
    prev.key_len = e->key_len;
    prev.lsn = e->lsn;
  }
  if (rc == QX_OK) rc = qx_iter_status(it);
  qx_iter_destroy(it);
  if (rc == QX_OK && n != t->footer.entry_count)
    rc = qx_fail(QX_ERR_CORRUPT,
                 "%s: %" PRIu64 " entries, the footer at offset %" PRIu64 " says %" PRIu64, t->path,
                 n, t->size - SST_FOOTER_SIZE, t->footer.entry_count);
  *entries = n;
  return rc;
}

int qx_sst_verify(const char *path, uint64_t *entries_out) {
  qx_block_cache *cache;
  int rc = qx_block_cache_create(1u << 20, &cache);
  if (rc != QX_OK) return rc;
  qx_sst *t;
  uint64_t entries = 0;
  rc = qx_sst_open(path, 0, cache, NULL, &t);
  if (rc == QX_OK) {
    rc = walk(t, &entries);
    qx_sst_unref(t);
  }
  qx_block_cache_destroy(cache);
  if (entries_out) *entries_out = entries;
  return rc;
}
