/* The engine's life cycle: options, open (a writer's or a reader's lock, the version set from
 * the MANIFEST, then WAL replay from the checkpoint), close, the failure that stops writes, and
 * statistics. The write path is in write.c. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lsm/db_impl.h"
#include "lsm/wal_codec.h"
#include "util/dirlock.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/require.h"

void qx_db_options_init(qx_db_options *o) {
  *o = (qx_db_options){.memtable_size = 128u << 20,
                       .l1_size = 256u << 20,
                       .sst_file_size = 64u << 20,
                       .block_cache_size = 256u << 20,
                       .compression = QX_COMPRESSION_NONE,
                       .bloom_bits_per_key = 10,
                       .l0_compaction_trigger = 4,
                       .l0_slowdown_trigger = 8,
                       .l0_stop_trigger = 12,
                       .olap = 1,
                       .olap_buffer_size = 64u << 20,
                       .olap_flush_interval_ms = 10000,
                       .olap_merge_files = 16,
                       .parquet_compression = QX_PARQUET_ZSTD};
  qx_wal_options_init(&o->wal);
  o->wal.ring_size = QX_WAL_DEFAULT_RING_SIZE;
}

static int check_options(const qx_db_options *o) {
  if (o->memtable_size < (64u << 10) || o->l1_size == 0 || o->sst_file_size == 0)
    return qx_fail(QX_ERR_INVALID_ARG, "memtable_size must be >= 64 KiB; level and file sizes > 0");
  if ((unsigned)o->compression > QX_COMPRESSION_ZSTD)
    return qx_fail(QX_ERR_INVALID_ARG, "unknown compression %d", (int)o->compression);
  if (o->l0_compaction_trigger < 2 || o->l0_slowdown_trigger < o->l0_compaction_trigger ||
      o->l0_stop_trigger < o->l0_slowdown_trigger)
    return qx_fail(QX_ERR_INVALID_ARG,
                   "need 2 <= l0_compaction_trigger <= l0_slowdown_trigger <= l0_stop_trigger");
  if (o->olap && (o->olap_buffer_size < (1u << 20) || o->olap_merge_files < 2 ||
                  (unsigned)o->parquet_compression > QX_PARQUET_SNAPPY))
    return qx_fail(QX_ERR_INVALID_ARG, "olap_buffer_size must be >= 1 MiB, olap_merge_files >= 2, "
                                       "parquet_compression zstd or snappy");
  return QX_OK;
}

/* ---- the failure that stops writes ---- */

void qx_db_fail(qx_db *db, int rc) {
  QX_REQUIRE_HELD(&db->mu);
  if (rc == QX_OK || db->bg_error) return;
  db->bg_error = rc;
  snprintf(db->failure, sizeof db->failure, "%s", qx_last_error());
  fprintf(stderr, "qaxdb: %s: writes stop after a failure: %s\n", db->dir, db->failure);
}

int qx_db_check_writable(qx_db *db) {
  QX_REQUIRE_HELD(&db->mu);
  if (db->opt.read_only) return qx_fail(QX_ERR_DENIED, "%s is open read-only", db->dir);
  if (db->bg_error)
    return qx_fail(QX_ERR_CLOSED, "%s takes no more writes after a failure: %s", db->dir,
                   db->failure);
  return QX_OK;
}

int qx_db_health(qx_db *db) {
  pthread_mutex_lock(&db->mu);
  int rc = qx_db_check_writable(db);
  pthread_mutex_unlock(&db->mu);
  return rc;
}

/* ---- open and close ---- */

#define REPLAY_PAUSE 1 /* the MemTable is full: flush it, then replay on */

typedef struct replay_state {
  qx_db *db;
  uint64_t applied; /* last LSN inserted */
} replay_state;

static int replay_entry(const qx_wal_entry *e, void *ctx) {
  replay_state *st = ctx;
  qx_decoded_write w;
  int rc = qx_wal_entry_decode(e, &w);
  /* The engine writes nothing beyond its limits; an entry that is came from elsewhere. */
  if (rc == QX_OK && qx_kv_check(w.key_len, w.value_len) != QX_OK)
    rc = qx_fail(QX_ERR_TOO_LARGE, "WAL entry lsn %" PRIu64 ": %s", e->lsn, qx_last_error());
  if (rc == QX_OK) rc = qx_db_insert(st->db, &w, e->lsn);
  if (rc != QX_OK) return rc;
  st->applied = e->lsn;
  return qx_memtable_full(st->db->mem) ? REPLAY_PAUSE : QX_OK;
}

/* Recovery has no background threads yet: a full MemTable is flushed in place, outside the
 * WAL replay (which holds the log's lock). REQUIRES: mu. */
static int flush_replayed(qx_db *db) {
  QX_REQUIRE_HELD(&db->mu);
  int rc = qx_flush_memtable(db, db->mem);
  qx_memtable_unref(db->mem);
  db->mem = NULL;
  return rc == QX_OK ? qx_memtable_create(db->opt.memtable_size, &db->mem) : rc;
}

/* Replays every entry after the checkpoint into the MemTable. REQUIRES: mu. */
static int replay_from(qx_db *db, uint64_t from, uint64_t last) {
  QX_REQUIRE_HELD(&db->mu);
  replay_state st = {db, from - 1};
  while (st.applied < last) {
    int rc = qx_wal_replay(db->wal, st.applied + 1, replay_entry, &st);
    if (rc != REPLAY_PAUSE) return rc;
    if ((rc = flush_replayed(db)) != QX_OK) return rc;
  }
  return QX_OK;
}

static int replay_wal(qx_db *db, qx_db_recovery *rec) {
  uint64_t checkpoint = db->vset.current->checkpoint_lsn, last = qx_wal_last_lsn(db->wal);
  if (last < checkpoint || (rec->wal.first_lsn > checkpoint + 1 && last > checkpoint))
    return qx_fail(QX_ERR_CORRUPT,
                   "%s: the WAL holds LSNs %" PRIu64 "..%" PRIu64
                   " but the table files need every write after %" PRIu64,
                   db->dir, rec->wal.first_lsn, last, checkpoint);
  /* Read-only: nothing may be flushed, so the MemTable holds the whole tail. */
  uint64_t limit = db->opt.read_only ? UINT64_MAX : db->opt.memtable_size;
  int rc = qx_memtable_create(limit, &db->mem);
  if (rc == QX_OK) rc = qx_view_install(db);
  if (rc == QX_OK) rc = replay_from(db, checkpoint + 1, last);
  rec->checkpoint_lsn = checkpoint;
  rec->replayed = last - checkpoint;
  atomic_store(&db->visible_lsn, last);
  if (rc == QX_OK) rc = qx_view_install(db);
  return rc == QX_OK ? qx_vset_trim_wal(&db->vset) : rc;
}

static int init_sync(qx_db *db) {
  if (pthread_mutex_init(&db->mu, NULL) || pthread_mutex_init(&db->view_mu, NULL) ||
      pthread_mutex_init(&db->snap_mu, NULL) || pthread_cond_init(&db->work_cv, NULL) ||
      pthread_cond_init(&db->done_cv, NULL))
    return qx_fail(QX_ERR_NOMEM, "cannot create the engine's locks");
  db->snapshots.next = db->snapshots.prev = &db->snapshots;
  return qx_deferred_init(&db->reclaimer);
}

static int install_view(void *db) {
  return qx_view_install(db);
}

static int open_files(qx_db *db, qx_db_recovery *rec) {
  char wal_dir[PATH_MAX];
  if (snprintf(wal_dir, sizeof wal_dir, "%s/wal", db->dir) >= (int)sizeof wal_dir)
    return qx_fail(QX_ERR_INVALID_ARG, "data folder path too long: %s", db->dir);
  qx_wal_options wal_options = db->opt.wal;
  wal_options.read_only = db->opt.read_only;
  qx_olap_hook_wal(db, &wal_options);
  qx_version_set *vs = &db->vset;
  int rc = qx_vset_init(vs, db->dir, db->opt.read_only, &db->mu);
  vs->sst_counters = &db->sst_counters;
  vs->counters = &db->counters;
  vs->reclaimer = &db->reclaimer;
  vs->on_install = install_view;
  vs->on_install_ctx = db;
  vs->olap_reads_wal = db->opt.olap;
  if (rc == QX_OK && !db->opt.read_only) rc = qx_mkdir_p(vs->sst_dir);
  if (rc == QX_OK) rc = qx_block_cache_create(db->opt.block_cache_size, &db->cache);
  vs->cache = db->cache;
  if (rc == QX_OK) rc = qx_vset_recover(vs, &rec->torn_manifest_bytes, &rec->orphan_files);
  if (rc == QX_OK) wal_options.first_lsn = vs->current->checkpoint_lsn + 1;
  if (rc == QX_OK) rc = qx_wal_open(wal_dir, &wal_options, &db->wal, &rec->wal);
  vs->wal = db->wal;
  pthread_mutex_lock(&db->mu);
  if (rc == QX_OK) rc = replay_wal(db, rec);
  pthread_mutex_unlock(&db->mu);
  return rc;
}

static void free_db(qx_db *db) {
  if (db->view) qx_view_release(db->view);
  if (db->mem) qx_memtable_unref(db->mem);
  for (int i = 0; i < db->imm_count; i++)
    qx_memtable_unref(db->imm[i]);
  qx_vset_free(&db->vset);
  if (db->cache) qx_block_cache_destroy(db->cache);
  if (db->lock_fd >= 0) qx_dirlock_release(db->lock_fd);
  free(db);
}

static int start_threads(qx_db *db) {
  int rc = qx_deferred_start(&db->reclaimer);
  if (rc != QX_OK || db->opt.read_only) return rc;
  if (pthread_create(&db->flush_thread, NULL, qx_flush_main, db) != 0)
    return qx_fail(QX_ERR_NOMEM, "cannot start the flush thread");
  db->threads_started = 1;
  if (pthread_create(&db->compaction_thread, NULL, qx_compaction_main, db) != 0)
    return qx_fail(QX_ERR_NOMEM, "cannot start the compaction thread");
  db->threads_started = 2;
  return QX_OK;
}

/* Lets each background thread finish its current step, then joins it. */
static void stop_threads(qx_db *db) {
  pthread_mutex_lock(&db->mu);
  db->shutting_down = 1;
  pthread_cond_broadcast(&db->work_cv);
  pthread_mutex_unlock(&db->mu);
  if (db->threads_started > 0) pthread_join(db->flush_thread, NULL);
  if (db->threads_started > 1) pthread_join(db->compaction_thread, NULL);
  qx_deferred_stop(&db->reclaimer);
}

/* A writer locks the folder alone (creating it if needed); readers share the lock of an
 * existing database, so that no writer starts under them. */
static int lock_folder(qx_db *db) {
  if (!db->opt.read_only) return qx_dirlock_acquire(db->dir, &db->lock_fd);
  struct stat st;
  if (stat(db->dir, &st) != 0 || !S_ISDIR(st.st_mode))
    return qx_fail(QX_ERR_NOT_FOUND, "%s: no such folder", db->dir);
  return qx_dirlock_acquire_shared(db->dir, &db->lock_fd);
}

int qx_db_open(const char *dir, const qx_db_options *options, qx_db **out,
               qx_db_recovery *recovery) {
  qx_db_recovery scratch = {0};
  qx_db_recovery *rec = recovery ? recovery : &scratch;
  memset(rec, 0, sizeof *rec);
  qx_db *db = calloc(1, sizeof *db);
  if (!db) return qx_fail(QX_ERR_NOMEM, "out of memory for the engine");
  db->lock_fd = -1;
  if (options)
    db->opt = *options;
  else
    qx_db_options_init(&db->opt);
  snprintf(db->dir, sizeof db->dir, "%s", dir);
  int rc = check_options(&db->opt);
  if (rc == QX_OK) rc = init_sync(db);
  if (rc == QX_OK) rc = lock_folder(db);
  if (rc == QX_OK) rc = open_files(db, rec);
  if (rc == QX_OK) rc = start_threads(db);
  if (rc == QX_OK) rc = qx_olap_start(db, rec);
  if (rc != QX_OK) {
    stop_threads(db);
    if (db->wal) qx_wal_close(db->wal);
    free_db(db);
    return rc;
  }
  *out = db;
  return QX_OK;
}

/* Logs the totals counted since the last edit, so a clean close loses none. */
static int save_totals(qx_db *db) {
  pthread_mutex_lock(&db->mu);
  qx_version_edit totals_only = {0};
  int rc = db->bg_error || db->opt.read_only ? QX_OK : qx_vset_install(&db->vset, &totals_only);
  pthread_mutex_unlock(&db->mu);
  return rc;
}

/* A clean close leaves the next open nothing to replay: the MemTable goes to a table file, so
 * open time does not depend on how much the MemTable held (docs/operations.md). The WAL is
 * synced first, so that no table file holds an LSN the log might lose. Skipped after a failure:
 * the WAL holds the writes, and the next open replays them. */
static int flush_for_close(qx_db *db) {
  if (db->opt.read_only || qx_db_health(db) != QX_OK) return QX_OK;
  int rc = qx_db_wait_durable(db, qx_db_last_lsn(db), -1);
  return rc == QX_OK ? qx_db_flush(db) : rc;
}

int qx_db_close(qx_db *db) {
  if (!db) return QX_OK;
  int olap_rc = qx_olap_stop(db);
  int flush_rc = flush_for_close(db);
  stop_threads(db);
  int rc = qx_wal_close(db->wal);
  if (rc == QX_OK) rc = olap_rc;
  if (rc == QX_OK) rc = flush_rc;
  if (rc == QX_OK) rc = save_totals(db);
  if (rc == QX_OK && db->bg_error) rc = qx_fail(db->bg_error, "%s", db->failure);
  free_db(db);
  return rc;
}

/* ---- statistics ---- */

const char *qx_db_dir(const qx_db *db) {
  return db->dir;
}

uint64_t qx_db_last_lsn(const qx_db *db) {
  return atomic_load_explicit(&db->visible_lsn, memory_order_acquire);
}

static void level_stats(qx_db *db, qx_db_stats *s) {
  uint64_t target = db->opt.l1_size;
  for (int l = 0; l < QX_DB_LEVELS; l++) {
    s->levels[l].files = db->vset.current->count[l];
    s->levels[l].bytes = qx_level_bytes(db->vset.current, l);
    s->levels[l].target_bytes = l == 0 ? 0 : target;
    if (l > 0) target *= 10;
  }
  s->checkpoint_lsn = db->vset.current->checkpoint_lsn;
  s->memtable_bytes = qx_memtable_memory_usage(db->mem);
  for (int i = 0; i < db->imm_count; i++)
    s->memtable_bytes += qx_memtable_memory_usage(db->imm[i]);
}

static void olap_stats(qx_db *db, qx_db_stats *s) {
  qx_olap *olap = atomic_load_explicit(&db->olap, memory_order_acquire);
  if (!olap) return;
  qx_olap_stats o;
  qx_olap_stats_get(olap, &o);
  s->olap_converted_lsn = o.converted_lsn;
  s->olap_lsn = o.olap_lsn;
  s->olap_buffered_rows = o.buffered_rows;
  s->olap_buffered_bytes = o.buffered_bytes;
  s->parquet_files = o.parquet_files;
  s->parquet_bytes = o.parquet_bytes;
  s->parquet_rows = o.parquet_rows;
  s->parquet_flushes = qx_counted(&db->counters, QX_TOTAL_PARQUET_FLUSHES);
  s->parquet_merges = qx_counted(&db->counters, QX_TOTAL_PARQUET_MERGES);
}

int qx_db_stats_get(qx_db *db, qx_db_stats *s) {
  memset(s, 0, sizeof *s);
  pthread_mutex_lock(&db->mu);
  level_stats(db, s);
  pthread_mutex_unlock(&db->mu);
  s->last_lsn = qx_db_last_lsn(db);
  qx_totals t;
  qx_counters_read(&db->counters, &t);
  s->user_bytes_written = t.v[QX_TOTAL_USER_BYTES];
  s->flush_bytes = t.v[QX_TOTAL_FLUSH_BYTES];
  s->compaction_bytes_read = t.v[QX_TOTAL_COMPACTION_READ];
  s->compaction_bytes_written = t.v[QX_TOTAL_COMPACTION_WRITTEN];
  if (s->user_bytes_written)
    s->write_amplification =
        (double)(t.v[QX_TOTAL_WAL_BYTES] + s->flush_bytes + s->compaction_bytes_written) /
        (double)s->user_bytes_written;
  s->flushes = t.v[QX_TOTAL_FLUSHES];
  s->compactions = t.v[QX_TOTAL_COMPACTIONS];
  s->compaction_cpu_ns = t.v[QX_TOTAL_BACKGROUND_CPU_NS];
  s->stall_ns = t.v[QX_TOTAL_STALL_NS];
  s->stall_count = t.v[QX_TOTAL_STALLS];
  if (db->wal) qx_wal_ring_waits(db->wal, &s->ring_waits, &s->ring_wait_ns);
  if (db->wal) s->written_lsn = qx_wal_written_lsn(db->wal);
  if (db->wal) s->durable_lsn = qx_wal_durable_lsn(db->wal);
  if (db->wal) qx_wal_group_waits(db->wal, &s->group_waits, &s->group_wait_ns);
  s->bloom_checks = __atomic_load_n(&db->sst_counters.bloom_checks, __ATOMIC_RELAXED);
  s->bloom_negatives = __atomic_load_n(&db->sst_counters.bloom_negatives, __ATOMIC_RELAXED);
  s->bloom_false_positives =
      __atomic_load_n(&db->sst_counters.bloom_false_positives, __ATOMIC_RELAXED);
  qx_block_cache_counters(db->cache, &s->cache_hits, &s->cache_misses, &s->cache_bytes);
  olap_stats(db, s);
  uint64_t below = 0;
  for (int i = 0; i < QX_DB_LATENCY_BUCKETS; i++)
    s->write_latency[i] = below +=
        atomic_load_explicit(&db->write_latency[i], memory_order_relaxed);
  s->write_latency_count = atomic_load_explicit(&db->write_latency_count, memory_order_relaxed);
  s->write_latency_sum_ns = atomic_load_explicit(&db->write_latency_sum_ns, memory_order_relaxed);
  pthread_mutex_lock(&db->snap_mu);
  s->live_snapshots = db->snapshot_count;
  pthread_mutex_unlock(&db->snap_mu);
  return QX_OK;
}
