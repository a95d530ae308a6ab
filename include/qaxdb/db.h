/* The OLTP engine: the latest state of every table, kept in an LSM tree fed by the WAL.
 *
 * A database folder holds the write-ahead log (wal/), sorted table files (sst/NNNNNN.sst) and a
 * MANIFEST naming the live files of each of 7 levels. Every write is appended to the WAL
 * first (at the durability the caller asks for) and then inserted into the active MemTable;
 * full MemTables are flushed to level 0 by a flush thread while a compaction thread compacts
 * levels (leveled: L0 -> L1 at 4 files, size ratio 10 between levels).
 *
 * Keys are byte strings ordered by memcmp. Typed records (qx_db_put_record) are keyed by
 * qx_key_encode, i.e. 2-byte table id || primary key; raw keys starting with a table id
 * belong to that table. Values are up to 64 KiB; keys up to 256 bytes.
 *
 * Reads see the latest state or a pinned snapshot (MVCC by LSN): a snapshot reader sees one
 * consistent version while writes, flushes and compactions go on. A value read is used in
 * place (no copy) and stays valid until released.
 *
 * Thread safety: every call may be made from any thread. Writes are serialised internally
 * (the design point is one writer); reads take no lock on the data they read.
 * qx_db_close must not race with other calls. */
#ifndef QAXDB_DB_H
#define QAXDB_DB_H

#include <stddef.h>
#include <stdint.h>

#include "qaxdb/status.h"
#include "qaxdb/wal.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct qx_db qx_db;
typedef struct qx_snapshot qx_snapshot;
typedef struct qx_db_iter qx_db_iter;
typedef struct qx_write_batch qx_write_batch;

#define QX_DB_LEVELS 7
#define QX_DB_MAX_KEY 256     /* longest key, in bytes */
#define QX_DB_MAX_VALUE 65536 /* longest value, in bytes */

typedef enum qx_compression {
  QX_COMPRESSION_NONE = 0,
  QX_COMPRESSION_LZ4 = 1,
  QX_COMPRESSION_ZSTD = 2,
} qx_compression;

typedef enum qx_parquet_compression {
  QX_PARQUET_ZSTD = 0,
  QX_PARQUET_SNAPPY = 1,
} qx_parquet_compression;

typedef struct qx_db_options {
  uint64_t memtable_size;    /* switch to a fresh MemTable at this size; default 128 MiB */
  uint64_t l1_size;          /* target bytes of level 1 (x10 per level below); 256 MiB */
  uint64_t sst_file_size;    /* target size of a compaction output file; default 64 MiB */
  uint64_t block_cache_size; /* for compressed files; default 256 MiB */
  qx_compression compression;
  int bloom_bits_per_key;    /* default 10 (about 1% false positives) */
  int l0_compaction_trigger; /* default 4 files */
  int l0_slowdown_trigger;   /* writes are delayed 1 ms each from this many L0 files; 8 */
  int l0_stop_trigger;       /* writes wait for compaction at this many L0 files; 12 */
  qx_wal_options wal;
  /* 1: open to read only (what `qaxdb get`, `scan`, `sql`, `stats` and `check` do). Open then
   * creates, writes and deletes nothing: it takes a shared lock (QX_ERR_LOCKED while a writer
   * holds the folder, and no writer can open it meanwhile), replays the WAL tail into memory
   * without cutting a torn tail, runs no flush or compaction, and the Parquet converter reads
   * the records not yet in Parquet into memory and writes no file. Writes, flushes and
   * compactions fail with QX_ERR_DENIED. A folder with no database is QX_ERR_NOT_FOUND. */
  int read_only;
  /* Analytics (docs/sql.md): every committed record of a built-in table is also converted, in
   * the background, to columns and then to Parquet files under olap/, which SQL reads. */
  int olap;                        /* 1 (default) on; 0 off: nothing for SQL, WAL trimmed freely */
  uint64_t olap_buffer_size;       /* buffered columns flushed to Parquet at this size; 64 MiB */
  uint32_t olap_flush_interval_ms; /* ... or when the oldest is this old; default 10000 */
  uint32_t olap_merge_files;       /* merge the trading day's small files at this many; 16 */
  qx_parquet_compression parquet_compression;
} qx_db_options;

void qx_db_options_init(qx_db_options *options);

/* What open found: the WAL recovery and how many entries were replayed into the MemTable. */
typedef struct qx_db_recovery {
  qx_wal_recovery wal;
  uint64_t checkpoint_lsn;      /* every entry up to this LSN was already in table files */
  uint64_t replayed;            /* WAL entries applied on top */
  uint64_t orphan_files;        /* table files of an unfinished flush or compaction, deleted */
  uint64_t torn_manifest_bytes; /* a MANIFEST edit cut by a crash, dropped */
  uint64_t olap_lsn;            /* every record up to this LSN was already in Parquet */
  uint64_t olap_skipped;        /* LSNs trimmed while analytics were off, never in Parquet */
} qx_db_recovery;

/* Opens (creating if needed) the database in dir: MANIFEST, then WAL replay from the
 * checkpoint. options and recovery may be NULL. */
int qx_db_open(const char *dir, const qx_db_options *options, qx_db **out,
               qx_db_recovery *recovery);
/* Flushes the MemTable to a table file (unless read-only or failed), so that the next open
 * replays no WAL; waits for the background threads to finish their current step, syncs and
 * frees. */
int qx_db_close(qx_db *db);

/* ---- writes: each gets the next LSN; *lsn_out may be NULL ---- */

int qx_db_put(qx_db *db, const void *key, size_t key_len, const void *value, size_t value_len,
              qx_durability durability, uint64_t *lsn_out);
int qx_db_delete(qx_db *db, const void *key, size_t key_len, qx_durability durability,
                 uint64_t *lsn_out);
/* Writes a record of a built-in table (qaxdb/records.h) keyed by its primary key. */
int qx_db_put_record(qx_db *db, int table_id, const void *record, qx_durability durability,
                     uint64_t *lsn_out);

int qx_write_batch_create(qx_write_batch **out);
void qx_write_batch_destroy(qx_write_batch *batch);
void qx_write_batch_clear(qx_write_batch *batch);
size_t qx_write_batch_count(const qx_write_batch *batch);
int qx_write_batch_put(qx_write_batch *batch, const void *key, size_t key_len, const void *value,
                       size_t value_len);
int qx_write_batch_delete(qx_write_batch *batch, const void *key, size_t key_len);
int qx_write_batch_put_record(qx_write_batch *batch, int table_id, const void *record);
/* Applies the batch with consecutive LSNs as one unit of durability. */
int qx_db_write(qx_db *db, const qx_write_batch *batch, qx_durability durability,
                uint64_t *last_lsn_out);

/* Appends records already in WAL form (built-in table records, as qx_db_put_record would
 * write them) with consecutive LSNs as one unit of durability. Every record is checked
 * before any is written. */
int qx_db_write_records(qx_db *db, const qx_wal_record *records, size_t count,
                        qx_durability durability, uint64_t *last_lsn_out);

/* The asynchronous form of durability: write with QX_DURABILITY_NONE, then wait here until
 * lsn is synced (timeout_ns < 0: no limit). */
int qx_db_wait_durable(qx_db *db, uint64_t lsn, int64_t timeout_ns);

/* ---- reads ---- */

/* A consistent point in the history: reads through it see exactly the writes up to lsn. */
qx_snapshot *qx_db_snapshot_create(qx_db *db);
void qx_db_snapshot_release(qx_db *db, qx_snapshot *snapshot);
uint64_t qx_snapshot_lsn(const qx_snapshot *snapshot);

/* A value found by qx_db_get, used in place. */
typedef struct qx_db_value {
  const void *data; /* 8-byte aligned; valid until qx_db_value_release */
  size_t size;
  uint64_t lsn;  /* the write that produced it */
  void *pin_[2]; /* internal: what keeps data alive */
} qx_db_value;

/* Finds key at snapshot (NULL: the latest state). Returns QX_OK with *value filled, or
 * QX_ERR_NOT_FOUND (absent or deleted); on QX_OK the caller releases the value. */
int qx_db_get(qx_db *db, const qx_snapshot *snapshot, const void *key, size_t key_len,
              qx_db_value *value);
void qx_db_value_release(qx_db_value *value);

/* An ordered iterator over keys in [from, to) at snapshot (NULL: latest). from NULL: from the
 * first key; to NULL: to the last. The iterator sees one consistent version throughout. */
int qx_db_iter_create(qx_db *db, const qx_snapshot *snapshot, const void *from, size_t from_len,
                      const void *to, size_t to_len, qx_db_iter **out);
/* Same, over the keys that start with prefix. */
int qx_db_iter_create_prefix(qx_db *db, const qx_snapshot *snapshot, const void *prefix,
                             size_t prefix_len, qx_db_iter **out);
/* Repositions at the first key >= key (NULL: the first key) within the iterator's bounds,
 * still reading the version it was created with. */
void qx_db_iter_seek(qx_db_iter *it, const void *key, size_t key_len);
int qx_db_iter_valid(const qx_db_iter *it);
void qx_db_iter_next(qx_db_iter *it);                            /* REQUIRES: valid */
const void *qx_db_iter_key(const qx_db_iter *it, size_t *len);   /* REQUIRES: valid */
const void *qx_db_iter_value(const qx_db_iter *it, size_t *len); /* REQUIRES: valid; 8-aligned */
uint64_t qx_db_iter_lsn(const qx_db_iter *it);                   /* REQUIRES: valid */
int qx_db_iter_status(const qx_db_iter *it); /* QX_OK or the error that stopped it */
void qx_db_iter_destroy(qx_db_iter *it);

/* ---- maintenance ---- */

/* Flushes the active MemTable to level 0 and waits until it is in the MANIFEST. */
int qx_db_flush(qx_db *db);
/* Flushes, then compacts every level into the last non-empty one; waits. */
int qx_db_compact(qx_db *db);

typedef struct qx_db_level_stats {
  uint32_t files;
  uint64_t bytes;
  uint64_t target_bytes; /* 0 for L0 (its trigger is a file count) */
} qx_db_level_stats;

/* The engine's shape and counters. The write and background counters (user_bytes_written ..
 * stall_count) are the folder's totals since it was created: they are kept in the MANIFEST
 * with every edit and survive restarts (a crash loses what was counted after the last edit).
 * The bloom and block cache counters are this process's. */
/* Write latency buckets (qx_db_stats.write_latency): the upper bound of each, in microseconds. */
#define QX_DB_LATENCY_BUCKETS 16
#define QX_DB_LATENCY_SAMPLE 64 /* one write in this many is timed */
extern const uint32_t qx_db_latency_bucket_us[QX_DB_LATENCY_BUCKETS];

typedef struct qx_db_stats {
  qx_db_level_stats levels[QX_DB_LEVELS];
  uint64_t last_lsn;
  uint64_t written_lsn; /* every record up to here is in the WAL files */
  uint64_t durable_lsn; /* ... and synced */
  uint64_t checkpoint_lsn;
  uint64_t memtable_bytes;     /* active + immutable MemTables */
  uint64_t user_bytes_written; /* keys + values written by callers */
  uint64_t flush_bytes;        /* bytes written by MemTable flushes */
  uint64_t compaction_bytes_read;
  uint64_t compaction_bytes_written;
  double write_amplification; /* (WAL + flush + compaction bytes written) / user bytes */
  uint64_t flushes, compactions;
  uint64_t compaction_cpu_ns; /* CPU time of the flush and compaction threads */
  uint64_t stall_ns;          /* time writers spent delayed or stopped */
  uint64_t stall_count;
  /* This process: writes that waited for the WAL flusher to free log ring space, and how long
   * (qx_wal_ring_waits). */
  uint64_t ring_waits, ring_wait_ns;
  /* And writes that waited for the running sync while others waited for durability
   * (qx_wal_group_waits). */
  uint64_t group_waits, group_wait_ns;
  uint64_t bloom_checks, bloom_negatives, bloom_false_positives;
  uint64_t cache_hits, cache_misses, cache_bytes;
  uint64_t live_snapshots;
  /* analytics */
  uint64_t olap_converted_lsn; /* SQL sees every record up to here */
  uint64_t olap_lsn;           /* every record up to here is in Parquet */
  uint64_t olap_buffered_rows, olap_buffered_bytes;
  uint64_t parquet_files, parquet_bytes, parquet_rows;
  uint64_t parquet_flushes, parquet_merges;
  /* This process: one write in QX_DB_LATENCY_SAMPLE, timed from the call to its
   * acknowledgement at its durability. write_latency[i] counts those that took at most
   * qx_db_latency_bucket_us[i] (cumulative, as a Prometheus histogram's le buckets);
   * write_latency_count all of them. */
  uint64_t write_latency[QX_DB_LATENCY_BUCKETS];
  uint64_t write_latency_count, write_latency_sum_ns;
} qx_db_stats;

int qx_db_stats_get(qx_db *db, qx_db_stats *out);

/* What qx_db_verify examined. */
typedef struct qx_db_verify_report {
  uint64_t table_files;   /* live files verified block by block */
  uint64_t table_entries; /* entries in them */
  uint64_t table_bytes;
  uint64_t parquet_files, parquet_bytes; /* live Parquet files found at their recorded size */
  uint64_t checkpoint_lsn;               /* the table files hold every write up to here */
  uint64_t torn_manifest_bytes;          /* a torn last MANIFEST edit (dropped by the next open) */
} qx_db_verify_report;

/* Verifies a database folder's CURRENT and MANIFEST (every edit's checksum), every live table
 * file (checksums of every block, index, bloom filter and footer, entry order and count) and
 * that every live Parquet file is there at its recorded size, without opening the engine. The
 * WAL is checked separately (qx_wal_scan). QX_ERR_CORRUPT/QX_ERR_FORMAT name file and offset;
 * QX_ERR_NOT_FOUND: no CURRENT, or a file the MANIFEST names is gone (while a writer holds the
 * folder, a compaction may have deleted it since the MANIFEST was read). */
int qx_db_verify(const char *dir, qx_db_verify_report *report);
uint64_t qx_db_last_lsn(const qx_db *db);
const char *qx_db_dir(const qx_db *db); /* the data folder it was opened on */
/* QX_OK while the database takes writes; QX_ERR_CLOSED, with the failure that stopped it in
 * qx_last_error(), after a write, sync, flush or compaction failed; QX_ERR_DENIED if it was
 * opened read-only. What a health check asks. */
int qx_db_health(qx_db *db);

/* What qx_db_repair kept, and what it could not. */
typedef struct qx_db_repair_report {
  uint64_t tables_kept, tables_lost; /* table files merged into new ones / damaged */
  uint64_t entries;                  /* entries in the new table files */
  uint64_t table_max_lsn;            /* the highest LSN the kept table files held */
  uint64_t parquet_kept, parquet_lost;
  uint64_t wal_first_lsn, wal_last_lsn;   /* what the WAL holds after repair (0: empty) */
  uint64_t wal_discarded_bytes;           /* damaged WAL entries dropped, with all after them */
  uint64_t lost_first_lsn, lost_last_lsn; /* writes in neither table files nor WAL (0: none) */
} qx_db_repair_report;

/* Called with one line per file repair moved aside or could not use, and per loss. */
typedef void (*qx_repair_note_fn)(const char *line, void *ctx);

/* Rebuilds the MANIFEST of the closed database in dir from its files, for a folder that open
 * refuses because CURRENT or the MANIFEST is missing or damaged. Keeps every readable table
 * file (merged into new files of the last level), every readable Parquet file and the WAL (a
 * damaged WAL keeps every entry before the damage); moves damaged files, old MANIFESTs and
 * CURRENT to dir/lost/ and reports each through note (may be NULL). Deletes nothing it has
 * not copied into the new files. options may be NULL (table files are written with its
 * compression and sizes). */
int qx_db_repair(const char *dir, const qx_db_options *options, qx_repair_note_fn note,
                 void *note_ctx, qx_db_repair_report *report);

/* Writes a snapshot of the open database to dest_dir (absent, or an empty folder): a folder
 * that opens on its own with qx_db_open and holds exactly the writes up to *lsn_out (may be
 * NULL), which is at least every write acknowledged before the call. Writers, flushes and
 * compactions go on meanwhile. Table and Parquet files are hard links when dest_dir is on the
 * same filesystem (copies otherwise); the WAL entries the table files do not hold yet are
 * copied; a SNAPSHOT file records the LSN, the time and the source. The folder is built as
 * "<dest_dir>.tmp" and renamed into place when complete and synced. docs/operations.md. */
int qx_db_snapshot(qx_db *db, const char *dest_dir, uint64_t *lsn_out);

/* Checks a snapshot (its SNAPSHOT file, qx_db_verify, every WAL checksum) and only then puts a
 * copy of it at dest_dir (absent, or an empty folder; anything else is refused with
 * QX_ERR_INVALID_ARG), built as "<dest_dir>.tmp" and renamed into place. A damaged snapshot
 * fails with QX_ERR_CORRUPT naming the file and offset, and nothing is written. *lsn_out (may
 * be NULL) receives the snapshot's LSN. */
int qx_db_restore(const char *snapshot_dir, const char *dest_dir, uint64_t *lsn_out);

/* Writes every durable record not yet in Parquet to Parquet now and merges small files;
 * returns when done. QX_ERR_INVALID_ARG if analytics are off. */
int qx_db_olap_flush(qx_db *db);
/* Like qx_db_olap_flush, then merges every table's Parquet files of each trading day into one
 * (qaxdb compact); returns when done. */
int qx_db_olap_compact(qx_db *db);
/* Returns once every record durable at the call is visible to SQL. */
int qx_db_olap_sync(qx_db *db);

#ifdef __cplusplus
}
#endif
#endif
