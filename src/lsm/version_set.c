/* The version set (see version_set.h): table file numbers, paths and opens, installing
 * version edits one at a time with the engine's mutex released around the MANIFEST sync, and
 * WAL trimming. */
#include "lsm/version_set.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/fileio.h"
#include "util/require.h"

int qx_vset_init(qx_version_set *vs, const char *dir, int read_only, pthread_mutex_t *mu) {
  *vs = (qx_version_set){.read_only = read_only, .mu = mu};
  int n = snprintf(vs->dir, sizeof vs->dir, "%s", dir);
  int s = snprintf(vs->sst_dir, sizeof vs->sst_dir, "%s/sst", dir);
  int o = snprintf(vs->olap_dir, sizeof vs->olap_dir, "%s/olap", dir);
  /* Room below PATH_MAX for the longest name inside the folder, a Parquet part file's
   * (<table>/date=YYYY-MM-DD/part-<LSN>-<LSN>.parquet, under 128 bytes). */
  if (n < 0 || s < 0 || o < 0 || (size_t)o + 128 >= sizeof vs->olap_dir)
    return qx_fail(QX_ERR_INVALID_ARG, "data folder path too long: %s", dir);
  if (pthread_cond_init(&vs->installed_cv, NULL) || pthread_mutex_init(&vs->trim_mu, NULL))
    return qx_fail(QX_ERR_NOMEM, "cannot create the version set's locks");
  atomic_init(&vs->next_file_number, 1);
  return QX_OK;
}

void qx_vset_free(qx_version_set *vs) {
  if (vs->current) qx_version_unref(vs->current);
  vs->current = NULL;
  qx_manifest_close(vs->manifest);
  vs->manifest = NULL;
}

uint64_t qx_vset_new_file_number(qx_version_set *vs) {
  return atomic_fetch_add(&vs->next_file_number, 1);
}

int qx_vset_table_path(const qx_version_set *vs, uint64_t number, char *out, size_t cap) {
  int n = snprintf(out, cap, "%s/%06" PRIu64 ".sst", vs->sst_dir, number);
  return n > 0 && (size_t)n < cap ? QX_OK
                                  : qx_fail(QX_ERR_INVALID_ARG, "path too long in %s", vs->sst_dir);
}

int qx_vset_open_table(qx_version_set *vs, const qx_sst_meta *meta, int fresh, qx_file **out) {
  qx_file *f = calloc(1, sizeof *f);
  if (!f) return qx_fail(QX_ERR_NOMEM, "out of memory for a table file");
  atomic_init(&f->refs, 1);
  f->meta = *meta;
  f->cache = vs->cache;
  int rc = qx_vset_table_path(vs, meta->file_number, f->path, sizeof f->path);
  if (rc == QX_OK)
    rc = qx_sst_open(f->path, meta->file_number, vs->cache, vs->sst_counters, &f->sst);
  if (rc != QX_OK) {
    free(f);
    return rc;
  }
  if (fresh) qx_sst_populate(f->sst);
  *out = f;
  return QX_OK;
}

void qx_counters_restore(qx_counters *c, const qx_totals *from) {
  for (int i = 0; i < QX_TOTALS; i++)
    atomic_store_explicit(&c->v[i], from->v[i], memory_order_relaxed);
}

void qx_counters_read(const qx_counters *c, qx_totals *out) {
  for (int i = 0; i < QX_TOTALS; i++)
    out->v[i] = qx_counted(c, (enum qx_total)i);
}

/* ---- installing ---- */

static qx_file *find_file(const qx_version *v, uint64_t number) {
  for (int l = 0; l < QX_DB_LEVELS; l++)
    for (uint32_t i = 0; i < v->count[l]; i++)
      if (v->files[l][i]->meta.file_number == number) return v->files[l][i];
  return NULL;
}

/* Opens the files edit adds (one reference each, for qx_version_apply); *fresh_count says
 * how many are new on disk rather than moved within base. */
static int open_added(qx_version_set *vs, const qx_version *base, const qx_version_edit *edit,
                      qx_file **opened, size_t *fresh_count) {
  *fresh_count = 0;
  for (size_t i = 0; i < edit->added_count; i++) {
    qx_file *moved = find_file(base, edit->added[i].meta.file_number);
    if (moved) {
      atomic_fetch_add(&moved->refs, 1);
      opened[i] = moved;
      continue;
    }
    int rc = qx_vset_open_table(vs, &edit->added[i].meta, 1, &opened[i]);
    if (rc != QX_OK) return rc;
    (*fresh_count)++;
  }
  return QX_OK;
}

/* Opens, syncs and logs edit, building the version that follows base. Runs without mu. */
static int log_edit(qx_version_set *vs, const qx_version *base, qx_version_edit *edit,
                    qx_version **out) {
  qx_file **opened = calloc(edit->added_count + 1, sizeof *opened);
  if (!opened) return qx_fail(QX_ERR_NOMEM, "out of memory installing table files");
  size_t fresh = 0;
  int rc = open_added(vs, base, edit, opened, &fresh);
  /* New files' directory entries must be durable before the MANIFEST names them. */
  if (rc == QX_OK && fresh) rc = qx_fsync_dir(vs->sst_dir);
  if (rc == QX_OK) rc = qx_version_apply(base, edit, opened, edit->added_count, vs->olap_dir, out);
  if (rc == QX_OK) rc = qx_manifest_append(vs->manifest, edit);
  if (rc != QX_OK && *out) {
    qx_version_unref(*out);
    *out = NULL;
  }
  for (size_t i = 0; i < edit->added_count; i++)
    if (opened[i]) qx_file_unref(opened[i]);
  free(opened);
  return rc;
}

static int is_added(const qx_version_edit *edit, uint64_t number) {
  for (size_t i = 0; i < edit->added_count; i++)
    if (edit->added[i].meta.file_number == number) return 1;
  return 0;
}

/* Marks the files edit removes from base (and does not move elsewhere) for deletion once no
 * version names them. */
static void retire_removed(const qx_version *base, const qx_version_edit *edit) {
  for (size_t i = 0; i < edit->removed_count; i++) {
    qx_file *f = find_file(base, edit->removed[i].file_number);
    if (f && !is_added(edit, f->meta.file_number)) atomic_store(&f->obsolete, 1);
  }
  qx_parquet_set_retire(base->parquet, &edit->parquet);
}

int qx_vset_install(qx_version_set *vs, qx_version_edit *edit) {
  QX_REQUIRE_HELD(vs->mu);
  while (vs->installing)
    pthread_cond_wait(&vs->installed_cv, vs->mu);
  if (vs->read_only) return qx_fail(QX_ERR_INVALID_ARG, "%s is open read-only", vs->dir);
  if (vs->failure)
    return qx_fail(vs->failure, "%s: the MANIFEST takes no more edits after a failed write or sync",
                   vs->dir);
  vs->installing = 1;
  edit->has_next_file = 1;
  edit->next_file_number = atomic_load(&vs->next_file_number);
  edit->has_totals = 1;
  qx_counters_read(vs->counters, &edit->totals);
  qx_version *base = vs->current, *next = NULL;
  pthread_mutex_unlock(vs->mu);
  int rc = log_edit(vs, base, edit, &next);
  pthread_mutex_lock(vs->mu);
  if (rc == QX_OK) {
    retire_removed(base, edit);
    vs->current = next;
    qx_version_unref_later(base, vs->reclaimer);
    rc = vs->on_install ? vs->on_install(vs->on_install_ctx) : QX_OK;
  } else {
    vs->failure = rc;
  }
  vs->installing = 0;
  pthread_cond_broadcast(&vs->installed_cv);
  return rc;
}

/* ---- trimming the WAL ---- */

int qx_vset_trim_wal(qx_version_set *vs) {
  QX_REQUIRE_HELD(vs->mu);
  if (vs->read_only || !vs->wal) return QX_OK;
  uint64_t keep = vs->current->checkpoint_lsn;
  if (vs->olap_reads_wal && vs->current->parquet->olap_lsn < keep)
    keep = vs->current->parquet->olap_lsn;
  pthread_mutex_unlock(vs->mu);
  pthread_mutex_lock(&vs->trim_mu);
  int rc = qx_wal_checkpoint(vs->wal, keep + 1);
  pthread_mutex_unlock(&vs->trim_mu);
  pthread_mutex_lock(vs->mu);
  return rc;
}
