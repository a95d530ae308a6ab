/* Opening a version set: rebuilding the current version from the MANIFEST, refusing a folder
 * whose CURRENT is gone, removing table files no version names (left by a crash mid-flush or
 * mid-compaction), and starting a fresh MANIFEST that holds the recovered state as its first
 * edit. Read-only opens do only the first two. */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lsm/recover.h"
#include "util/error.h"
#include "util/io.h"

static void remove_live(qx_live_files *s, int level, uint64_t number) {
  for (size_t i = 0; i < s->all.added_count; i++)
    if (s->all.added[i].level == level && s->all.added[i].meta.file_number == number) {
      s->all.added[i] = s->all.added[--s->all.added_count];
      return;
    }
}

static int same_parquet(const qx_parquet_meta *a, const qx_parquet_meta *b) {
  return a->table_id == b->table_id && a->day == b->day && a->first_lsn == b->first_lsn &&
         a->last_lsn == b->last_lsn;
}

static int apply_parquet_edit(const qx_parquet_edit *e, qx_parquet_edit *live) {
  if (e->has_olap_lsn) live->olap_lsn = e->olap_lsn;
  for (size_t i = 0; i < e->removed_count; i++)
    for (size_t j = 0; j < live->added_count; j++)
      if (same_parquet(&live->added[j], &e->removed[i])) {
        live->added[j] = live->added[--live->added_count];
        break;
      }
  for (size_t i = 0; i < e->added_count; i++) {
    int rc = qx_parquet_edit_add(live, &e->added[i]);
    if (rc != QX_OK) return rc;
  }
  return QX_OK;
}

static int apply_edit(const qx_version_edit *e, void *ctx) {
  qx_live_files *s = ctx;
  if (e->has_checkpoint) s->checkpoint_lsn = e->checkpoint_lsn;
  if (e->has_next_file) s->next_file_number = e->next_file_number;
  if (e->has_totals) s->totals = e->totals;
  for (size_t i = 0; i < e->removed_count; i++)
    remove_live(s, e->removed[i].level, e->removed[i].file_number);
  for (size_t i = 0; i < e->added_count; i++) {
    int rc = qx_edit_add(&s->all, e->added[i].level, &e->added[i].meta);
    if (rc != QX_OK) return rc;
  }
  return apply_parquet_edit(&e->parquet, &s->all.parquet);
}

int qx_read_live_files(const char *dir, qx_live_files *out, uint64_t *torn_manifest_bytes) {
  *out = (qx_live_files){.next_file_number = 1};
  int rc = qx_manifest_read(dir, apply_edit, out, torn_manifest_bytes);
  if (rc != QX_OK) qx_edit_free(&out->all);
  return rc;
}

/* ---- a folder without CURRENT ---- */

static int has_file_ending(const char *dir, const char *suffix) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  size_t sl = strlen(suffix);
  int found = 0;
  struct dirent *de;
  while (!found && (de = readdir(d)) != NULL) {
    size_t n = strlen(de->d_name);
    found = n > sl && strcmp(de->d_name + n - sl, suffix) == 0;
  }
  closedir(d);
  return found;
}

static int parquet_found;
static int find_parquet(const char *path, const struct stat *st, int flag, struct FTW *f) {
  (void)st;
  (void)f;
  size_t n = strlen(path);
  parquet_found = flag == FTW_F && n > 8 && strcmp(path + n - 8, ".parquet") == 0;
  return parquet_found; /* non-zero stops the walk */
}

/* The first kind of data the folder holds, or NULL if it holds none (a new database). Only
 * called while the folder is locked, so the walk's static state is not shared. */
static const char *data_in_folder(const qx_version_set *vs) {
  char wal_dir[PATH_MAX + 8];
  snprintf(wal_dir, sizeof wal_dir, "%s/wal", vs->dir);
  if (has_file_ending(vs->sst_dir, ".sst")) return "table files (sst/)";
  if (has_file_ending(wal_dir, ".wal")) return "a write-ahead log (wal/)";
  parquet_found = 0;
  nftw(vs->olap_dir, find_parquet, 16, FTW_PHYS);
  return parquet_found ? "Parquet files (olap/)" : NULL;
}

static int read_or_refuse(qx_version_set *vs, qx_live_files *s, uint64_t *torn) {
  int rc = qx_read_live_files(vs->dir, s, torn);
  if (rc != QX_ERR_NOT_FOUND) return rc;
  const char *what = data_in_folder(vs);
  if (what)
    return qx_fail(QX_ERR_CORRUPT,
                   "%s/CURRENT is missing, but the folder holds %s: it is not a new database, "
                   "so nothing was changed. `qaxdb repair --data %s` rebuilds the MANIFEST from "
                   "the files",
                   vs->dir, what, vs->dir);
  if (vs->read_only) return qx_fail(QX_ERR_NOT_FOUND, "%s: no database here", vs->dir);
  *s = (qx_live_files){.next_file_number = 1};
  return QX_OK;
}

/* ---- opening ---- */

static int open_live_files(qx_version_set *vs, qx_live_files *s, qx_version **out) {
  size_t n = s->all.added_count;
  qx_file **opened = calloc(n + 1, sizeof(qx_file *));
  if (!opened) return qx_fail(QX_ERR_NOMEM, "out of memory opening table files");
  int rc = QX_OK;
  for (size_t i = 0; i < n && rc == QX_OK; i++)
    rc = qx_vset_open_table(vs, &s->all.added[i].meta, 0, &opened[i]);
  qx_version *empty = qx_version_create();
  if (!empty && rc == QX_OK) rc = qx_fail(QX_ERR_NOMEM, "out of memory for a version");
  s->all.has_checkpoint = 1;
  s->all.checkpoint_lsn = s->checkpoint_lsn;
  s->all.parquet.has_olap_lsn = 1;
  if (rc == QX_OK) rc = qx_version_apply(empty, &s->all, opened, n, vs->olap_dir, out);
  if (empty) qx_version_unref(empty);
  for (size_t i = 0; i < n; i++)
    if (opened[i]) qx_file_unref(opened[i]);
  free(opened);
  return rc;
}

static int is_live(const qx_version *v, uint64_t number) {
  for (int l = 0; l < QX_DB_LEVELS; l++)
    for (uint32_t i = 0; i < v->count[l]; i++)
      if (v->files[l][i]->meta.file_number == number) return 1;
  return 0;
}

/* Deletes table files and temporaries that the recovered version does not name. */
static uint64_t remove_orphans(const qx_version_set *vs, const qx_version *v) {
  uint64_t removed = 0;
  DIR *d = opendir(vs->sst_dir);
  if (!d) return 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    uint64_t number;
    char suffix[8] = "";
    if (sscanf(de->d_name, "%" SCNu64 ".%7s", &number, suffix) != 2) continue;
    if (strcmp(suffix, "sst") == 0 && is_live(v, number)) continue;
    char path[PATH_MAX + 256];
    snprintf(path, sizeof path, "%s/%s", vs->sst_dir, de->d_name);
    removed += qx_io_unlink(path) == 0;
  }
  closedir(d);
  return removed;
}

int qx_vset_recover(qx_version_set *vs, uint64_t *torn_manifest_bytes, uint64_t *orphans) {
  qx_live_files s;
  int rc = read_or_refuse(vs, &s, torn_manifest_bytes);
  if (rc != QX_OK) return rc;
  qx_version *v = NULL;
  rc = open_live_files(vs, &s, &v);
  qx_edit_free(&s.all);
  if (rc != QX_OK) return rc;
  vs->current = v;
  qx_counters_restore(vs->counters, &s.totals);
  uint64_t manifest_number = s.next_file_number;
  atomic_store(&vs->next_file_number, manifest_number + 1);
  if (vs->read_only) return QX_OK;
  *orphans = remove_orphans(vs, v);
  return qx_manifest_create(vs->dir, manifest_number, v, manifest_number + 1, &s.totals,
                            &vs->manifest);
}
