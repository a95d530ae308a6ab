/* Merging entries into new table files with the drop rules (see table_merge.h). */
#include "lsm/table_merge.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/error.h"
#include "util/grow.h"
#include "util/io.h"

/* ---- output files ---- */

static int output_finish(qx_table_merge *m) {
  if (!m->builder) return QX_OK;
  int rc = qx_grow((void **)&m->metas, &m->cap, m->count + 1, sizeof *m->metas, "merge outputs");
  if (rc != QX_OK) return rc;
  rc = qx_sst_builder_finish(m->builder, &m->metas[m->count]);
  m->builder = NULL;
  if (rc == QX_OK) m->bytes += m->metas[m->count++].file_size;
  return rc;
}

static int output_add(qx_table_merge *m, const qx_ientry *e) {
  if (!m->builder) {
    char path[PATH_MAX];
    uint64_t number = qx_vset_new_file_number(m->vs);
    int rc = qx_vset_table_path(m->vs, number, path, sizeof path);
    if (rc == QX_OK) rc = qx_sst_builder_create(path, number, &m->sst, &m->builder);
    if (rc != QX_OK) return rc;
  }
  return qx_sst_builder_add(m->builder, e);
}

void qx_table_merge_abandon(qx_table_merge *m) {
  if (m->builder) qx_sst_builder_abandon(m->builder);
  m->builder = NULL;
  for (size_t i = 0; i < m->count; i++) {
    char path[PATH_MAX];
    if (qx_vset_table_path(m->vs, m->metas[i].file_number, path, sizeof path) == QX_OK)
      qx_io_unlink(path);
  }
  qx_table_merge_free(m);
}

void qx_table_merge_free(qx_table_merge *m) {
  free(m->metas);
  m->metas = NULL;
  m->count = m->cap = 0;
}

/* ---- the drop rules ---- */

/* 1 if no level below the output level may hold key. */
static int is_base_level(const qx_table_merge *m, const uint8_t *key, size_t len) {
  const qx_version *v = m->version;
  for (int l = m->output_level + 1; l < QX_DB_LEVELS; l++) {
    uint32_t i = qx_level_find(v, l, key, len);
    if (i < v->count[l] && qx_file_overlaps(v->files[l][i], key, len, key, len)) return 0;
  }
  return 1;
}

static int should_drop(qx_table_merge *m, const qx_ientry *e, int *new_key) {
  *new_key = !m->has_key || qx_user_key_cmp(e->key, e->key_len, m->key, m->key_len) != 0;
  if (*new_key) {
    memcpy(m->key, e->key, e->key_len);
    m->key_len = e->key_len;
    m->has_key = 1;
    m->last_lsn_of_key = UINT64_MAX;
  }
  int drop = m->last_lsn_of_key <= m->oldest_snapshot;
  if (!drop && e->kind == QX_KIND_DELETE && m->output_level >= 0 && e->lsn <= m->oldest_snapshot)
    drop = is_base_level(m, e->key, e->key_len);
  m->last_lsn_of_key = e->lsn;
  return drop;
}

static int merge_all(qx_table_merge *m, qx_iter *it) {
  for (qx_iter_seek_first(it); qx_iter_valid(it); qx_iter_next(it)) {
    const qx_ientry *e = qx_iter_entry(it);
    if (e->lsn > m->max_input_lsn) m->max_input_lsn = e->lsn;
    int new_key;
    if (should_drop(m, e, &new_key)) continue;
    int rc = QX_OK;
    if (new_key && m->split_bytes && m->builder &&
        qx_sst_builder_size(m->builder) >= m->split_bytes)
      rc = output_finish(m);
    if (rc == QX_OK) rc = output_add(m, e);
    if (rc != QX_OK) return rc;
  }
  int rc = qx_iter_status(it);
  return rc == QX_OK ? output_finish(m) : rc;
}

int qx_table_merge_run(qx_table_merge *m, qx_iter *it) {
  int rc = merge_all(m, it);
  if (rc != QX_OK) qx_table_merge_abandon(m);
  return rc;
}
