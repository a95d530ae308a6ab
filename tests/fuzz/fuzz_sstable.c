/* Fuzz target: the table file reader (src/sstable). After one mode byte the input is a table
 * file; mode bit 0 first recomputes its checksums (fix_checksums.h) so that mutations reach
 * past them. The file is opened, iterated, sought, probed with lookups and verified. Rules:
 * every failure is QX_ERR_CORRUPT or QX_ERR_FORMAT naming the file, and a lookup never calls
 * absent an entry that the index routes to a block holding it (check_lookups). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fix_checksums.h"
#include "fuzz.h"
#include "qaxdb/status.h"
#include "sstable/bloom.h"
#include "sstable/table.h"

#define FILE_NUMBER 1
#define MAX_PROBES 64
#define MAX_SEEKS 8

static qx_block_cache *shared_cache(void) {
  static qx_block_cache *cache;
  if (!cache && qx_block_cache_create(1u << 20, &cache) != QX_OK) fuzz_fail("no block cache");
  return cache;
}

static void expect(int rc, const qx_sst *t) {
  fuzz_expect(rc, t->path, QX_ERR_CORRUPT, QX_ERR_FORMAT);
}

static void iterate(qx_sst *t) {
  qx_iter *it;
  if (qx_sst_iter_create(t, &it) != QX_OK) fuzz_fail("no iterator");
  for (qx_iter_seek_first(it); qx_iter_valid(it); qx_iter_next(it))
    if (qx_iter_entry(it)->key_len == 0) fuzz_fail("an entry with an empty key");
  expect(qx_iter_status(it), t);
  for (uint32_t b = 0; b < t->blocks && b < MAX_SEEKS; b++) {
    const index_entry *ie = &t->index[b];
    qx_iter_seek(it, ie->key, ie->key_len, ie->last_lsn);
    if (qx_iter_valid(it)) qx_iter_next(it);
    expect(qx_iter_status(it), t);
  }
  qx_iter_destroy(it);
}

/* Looks up entry e; it is in block b, which the index routes its key to. */
static void probe(qx_sst *t, const qx_ientry *e) {
  qx_ientry found;
  qx_cache_handle *pin = NULL;
  int rc = qx_sst_get(t, e->key, e->key_len, e->lsn, &found, &pin);
  if (rc == 0) fuzz_fail("%s: lookup of an entry its block holds says absent", t->path);
  if (rc == 1 && (found.lsn != e->lsn || found.key_len != e->key_len ||
                  memcmp(found.key, e->key, e->key_len) != 0))
    fuzz_fail("%s: lookup found another entry", t->path);
  if (rc < 0) expect(rc, t);
  qx_block_cache_release(t->cache, pin);
}

/* Is every entry of the block that decodes in strictly increasing internal order? */
static int decoded_entries_sorted(const qx_sst *t, const block_ref *ref) {
  qx_ientry prev = {0}, e;
  int have_prev = 0;
  for (uint32_t i = 0; i < ref->count; i++) {
    if (qx_sst_block_entry(t, ref, i, &e) != QX_OK) continue;
    if (have_prev && qx_ikey_cmp(prev.key, prev.key_len, prev.lsn, e.key, e.key_len, e.lsn) >= 0)
      return 0;
    prev = e;
    have_prev = 1;
  }
  return 1;
}

/* A lookup of an entry may fail (it met damage) but must not miss it when the index routes the
 * key to the entry's block, the bloom filter lets it through and the block's decodable entries
 * are in order: then the binary search meets only entries that lead to it, or a malformed one,
 * which is corruption, not absence. */
static void check_lookups(qx_sst *t) {
  int probes = 0;
  for (uint32_t b = 0; b < t->blocks && probes < MAX_PROBES; b++) {
    block_ref ref;
    int rc = qx_sst_load_block(t, b, &ref);
    expect(rc, t);
    if (rc != QX_OK) continue;
    uint32_t step = ref.count / 8 + 1;
    uint32_t end = decoded_entries_sorted(t, &ref) ? ref.count : 0;
    for (uint32_t i = 0; i < end && probes < MAX_PROBES; i += step) {
      qx_ientry e;
      if (qx_sst_block_entry(t, &ref, i, &e) != QX_OK) continue;
      if (qx_sst_find_block(t, e.key, e.key_len, e.lsn) != b ||
          !qx_bloom_may_contain(t->bloom, t->footer.qx_bloom_size, qx_bloom_hash(e.key, e.key_len)))
        continue;
      probe(t, &e);
      probes++;
    }
    qx_sst_release_block(t, &ref);
  }
  qx_ientry found;
  qx_cache_handle *pin = NULL;
  int rc = qx_sst_get(t, (const uint8_t *)"\xff\xff", 2, UINT64_MAX, &found, &pin);
  if (rc < 0) expect(rc, t);
  qx_block_cache_release(t->cache, pin);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  char dir[PATH_MAX], path[PATH_MAX + 16];
  fuzz_empty_dir("sstable", dir);
  snprintf(path, sizeof path, "%s/000001.sst", dir);
  uint8_t *image = malloc(size);
  if (!image) fuzz_fail("out of memory");
  memcpy(image, data + 1, size - 1);
  if (data[0] & 1) fuzz_fix_sstable(image, size - 1);
  fuzz_write_file(path, image, size - 1);
  free(image);

  qx_sst_counters counters = {0};
  qx_sst *t;
  int rc = qx_sst_open(path, FILE_NUMBER, shared_cache(), &counters, &t);
  fuzz_expect(rc, path, QX_ERR_CORRUPT, QX_ERR_FORMAT);
  if (rc == QX_OK) {
    iterate(t);
    check_lookups(t);
    qx_sst_unref(t);
    qx_block_cache_erase_file(shared_cache(), FILE_NUMBER);
  }
  fuzz_expect(qx_sst_verify(path, NULL), path, QX_ERR_CORRUPT, QX_ERR_FORMAT);
  return 0;
}
