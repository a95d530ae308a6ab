/* Versions: which table files make up the database at one moment, level by level.
 *
 * Thread-safety contract:
 *   1. A version is immutable once built; any thread holding a reference may read it.
 *   2. References are atomic counts. A version references each of its files; a file is closed
 *      when its last version goes, and deleted from disk then only if an edit removed it
 *      (obsolete), so a file is never deleted while a reader or snapshot may still use it.
 * Invariants:
 *   1. Level 0 files are ordered newest first; their LSN ranges do not overlap (a flush adds
 *      the newest, an L0 compaction takes them all).
 *   2. In levels 1..6 files are ordered by key and their user-key ranges do not overlap, and
 *      every version of a user key in level L is newer than any in level L+1. */
#ifndef QX_LSM_VERSION_H
#define QX_LSM_VERSION_H

#include <stdatomic.h>
#include <stdint.h>

#include "olap/parquet_set.h"
#include "qaxdb/db.h"
#include "sstable/sstable.h"
#include "util/deferred.h"

typedef struct qx_file {
  atomic_int refs;
  atomic_int obsolete; /* set when an edit removes it: delete on the last reference */
  qx_sst_meta meta;
  qx_sst *sst;
  char path[4096];
  qx_block_cache *cache; /* to drop the file's blocks when it is deleted */
} qx_file;

typedef struct qx_version {
  atomic_int refs;
  qx_deferred deferred; /* for qx_version_unref_later */
  qx_file **files[QX_DB_LEVELS];
  uint32_t count[QX_DB_LEVELS];
  uint64_t checkpoint_lsn; /* every write up to this LSN is in these files */
  qx_parquet_set *parquet; /* the analytics files; shared with the previous version when an
                              edit does not change them */
} qx_version;

/* What the engine has done over the folder's life, carried by every MANIFEST edit so that it
 * survives restarts (up to the last edit before a crash). */
enum qx_total {
  QX_TOTAL_USER_BYTES,         /* keys + values written by callers */
  QX_TOTAL_WAL_BYTES,          /* bytes appended to the WAL for them */
  QX_TOTAL_FLUSH_BYTES,        /* table files written by MemTable flushes */
  QX_TOTAL_COMPACTION_READ,    /* table file bytes read by compactions */
  QX_TOTAL_COMPACTION_WRITTEN, /* table file bytes written by compactions */
  QX_TOTAL_FLUSHES,
  QX_TOTAL_COMPACTIONS,
  QX_TOTAL_BACKGROUND_CPU_NS, /* CPU time of the flush and compaction threads */
  QX_TOTAL_STALL_NS,          /* time writers were delayed or stopped */
  QX_TOTAL_STALLS,
  QX_TOTAL_PARQUET_FLUSHES, /* edits that added Parquet files of new records */
  QX_TOTAL_PARQUET_MERGES,  /* edits that replaced a day's files by one */
  QX_TOTALS
};

typedef struct qx_totals {
  uint64_t v[QX_TOTALS];
} qx_totals;

/* A change to a version, as written to the MANIFEST. */
typedef struct qx_added_file {
  int level;
  qx_sst_meta meta;
} qx_added_file;

typedef struct qx_removed_file {
  int level;
  uint64_t file_number;
} qx_removed_file;

typedef struct qx_version_edit {
  int has_checkpoint;
  uint64_t checkpoint_lsn;
  int has_next_file;
  uint64_t next_file_number;
  qx_added_file *added;
  size_t added_count, added_cap;
  qx_removed_file *removed;
  size_t removed_count, removed_cap;
  qx_parquet_edit parquet;
  int has_totals;
  qx_totals totals;
} qx_version_edit;

int qx_edit_add(qx_version_edit *e, int level, const qx_sst_meta *meta);
int qx_edit_remove(qx_version_edit *e, int level, uint64_t file_number);
void qx_edit_free(qx_version_edit *e);

/* An empty version with one reference. */
qx_version *qx_version_create(void);
void qx_version_ref(qx_version *v);
void qx_version_unref(qx_version *v);
/* Drops a reference; the last one frees the version on q's thread: unmapping and deleting the
 * table files a compaction retired takes tens of milliseconds, which a thread holding the
 * engine's mutex must not spend (writers would wait for it). */
void qx_version_unref_later(qx_version *v, qx_deferred_queue *q);

/* Builds base + edit into *out. Added files are looked up in opened[] (files the caller
 * opened for this edit, referenced once each and handed over); Parquet files live under
 * olap_dir. QX_ERR_CORRUPT if the edit removes a file the version lacks. */
int qx_version_apply(const qx_version *base, const qx_version_edit *edit, qx_file **opened,
                     size_t opened_count, const char *olap_dir, qx_version **out);

void qx_file_unref(qx_file *f);
uint64_t qx_level_bytes(const qx_version *v, int level);

/* Index of the first file in a sorted level whose largest key >= key (count if none). */
uint32_t qx_level_find(const qx_version *v, int level, const uint8_t *key, size_t key_len);

/* 1 if any file of level overlaps the user-key range [smallest, largest]. */
int qx_file_overlaps(const qx_file *f, const uint8_t *smallest, size_t slen, const uint8_t *largest,
                     size_t llen);

#endif
