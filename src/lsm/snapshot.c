/* qx_db_snapshot: a copy of a live database folder at one LSN that opens on its own. Table
 * and Parquet files are immutable, so they are hard-linked (copied across filesystems); the
 * MANIFEST is written fresh from one pinned version; the WAL entries that version's files do
 * not hold yet, up to the snapshot LSN, are copied into a new log. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "lsm/db_impl.h"
#include "lsm/snapshot_folder.h"
#include "util/error.h"
#include "util/filecopy.h"
#include "util/fileio.h"

/* What the snapshot is made of, taken together so that it is one consistent state. */
typedef struct pinned_state {
  qx_version *version; /* its files cannot be deleted while referenced */
  uint64_t next_file_number;
  uint64_t lsn; /* the snapshot's LSN: >= the version's checkpoint and Parquet LSN */
  qx_totals totals;
} pinned_state;

/* Pins the current version, then takes the LSN: every file the version names holds only
 * writes at or below it, because a flush's checkpoint and the Parquet LSN never pass what was
 * written to the WAL. The converter may have read a batch the engine has not yet made
 * visible; the LSN then covers that batch too. */
static void pin(qx_db *db, pinned_state *p) {
  pthread_mutex_lock(&db->mu);
  p->version = db->vset.current;
  qx_version_ref(p->version);
  p->next_file_number = atomic_load(&db->vset.next_file_number);
  pthread_mutex_unlock(&db->mu);
  qx_counters_read(&db->counters, &p->totals);
  p->lsn = qx_db_last_lsn(db);
  if (p->version->parquet->olap_lsn > p->lsn) p->lsn = p->version->parquet->olap_lsn;
  if (p->version->checkpoint_lsn > p->lsn) p->lsn = p->version->checkpoint_lsn;
}

/* ---- the WAL: entries after what the files hold, up to the snapshot LSN ---- */

typedef struct wal_copy {
  qx_wal *to;
  uint64_t next_lsn;
} wal_copy;

static int append_entry(const qx_wal_entry *e, void *ctx) {
  wal_copy *c = ctx;
  qx_wal_record r = {.table_id = e->table_id,
                     .schema_version = e->schema_version,
                     .size = e->size,
                     .ts_ns = e->ts_ns,
                     .data = e->data};
  uint64_t lsn = 0;
  int rc = qx_wal_append(c->to, &r, QX_DURABILITY_NONE, &lsn);
  if (rc == QX_OK && lsn != e->lsn)
    rc = qx_fail(QX_ERR_CORRUPT, "snapshot WAL: entry %" PRIu64 " was written as %" PRIu64, e->lsn,
                 lsn);
  c->next_lsn = e->lsn + 1;
  return rc;
}

/* The first LSN the snapshot's log must hold: after the checkpoint, or after the Parquet LSN
 * when the converter is behind (it reads the log too), whether or not this handle converts:
 * the snapshot may be opened with analytics on. */
static uint64_t wal_start(const qx_version *v) {
  uint64_t start = v->checkpoint_lsn + 1;
  if (v->parquet->olap_lsn < v->checkpoint_lsn) start = v->parquet->olap_lsn + 1;
  return start;
}

/* Opens a reader at start, or after the checkpoint if the log was trimmed past the Parquet
 * LSN while analytics were off (open then reports those records as skipped, as it does on the
 * source). */
static int open_reader(qx_db *db, const qx_version *v, uint64_t *start, qx_wal_reader **out) {
  int rc = qx_wal_reader_open(db->wal, *start, out);
  if (rc != QX_OK && *start <= v->checkpoint_lsn) {
    *start = v->checkpoint_lsn + 1;
    rc = qx_wal_reader_open(db->wal, *start, out);
  }
  return rc;
}

static int copy_wal(qx_db *db, const pinned_state *p, const char *tmp) {
  char wal_dir[PATH_MAX + 8];
  snprintf(wal_dir, sizeof wal_dir, "%s/wal", tmp);
  uint64_t start = wal_start(p->version);
  qx_wal_reader *reader = NULL;
  int rc = start <= p->lsn ? open_reader(db, p->version, &start, &reader) : QX_OK;
  if (rc != QX_OK) return rc;
  qx_wal_options o;
  qx_wal_options_init(&o);
  o.segment_size = db->opt.wal.segment_size;
  o.first_lsn = start <= p->lsn ? start : p->lsn + 1;
  o.cursor_retention_bytes = 0;
  wal_copy c = {.next_lsn = o.first_lsn};
  rc = qx_wal_open(wal_dir, &o, &c.to, NULL);
  while (rc == QX_OK && reader && c.next_lsn <= p->lsn)
    rc = qx_wal_reader_read(reader, p->lsn, append_entry, &c);
  if (rc == QX_OK && c.next_lsn != p->lsn + 1)
    rc =
        qx_fail(QX_ERR_CORRUPT, "%s: the WAL ends at %" PRIu64 ", before the snapshot LSN %" PRIu64,
                db->dir, c.next_lsn - 1, p->lsn);
  if (reader) qx_wal_reader_close(reader);
  int close_rc = c.to ? qx_wal_close(c.to) : QX_OK;
  return rc == QX_OK ? close_rc : rc;
}

/* Holds WAL trimming off while the version is pinned and its log tail copied, so that no
 * segment the copy needs is deleted under it. */
static int pin_and_copy_wal(qx_db *db, pinned_state *p, const char *tmp) {
  pthread_mutex_lock(&db->vset.trim_mu);
  pin(db, p);
  int rc = qx_db_wait_durable(db, p->lsn, -1);
  if (rc == QX_OK) rc = copy_wal(db, p, tmp);
  pthread_mutex_unlock(&db->vset.trim_mu);
  return rc;
}

/* ---- the immutable files ---- */

static int link_tables(const qx_version *v, const char *tmp) {
  char sst_dir[PATH_MAX + 8], to[PATH_MAX + 40];
  snprintf(sst_dir, sizeof sst_dir, "%s/sst", tmp);
  int rc = qx_mkdir_p(sst_dir);
  for (int l = 0; l < QX_DB_LEVELS && rc == QX_OK; l++)
    for (uint32_t i = 0; i < v->count[l] && rc == QX_OK; i++) {
      const qx_file *f = v->files[l][i];
      snprintf(to, sizeof to, "%s/%06" PRIu64 ".sst", sst_dir, f->meta.file_number);
      rc = qx_link_or_copy(f->path, to);
    }
  return rc;
}

static int link_parquet(const qx_parquet_set *set, const char *tmp) {
  char olap_dir[PATH_MAX + 8], part_dir[PATH_MAX], to[PATH_MAX];
  snprintf(olap_dir, sizeof olap_dir, "%s/olap", tmp);
  int rc = qx_mkdir_p(olap_dir);
  for (size_t i = 0; i < set->count && rc == QX_OK; i++) {
    const qx_parquet_meta *m = &set->files[i]->meta;
    qx_parquet_dir(olap_dir, m, part_dir, sizeof part_dir);
    qx_parquet_path(olap_dir, m, to, sizeof to);
    rc = qx_mkdir_p(part_dir);
    if (rc == QX_OK) rc = qx_link_or_copy(set->files[i]->path, to);
  }
  return rc;
}

/* The files, a MANIFEST describing exactly the pinned version, and the marker. */
static int write_files(qx_db *db, const pinned_state *p, const char *tmp) {
  int rc = link_tables(p->version, tmp);
  if (rc == QX_OK) rc = link_parquet(p->version->parquet, tmp);
  qx_manifest *m = NULL;
  if (rc == QX_OK)
    rc = qx_manifest_create(tmp, p->next_file_number, p->version, p->next_file_number + 1,
                            &p->totals, &m);
  qx_manifest_close(m);
  if (rc == QX_OK)
    rc = qx_snapfolder_write_marker(tmp, p->lsn, p->version->checkpoint_lsn, db->dir);
  return rc;
}

int qx_db_snapshot(qx_db *db, const char *dest_dir, uint64_t *lsn_out) {
  char tmp[PATH_MAX];
  int rc = qx_snapfolder_begin(dest_dir, tmp, sizeof tmp);
  if (rc != QX_OK) return rc;
  pinned_state p = {0};
  rc = pin_and_copy_wal(db, &p, tmp);
  if (rc == QX_OK) rc = write_files(db, &p, tmp);
  if (p.version) qx_version_unref_later(p.version, &db->reclaimer);
  if (rc == QX_OK) rc = qx_snapfolder_finish(tmp, dest_dir);
  if (rc != QX_OK) {
    qx_snapfolder_remove(tmp);
    return rc;
  }
  if (lsn_out) *lsn_out = p.lsn;
  return QX_OK;
}
