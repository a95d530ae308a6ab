/* Building versions from edits, reference counting of versions and files, and the level
 * lookups shared by reads and compaction (see version.h for the contract). */
#include "lsm/version.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/error.h"
#include "util/grow.h"
#include "util/io.h"

int qx_edit_add(qx_version_edit *e, int level, const qx_sst_meta *meta) {
  int rc = qx_grow((void **)&e->added, &e->added_cap, e->added_count + 1, sizeof *e->added,
                   "a version edit");
  if (rc == QX_OK) e->added[e->added_count++] = (qx_added_file){level, *meta};
  return rc;
}

int qx_edit_remove(qx_version_edit *e, int level, uint64_t file_number) {
  int rc = qx_grow((void **)&e->removed, &e->removed_cap, e->removed_count + 1, sizeof *e->removed,
                   "a version edit");
  if (rc == QX_OK) e->removed[e->removed_count++] = (qx_removed_file){level, file_number};
  return rc;
}

void qx_edit_free(qx_version_edit *e) {
  qx_parquet_edit_free(&e->parquet);
  free(e->added);
  free(e->removed);
  memset(e, 0, sizeof *e);
}

qx_version *qx_version_create(void) {
  qx_version *v = calloc(1, sizeof *v);
  if (v) atomic_init(&v->refs, 1);
  if (v && !(v->parquet = qx_parquet_set_create())) {
    free(v);
    return NULL;
  }
  return v;
}

void qx_version_ref(qx_version *v) {
  atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
}

void qx_file_unref(qx_file *f) {
  if (atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) != 1) return;
  qx_sst_unref(f->sst);
  if (atomic_load(&f->obsolete)) {
    if (f->cache) qx_block_cache_erase_file(f->cache, f->meta.file_number);
    qx_io_unlink(f->path);
  }
  free(f);
}

static void version_free(qx_version *v) {
  for (int l = 0; l < QX_DB_LEVELS; l++) {
    for (uint32_t i = 0; i < v->count[l]; i++)
      qx_file_unref(v->files[l][i]);
    free(v->files[l]);
  }
  qx_parquet_set_unref(v->parquet);
  free(v);
}

void qx_version_unref(qx_version *v) {
  if (atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) == 1) version_free(v);
}

static void version_free_deferred(qx_deferred *item) {
  version_free((qx_version *)((char *)item - offsetof(qx_version, deferred)));
}

void qx_version_unref_later(qx_version *v, qx_deferred_queue *q) {
  if (atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) != 1) return;
  v->deferred.free_fn = version_free_deferred;
  qx_defer_free(q, &v->deferred);
}

uint64_t qx_level_bytes(const qx_version *v, int level) {
  uint64_t sum = 0;
  for (uint32_t i = 0; i < v->count[level]; i++)
    sum += v->files[level][i]->meta.file_size;
  return sum;
}

static int cmp_smallest(const void *a, const void *b) {
  const qx_sst_meta *x = &(*(qx_file *const *)a)->meta, *y = &(*(qx_file *const *)b)->meta;
  return qx_user_key_cmp(x->smallest, x->smallest_len, y->smallest, y->smallest_len);
}

static int cmp_newest_first(const void *a, const void *b) {
  uint64_t x = (*(qx_file *const *)a)->meta.max_lsn, y = (*(qx_file *const *)b)->meta.max_lsn;
  return x > y ? -1 : x < y ? 1 : 0;
}

static int is_removed(const qx_version_edit *e, int level, uint64_t number) {
  for (size_t i = 0; i < e->removed_count; i++)
    if (e->removed[i].level == level && e->removed[i].file_number == number) return 1;
  return 0;
}

static qx_file *find_opened(qx_file **opened, size_t n, uint64_t number) {
  for (size_t i = 0; i < n; i++)
    if (opened[i] && opened[i]->meta.file_number == number) return opened[i];
  return NULL;
}

/* Keeps base's files of level minus the removed ones; returns how many removals matched. */
static size_t keep_files(const qx_version *base, const qx_version_edit *e, int level,
                         qx_version *v) {
  size_t matched = 0;
  for (uint32_t i = 0; i < base->count[level]; i++) {
    qx_file *f = base->files[level][i];
    if (is_removed(e, level, f->meta.file_number)) {
      matched++;
      continue;
    }
    atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
    v->files[level][v->count[level]++] = f;
  }
  return matched;
}

static int add_files(const qx_version_edit *e, int level, qx_file **opened, size_t n,
                     qx_version *v) {
  for (size_t i = 0; i < e->added_count; i++) {
    if (e->added[i].level != level) continue;
    qx_file *f = find_opened(opened, n, e->added[i].meta.file_number);
    if (!f)
      return qx_fail(QX_ERR_CORRUPT, "edit adds file %06" PRIu64 " that was not opened",
                     e->added[i].meta.file_number);
    atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
    v->files[level][v->count[level]++] = f;
  }
  return QX_OK;
}

static int build_level(const qx_version *base, const qx_version_edit *e, int level,
                       qx_file **opened, size_t n, qx_version *v, size_t *removed) {
  v->files[level] = malloc((base->count[level] + e->added_count + 1) * sizeof(qx_file *));
  if (!v->files[level]) return qx_fail(QX_ERR_NOMEM, "out of memory for a version");
  *removed += keep_files(base, e, level, v);
  int rc = add_files(e, level, opened, n, v);
  if (rc != QX_OK) return rc;
  qsort(v->files[level], v->count[level], sizeof(qx_file *),
        level == 0 ? cmp_newest_first : cmp_smallest);
  return QX_OK;
}

int qx_version_apply(const qx_version *base, const qx_version_edit *e, qx_file **opened,
                     size_t opened_count, const char *olap_dir, qx_version **out) {
  qx_version *v = qx_version_create();
  if (!v) return qx_fail(QX_ERR_NOMEM, "out of memory for a version");
  v->checkpoint_lsn = e->has_checkpoint ? e->checkpoint_lsn : base->checkpoint_lsn;
  qx_parquet_set_unref(v->parquet);
  v->parquet = NULL;
  size_t removed = 0;
  int rc = qx_parquet_set_apply(base->parquet, &e->parquet, olap_dir, &v->parquet);
  for (int l = 0; l < QX_DB_LEVELS && rc == QX_OK; l++)
    rc = build_level(base, e, l, opened, opened_count, v, &removed);
  if (rc == QX_OK && removed != e->removed_count)
    rc = qx_fail(QX_ERR_CORRUPT, "edit removes a file the version does not hold");
  if (rc != QX_OK) {
    qx_version_unref(v);
    return rc;
  }
  *out = v;
  return QX_OK;
}

uint32_t qx_level_find(const qx_version *v, int level, const uint8_t *key, size_t key_len) {
  uint32_t lo = 0, hi = v->count[level];
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    const qx_sst_meta *m = &v->files[level][mid]->meta;
    if (qx_user_key_cmp(m->largest, m->largest_len, key, key_len) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

int qx_file_overlaps(const qx_file *f, const uint8_t *smallest, size_t slen, const uint8_t *largest,
                     size_t llen) {
  const qx_sst_meta *m = &f->meta;
  return qx_user_key_cmp(m->largest, m->largest_len, smallest, slen) >= 0 &&
         qx_user_key_cmp(m->smallest, m->smallest_len, largest, llen) <= 0;
}
