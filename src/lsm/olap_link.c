/* The engine's side of the analytics path: starting the Parquet converter where the MANIFEST
 * says Parquet ends, making its edits durable through the engine's version set (which trims the
 * WAL only below what both MemTable replay and the converter still need), and keeping the
 * engine's versions as of the converter's LSN for point lookups from SQL. */
#include "lsm/db_impl.h"
#include "util/error.h"

static void on_durable(uint64_t lsn, void *ctx) {
  qx_db *db = ctx;
  if (db->user_on_durable) db->user_on_durable(lsn, db->user_on_durable_ctx);
  qx_olap *olap = atomic_load_explicit(&db->olap, memory_order_acquire);
  if (olap) qx_olap_notify(olap);
}

void qx_olap_hook_wal(qx_db *db, qx_wal_options *wal_options) {
  db->user_on_durable = wal_options->on_durable;
  db->user_on_durable_ctx = wal_options->on_durable_ctx;
  wal_options->on_durable = on_durable;
  wal_options->on_durable_ctx = db;
}

static int install_parquet(void *ctx, qx_parquet_edit *edit, qx_parquet_set **installed) {
  qx_db *db = ctx;
  qx_version_edit e = {.parquet = *edit};
  pthread_mutex_lock(&db->mu);
  qx_count(&db->counters, edit->removed_count ? QX_TOTAL_PARQUET_MERGES : QX_TOTAL_PARQUET_FLUSHES,
           1);
  int rc = qx_vset_install(&db->vset, &e);
  if (rc == QX_OK) {
    *installed = db->vset.current->parquet;
    qx_parquet_set_ref(*installed);
    rc = qx_vset_trim_wal(&db->vset);
  }
  qx_db_fail(db, rc);
  pthread_mutex_unlock(&db->mu);
  return rc;
}

static qx_snapshot *pin(void *ctx, uint64_t lsn) {
  return qx_db_snapshot_create_at(ctx, lsn);
}

static void unpin(void *ctx, qx_snapshot *snapshot) {
  qx_db_snapshot_release(ctx, snapshot);
}

/* The first LSN to convert: after olap_lsn, or the oldest kept if the WAL was trimmed past it
 * while analytics were off (those records are reported in rec, not silently skipped). */
static uint64_t start_lsn(qx_db *db, qx_db_recovery *rec) {
  uint64_t start = db->vset.current->parquet->olap_lsn + 1;
  uint64_t oldest = rec->wal.first_lsn ? rec->wal.first_lsn : qx_wal_last_lsn(db->wal) + 1;
  if (start < oldest) {
    rec->olap_skipped = oldest - start;
    start = oldest;
  }
  return start;
}

int qx_olap_start(qx_db *db, qx_db_recovery *rec) {
  if (!db->opt.olap) return QX_OK;
  pthread_mutex_lock(&db->mu);
  qx_olap_config cfg = {
      .wal = db->wal,
      .olap_dir = db->vset.olap_dir,
      .files = db->vset.current->parquet,
      .start_lsn = start_lsn(db, rec),
      .buffer_bytes = db->opt.olap_buffer_size,
      .flush_interval_ms = db->opt.olap_flush_interval_ms,
      .merge_min_files = db->opt.olap_merge_files,
      .compression = db->opt.parquet_compression == QX_PARQUET_SNAPPY ? "snappy" : "zstd",
      .read_only = db->opt.read_only,
      .engine = db,
      .install = install_parquet,
      .pin = pin,
      .unpin = unpin,
      .pinnable_from = atomic_load(&db->visible_lsn),
  };
  rec->olap_lsn = db->vset.current->parquet->olap_lsn;
  qx_olap *olap = NULL;
  int rc = qx_olap_open(&cfg, &olap);
  pthread_mutex_unlock(&db->mu);
  if (rc == QX_OK) atomic_store_explicit(&db->olap, olap, memory_order_release);
  return rc;
}

int qx_olap_stop(qx_db *db) {
  qx_olap *olap = atomic_exchange(&db->olap, NULL);
  return qx_olap_close(olap);
}

static qx_olap *require_olap(qx_db *db) {
  qx_olap *olap = atomic_load_explicit(&db->olap, memory_order_acquire);
  if (!olap)
    (void)qx_fail(QX_ERR_INVALID_ARG, "%s: analytics are off (qx_db_options.olap = 0)", db->dir);
  return olap;
}

int qx_db_olap_flush(qx_db *db) {
  qx_olap *olap = require_olap(db);
  return olap ? qx_olap_flush(olap, QX_OLAP_MERGE_SMALL) : QX_ERR_INVALID_ARG;
}

int qx_db_olap_compact(qx_db *db) {
  qx_olap *olap = require_olap(db);
  return olap ? qx_olap_flush(olap, QX_OLAP_MERGE_ALL) : QX_ERR_INVALID_ARG;
}

int qx_db_olap_sync(qx_db *db) {
  qx_olap *olap = require_olap(db);
  return olap ? qx_olap_sync(olap) : QX_ERR_INVALID_ARG;
}

qx_olap *qx_db_olap(qx_db *db) {
  return require_olap(db);
}

const char *qx_db_olap_dir(const qx_db *db) {
  return db->vset.olap_dir;
}
