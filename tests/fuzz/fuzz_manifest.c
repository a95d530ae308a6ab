/* Fuzz target: the MANIFEST reader (qx_manifest_read in src/lsm/manifest.c). After one mode
 * byte the input is a MANIFEST file, which CURRENT names; mode bit 0 first recomputes its
 * checksums (fix_checksums.h). Rules: a failure is QX_ERR_CORRUPT or QX_ERR_FORMAT naming
 * the file; an edit the reader accepts keeps its documented bounds (levels, key lengths, LSN
 * ranges); and the accepted edits, written to a new MANIFEST with the engine's own writer,
 * read back the same (compared through a digest of every field). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fix_checksums.h"
#include "fuzz.h"
#include "lsm/manifest.h"
#include "qaxdb/status.h"
#include "util/crc32c.h"

#define MODE_FIX_CHECKSUMS 1
#define MAX_EDITS 256

typedef struct edits_seen {
  uint32_t digests[MAX_EDITS];
  size_t count;
  qx_manifest *copy; /* where accepted edits are written again; NULL when reading the copy */
  const char *path;
} edits_seen;

static uint32_t add_u64(uint32_t crc, uint64_t v) {
  return qx_crc32c(crc, &v, sizeof v);
}

static uint32_t digest_parquet(uint32_t crc, const qx_parquet_meta *m, size_t n) {
  crc = add_u64(crc, n);
  for (size_t i = 0; i < n; i++) {
    crc = add_u64(crc, m[i].table_id);
    crc = add_u64(crc, (uint64_t)(int64_t)m[i].day);
    crc = add_u64(crc, m[i].first_lsn);
    crc = add_u64(crc, m[i].last_lsn);
    crc = add_u64(crc, m[i].rows);
    crc = add_u64(crc, m[i].bytes);
  }
  return crc;
}

/* Every field of an edit, in a fixed order. */
static uint32_t digest(const qx_version_edit *e) {
  uint32_t crc = add_u64(0, e->has_checkpoint ? e->checkpoint_lsn + 1 : 0);
  crc = add_u64(crc, e->has_next_file ? e->next_file_number + 1 : 0);
  crc = add_u64(crc, e->added_count);
  for (size_t i = 0; i < e->added_count; i++) {
    const qx_sst_meta *m = &e->added[i].meta;
    uint64_t fields[] = {(uint64_t)e->added[i].level,
                         m->file_number,
                         m->file_size,
                         m->entry_count,
                         m->tombstone_count,
                         m->min_lsn,
                         m->max_lsn,
                         m->smallest_len,
                         m->largest_len};
    crc = qx_crc32c(crc, fields, sizeof fields);
    crc = qx_crc32c(crc, m->smallest, m->smallest_len);
    crc = qx_crc32c(crc, m->largest, m->largest_len);
  }
  crc = add_u64(crc, e->removed_count);
  for (size_t i = 0; i < e->removed_count; i++) {
    crc = add_u64(crc, (uint64_t)e->removed[i].level);
    crc = add_u64(crc, e->removed[i].file_number);
  }
  crc = add_u64(crc, e->parquet.has_olap_lsn ? e->parquet.olap_lsn + 1 : 0);
  crc = digest_parquet(crc, e->parquet.added, e->parquet.added_count);
  crc = digest_parquet(crc, e->parquet.removed, e->parquet.removed_count);
  crc = add_u64(crc, (uint64_t)e->has_totals);
  return e->has_totals ? qx_crc32c(crc, e->totals.v, sizeof e->totals.v) : crc;
}

static void check_bounds(const edits_seen *seen, const qx_version_edit *e) {
  for (size_t i = 0; i < e->added_count; i++) {
    const qx_added_file *a = &e->added[i];
    if (a->level < 0 || a->level >= QX_DB_LEVELS || a->meta.smallest_len > QX_DB_MAX_KEY ||
        a->meta.largest_len > QX_DB_MAX_KEY)
      fuzz_fail("%s: an added file out of bounds was accepted", seen->path);
  }
  for (size_t i = 0; i < e->removed_count; i++)
    if (e->removed[i].level < 0 || e->removed[i].level >= QX_DB_LEVELS)
      fuzz_fail("%s: a removed file out of bounds was accepted", seen->path);
  const qx_parquet_edit *p = &e->parquet;
  for (size_t i = 0; i < p->added_count; i++)
    if (p->added[i].first_lsn > p->added[i].last_lsn)
      fuzz_fail("%s: a Parquet file with an empty LSN range was accepted", seen->path);
}

static int visit(const qx_version_edit *e, void *ctx) {
  edits_seen *seen = ctx;
  check_bounds(seen, e);
  if (seen->count < MAX_EDITS) seen->digests[seen->count] = digest(e);
  seen->count++;
  if (seen->copy && qx_manifest_append(seen->copy, e) != QX_OK)
    fuzz_fail("cannot write an accepted edit again: %s", qx_last_error());
  return QX_OK;
}

/* Reads the copy back: its first edit describes the empty version it was created from. */
static void check_copy(const char *dir, const edits_seen *original) {
  edits_seen again = {.path = dir};
  uint64_t torn;
  if (qx_manifest_read(dir, visit, &again, &torn) != QX_OK || torn)
    fuzz_fail("%s: the rewritten MANIFEST does not read back: %s", dir, qx_last_error());
  if (again.count != original->count + 1)
    fuzz_fail("%s: %zu edits written, %zu read back", dir, original->count, again.count - 1);
  for (size_t i = 0; i < original->count && i + 1 < MAX_EDITS; i++)
    if (again.digests[i + 1] != original->digests[i])
      fuzz_fail("%s: edit %zu reads back different", dir, i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  char dir[PATH_MAX], copy_dir[PATH_MAX], path[PATH_MAX + 32];
  fuzz_empty_dir("manifest", dir);
  fuzz_empty_dir("manifest-copy", copy_dir);
  snprintf(path, sizeof path, "%s/MANIFEST-000001", dir);
  uint8_t *image = malloc(size);
  if (!image) fuzz_fail("out of memory");
  memcpy(image, data + 1, size - 1);
  if (data[0] & MODE_FIX_CHECKSUMS) fuzz_fix_manifest(image, size - 1);
  fuzz_write_file(path, image, size - 1);
  free(image);
  snprintf(path, sizeof path, "%s/CURRENT", dir);
  fuzz_write_file(path, "MANIFEST-000001\n", 16);

  qx_version *empty = qx_version_create();
  edits_seen seen = {.path = dir};
  qx_totals no_totals = {0};
  if (!empty || qx_manifest_create(copy_dir, 1, empty, 2, &no_totals, &seen.copy) != QX_OK)
    fuzz_fail("cannot start a MANIFEST: %s", qx_last_error());
  qx_version_unref(empty);
  uint64_t torn;
  int rc = qx_manifest_read(dir, visit, &seen, &torn);
  fuzz_expect(rc, dir, QX_ERR_CORRUPT, QX_ERR_FORMAT);
  qx_manifest_close(seen.copy);
  if (rc == QX_OK) check_copy(copy_dir, &seen);
  return 0;
}
