/* The inside of a qx_db, shared by the engine's files (db.c: open/close and the write path;
 * read.c: gets, snapshots and iterators; background.c: picking and running flushes and
 * compactions; version_set.c: the current version, the MANIFEST and installing edits;
 * olap_link.c: the Parquet converter). Other parts of qaxdb use lsm/engine.h instead.
 *
 * Thread-safety contract:
 *   1. mu guards the write path, the MemTable switch, the current version and the background
 *      threads' state. Writers hold it while appending to the WAL and inserting into the
 *      active MemTable, so LSN order equals MemTable insert order. The flush thread and the
 *      compaction thread hold it only to pick work and to install results, never during I/O:
 *      the version set releases it while it syncs an edit (version_set.h). Only the flush
 *      thread adds level-0 files and advances the checkpoint; only the compaction thread
 *      removes files, so a compaction's inputs stay in the current version until it installs,
 *      and edits apply as deltas to whatever is current then.
 *   2. Readers never take mu. They take a reference to the current read view under view_mu
 *      (a few instructions), then read without locks: the view's MemTables and version stay
 *      alive until the reference is dropped.
 *   3. snap_mu guards the list of live snapshots.
 * Invariants:
 *   1. A reader takes its view first and its LSN (visible_lsn) second; a compaction drops a
 *      hidden version only if a newer version of the key is at or below the oldest snapshot
 *      LSN taken when it started, which is <= visible_lsn. So every reader finds the version
 *      its LSN needs, in its view.
 *   2. A snapshot may be created below visible_lsn (qx_db_snapshot_create_at) only while an
 *      older snapshot is live: the versions it needs are the ones kept for that one. The
 *      Parquet converter keeps such a snapshot at its converted LSN for SQL's.
 *   3. Immutable MemTables are flushed oldest first; the checkpoint LSN written with a flush
 *      is the highest LSN of that MemTable, so every write <= checkpoint is in table files. */
#ifndef QX_LSM_DB_IMPL_H
#define QX_LSM_DB_IMPL_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>

#include "lsm/engine.h"
#include "lsm/version_set.h"
#include "lsm/wal_codec.h"
#include "memtable/memtable.h"
#include "olap/olap.h"
#include "qaxdb/db.h"
#include "sstable/sstable.h"
#include "util/deferred.h"

#define QX_MAX_IMMUTABLE 2

typedef struct qx_read_view {
  atomic_int refs;
  qx_memtable *mem;
  qx_memtable *imm[QX_MAX_IMMUTABLE]; /* newest first */
  int imm_count;
  qx_version *version;
  qx_block_cache *cache;
  qx_deferred_queue *reclaimer; /* frees it when the last reference goes */
  qx_deferred deferred;
} qx_read_view;

struct qx_snapshot {
  uint64_t lsn;
  qx_snapshot *prev, *next;
};

struct qx_db {
  char dir[PATH_MAX];
  qx_db_options opt;
  int lock_fd;
  qx_wal *wal;
  qx_block_cache *cache;
  qx_sst_counters sst_counters;
  qx_counters counters; /* the folder's totals (version.h), persisted by the version set */

  pthread_mutex_t mu;
  pthread_cond_t work_cv; /* wakes the background threads */
  pthread_cond_t done_cv; /* background progress: wakes stalled writers, flush and compact */
  qx_memtable *mem;
  qx_memtable *imm[QX_MAX_IMMUTABLE]; /* newest first */
  int imm_count;
  qx_version_set vset; /* the current version, the MANIFEST, table files, WAL trimming */
  int bg_error;        /* first failure of a write, flush, compaction or install: the engine
                          stops taking writes (qx_db_fail) */
  char failure[1024];  /* its detail */
  int shutting_down;
  int manual_compaction; /* requested by qx_db_compact, cleared when done */
  uint8_t compact_pointer[QX_DB_LEVELS][QX_DB_MAX_KEY]; /* round-robin position per level */
  uint32_t compact_pointer_len[QX_DB_LEVELS];
  pthread_t flush_thread, compaction_thread;
  int threads_started;         /* how many of the two */
  qx_deferred_queue reclaimer; /* frees replaced read views */
  atomic_int l0_files;

  pthread_mutex_t view_mu;
  qx_read_view *view;
  atomic_uint_fast64_t visible_lsn;

  _Atomic(qx_olap *) olap; /* the Parquet converter; NULL when analytics are off */
  /* Sampled write latency (qx_db_stats): samples per bucket, their count and sum. */
  atomic_uint_fast64_t write_latency[QX_DB_LATENCY_BUCKETS];
  atomic_uint_fast64_t write_latency_count, write_latency_sum_ns;
  /* Replication's hooks (engine.h), set and read under mu. */
  qx_db_commit_fn on_commit;
  void *on_commit_ctx;
  qx_db_replication_wait_fn replication_wait;
  void *replication_wait_ctx;
  int refusing_writes; /* callers' writes are refused ... */
  char refusal[512];   /* ... with this message */
  void (*user_on_durable)(uint64_t lsn, void *ctx);
  void *user_on_durable_ctx;

  pthread_mutex_t snap_mu;
  qx_snapshot snapshots; /* sentinel of a circular list, oldest first */
  uint64_t snapshot_count;
};

/* The write path (write.c). */
/* Inserts a decoded write at lsn into the active MemTable. REQUIRES: mu. */
int qx_db_insert(qx_db *db, const qx_decoded_write *w, uint64_t lsn);

/* The engine's failure state (db.c). */
/* Records the first failure that stops the engine; later writes fail with its detail.
 * REQUIRES: mu. */
void qx_db_fail(qx_db *db, int rc);
/* QX_OK if the engine takes writes; otherwise why not. REQUIRES: mu. */
int qx_db_check_writable(qx_db *db);

/* Read views (read.c). */
qx_read_view *qx_view_acquire(qx_db *db);
void qx_view_release(qx_read_view *rv);
/* Publishes a new view of db->mem, db->imm and db->current. REQUIRES: mu held. */
int qx_view_install(qx_db *db);
/* The LSN below which no snapshot needs hidden versions. */
uint64_t qx_oldest_snapshot_lsn(qx_db *db);

/* The analytics path (olap_link.c). */
/* Hooks the converter's wake-up into the WAL options before the WAL opens. */
void qx_olap_hook_wal(qx_db *db, qx_wal_options *wal_options);
int qx_olap_start(qx_db *db, qx_db_recovery *rec);
int qx_olap_stop(qx_db *db);

/* Background work (background.c). */
void *qx_flush_main(void *arg);
void *qx_compaction_main(void *arg);
/* Writes memtable mt to a new level-0 file and installs it with checkpoint mt's max LSN.
 * REQUIRES: mu held (released during the I/O). */
int qx_flush_memtable(qx_db *db, qx_memtable *mt);

#endif
