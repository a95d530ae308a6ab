/* The analytics path of an engine: a background converter that follows the WAL, transposes
 * each committed record of a built-in table into column chunks, and writes them to Parquet.
 *
 * Thread-safety contract:
 *   1. One converter thread reads the WAL (only up to the durable LSN, so Parquet never holds
 *      a record that a power loss could take back), appends rows, writes Parquet files and
 *      merges a day's small files. Nothing runs on the writer's thread except qx_olap_notify.
 *   2. mu guards the published state: the current Parquet set, the chunk lists and the
 *      converted LSN. Snapshots take it for a few copies; the converter never holds it while
 *      writing files.
 * Invariants:
 *   1. Every record with files->olap_lsn < LSN <= converted_lsn is in the chunk lists, and
 *      every record up to files->olap_lsn is in exactly one Parquet file of files.
 *   2. A flush writes all buffered rows, then installs one MANIFEST edit naming the new files
 *      and the new olap_lsn, then drops the chunks: the two sides hand over at one LSN. */
#ifndef QX_OLAP_OLAP_H
#define QX_OLAP_OLAP_H

#include <stdint.h>

#include "olap/parquet_set.h"
#include "olap/snapshot.h"
#include "qaxdb/wal.h"

typedef struct qx_olap qx_olap;

typedef struct qx_olap_config {
  qx_wal *wal;
  const char *olap_dir;
  qx_parquet_set *files;      /* the recovered set; the converter takes its own reference */
  uint64_t start_lsn;         /* the first LSN to convert */
  uint64_t buffer_bytes;      /* flush when the chunks hold this much */
  uint32_t flush_interval_ms; /* ... or when the oldest buffered row is this old */
  uint32_t merge_min_files;   /* merge a day's small files when it has this many */
  const char *compression;    /* "zstd" or "snappy" */
  int read_only; /* the engine is open read-only: convert into memory, write and delete nothing */
  /* The engine the WAL belongs to. install makes edit durable in its MANIFEST and returns the
   * resulting set (one reference). pin holds the engine's state as of an LSN (NULL if it
   * cannot); the converter keeps a pin at the LSN it has converted, so that the engine keeps
   * the versions every later snapshot can pin. The engine's state before pinnable_from (its
   * LSN when the converter starts) may already be gone. */
  void *engine;
  int (*install)(void *engine, qx_parquet_edit *edit, qx_parquet_set **installed);
  qx_snapshot *(*pin)(void *engine, uint64_t lsn);
  void (*unpin)(void *engine, qx_snapshot *snapshot);
  uint64_t pinnable_from;
} qx_olap_config;

typedef struct qx_olap_stats {
  uint64_t converted_lsn; /* every record up to here is readable by SQL */
  uint64_t olap_lsn;      /* every record up to here is in Parquet */
  uint64_t buffered_rows, buffered_bytes;
  uint64_t parquet_files, parquet_bytes, parquet_rows;
  uint64_t flushes, merges;
  int error; /* the last flush or merge failure, QX_OK if none */
} qx_olap_stats;

/* Removes files under olap_dir that files does not name (a crash mid-write), then starts the
 * converter. */
int qx_olap_open(const qx_olap_config *config, qx_olap **out);
/* Converts what is durable, writes it to Parquet, stops the thread and frees. */
int qx_olap_close(qx_olap *o);

/* The WAL made lsn durable: wake the converter. Cheap; called on the WAL's flusher thread. */
void qx_olap_notify(qx_olap *o);

/* Waits until everything durable at the call is converted (SQL sees it). */
int qx_olap_sync(qx_olap *o);
/* What a flush merges afterwards. SMALL is the converter's own rule: each closed trading
 * day's files into one, and the open day's files under 64 MiB once there are merge_min_files
 * of them. ALL merges every table's files of each day into one, whatever their size. */
enum qx_olap_merge { QX_OLAP_MERGE_NONE = 0, QX_OLAP_MERGE_SMALL = 1, QX_OLAP_MERGE_ALL = 2 };

/* Converts and writes everything durable at the call to Parquet, then merges as merge says;
 * waits for it. */
int qx_olap_flush(qx_olap *o, enum qx_olap_merge merge);

/* The rows SQL may read now, consistent at one LSN; release with qx_olap_snapshot_release. */
int qx_olap_snapshot_acquire(qx_olap *o, qx_olap_snapshot **out);

void qx_olap_stats_get(qx_olap *o, qx_olap_stats *out);

/* Deletes the part-* files under olap_dir's table and date= folders that set does not name. */
int qx_olap_remove_orphans(const char *olap_dir, const qx_parquet_set *set);

#endif
