/* Opening an engine's files: rebuilding the current version from the MANIFEST, removing files
 * no version names (left by a crash mid-flush or mid-compaction), and starting a fresh
 * MANIFEST that holds the recovered state as its first edit. */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lsm/db_impl.h"
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
  for (size_t i = 0; i < e->removed_count; i++)
    remove_live(s, e->removed[i].level, e->removed[i].file_number);
  for (size_t i = 0; i < e->added_count; i++) {
    int rc = qx_edit_add(&s->all, e->added[i].level, &e->added[i].meta);
    if (rc != QX_OK) return rc;
  }
  return apply_parquet_edit(&e->parquet, &s->all.parquet);
}

static int open_live_files(qx_db *db, qx_live_files *s, qx_version **out) {
  size_t n = s->all.added_count;
  qx_file **opened = calloc(n + 1, sizeof(qx_file *));
  if (!opened) return qx_fail(QX_ERR_NOMEM, "out of memory opening table files");
  int rc = QX_OK;
  for (size_t i = 0; i < n && rc == QX_OK; i++)
    rc = qx_file_open(db, &s->all.added[i].meta, 0, &opened[i]);
  qx_version *empty = qx_version_create();
  if (!empty && rc == QX_OK) rc = qx_fail(QX_ERR_NOMEM, "out of memory for a version");
  s->all.has_checkpoint = 1;
  s->all.checkpoint_lsn = s->checkpoint_lsn;
  s->all.parquet.has_olap_lsn = 1;
  if (rc == QX_OK) rc = qx_version_apply(empty, &s->all, opened, n, db->olap_dir, out);
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
static uint64_t remove_orphans(qx_db *db, const qx_version *v) {
  uint64_t removed = 0;
  DIR *d = opendir(db->sst_dir);
  if (!d) return 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    uint64_t number;
    char suffix[8] = "";
    if (sscanf(de->d_name, "%" SCNu64 ".%7s", &number, suffix) != 2) continue;
    if (strcmp(suffix, "sst") == 0 && is_live(v, number)) continue;
    char path[PATH_MAX + 256];
    snprintf(path, sizeof path, "%s/%s", db->sst_dir, de->d_name);
    removed += qx_io_unlink(path) == 0;
  }
  closedir(d);
  return removed;
}

int qx_read_live_files(const char *dir, qx_live_files *out, uint64_t *torn_manifest_bytes) {
  *out = (qx_live_files){.next_file_number = 1};
  int rc = qx_manifest_read(dir, apply_edit, out, torn_manifest_bytes);
  if (rc != QX_OK) qx_edit_free(&out->all);
  return rc == QX_ERR_NOT_FOUND ? QX_OK : rc;
}

int qx_recover_version(qx_db *db, uint64_t *torn_manifest_bytes, uint64_t *orphans) {
  qx_live_files s;
  int rc = qx_read_live_files(db->dir, &s, torn_manifest_bytes);
  if (rc != QX_OK) return rc;
  qx_version *v = NULL;
  rc = open_live_files(db, &s, &v);
  qx_edit_free(&s.all);
  if (rc != QX_OK || !v) return rc != QX_OK ? rc : QX_ERR_NOMEM;
  *orphans = remove_orphans(db, v);
  db->current = v;
  uint64_t manifest_number = s.next_file_number;
  atomic_store(&db->next_file_number, manifest_number + 1);
  return qx_manifest_create(db->dir, manifest_number, v, manifest_number + 1, &db->manifest);
}
