/* The version set: the engine's current version and everything that changes it (LevelDB's
 * version_set.cc is the model). It owns the current version, the MANIFEST, the numbering,
 * paths and opening of table files, installing version edits, and trimming the WAL below what
 * the versions still need. The flush and compaction threads (background.c), the Parquet
 * converter (olap_link.c) and recovery (recover.c) change the database only through it.
 *
 * Thread-safety contract:
 *   1. The engine's mutex (mu, given at init) guards current, installing and failure.
 *   2. Edits are installed one at a time. An installer marks itself (installing) under mu,
 *      then releases mu while it opens the edit's new files, syncs the table directory and
 *      appends and syncs the MANIFEST, and takes mu again only to make the new version
 *      current. Only installers replace current, so current does not change under it, and
 *      writers holding mu never wait for a disk sync.
 *   3. A failed write or sync of the MANIFEST or a directory is never retried: the kernel may
 *      have dropped the dirty pages, and a second sync could report them durable. The set
 *      fails for good; every later install returns that failure.
 *   4. WAL trimming runs without mu, one trim at a time (trim_mu).
 * Invariants:
 *   1. Every table file current names is complete, synced, and named by the MANIFEST.
 *   2. next_file_number is above every file number the folder uses.
 *   3. A file an edit removes is deleted only when the last version naming it goes. */
#ifndef QX_LSM_VERSION_SET_H
#define QX_LSM_VERSION_SET_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>

#include "lsm/manifest.h"
#include "lsm/version.h"
#include "qaxdb/wal.h"
#include "sstable/block_cache.h"

/* The live form of the folder's totals (version.h), counted by any thread. */
typedef struct qx_counters {
  atomic_uint_fast64_t v[QX_TOTALS];
} qx_counters;

static inline void qx_count(qx_counters *c, enum qx_total which, uint64_t n) {
  atomic_fetch_add_explicit(&c->v[which], n, memory_order_relaxed);
}
static inline uint64_t qx_counted(const qx_counters *c, enum qx_total which) {
  return atomic_load_explicit(&c->v[which], memory_order_relaxed);
}
void qx_counters_restore(qx_counters *c, const qx_totals *from);
void qx_counters_read(const qx_counters *c, qx_totals *out);

typedef struct qx_version_set {
  char dir[PATH_MAX];
  char sst_dir[PATH_MAX];  /* table files: <sst_dir>/NNNNNN.sst */
  char olap_dir[PATH_MAX]; /* Parquet files: <olap_dir>/<table>/date=YYYY-MM-DD/ */
  int read_only;           /* opened to read: nothing is written, created or deleted */
  pthread_mutex_t *mu;     /* the engine's */
  pthread_cond_t installed_cv;
  int installing;
  int failure; /* the first failed install, QX_OK while healthy */
  qx_version *current;
  qx_manifest *manifest;
  atomic_uint_fast64_t next_file_number;
  qx_block_cache *cache;
  qx_sst_counters *sst_counters;
  qx_counters *counters;        /* the engine's, restored at recovery and logged with every edit */
  qx_deferred_queue *reclaimer; /* frees replaced versions off the mutex */
  /* The WAL and whether the Parquet converter also reads it (so trimming keeps its part). */
  qx_wal *wal;
  int olap_reads_wal;
  pthread_mutex_t trim_mu;
  /* Called under mu each time current changes (the engine publishes a new read view). */
  int (*on_install)(void *ctx);
  void *on_install_ctx;
} qx_version_set;

/* Sets the paths under dir and the locks. */
int qx_vset_init(qx_version_set *vs, const char *dir, int read_only, pthread_mutex_t *mu);
void qx_vset_free(qx_version_set *vs);

/* Rebuilds current from the MANIFEST named by CURRENT (recover.c). Unless read-only, it
 * starts a fresh MANIFEST holding the recovered state and deletes the table files no version
 * names (an interrupted flush or compaction), counted in *orphans. A folder without CURRENT
 * is new only if it holds no table files, WAL segments or Parquet files; otherwise the open
 * is refused (QX_ERR_CORRUPT, `qaxdb repair`). */
int qx_vset_recover(qx_version_set *vs, uint64_t *torn_manifest_bytes, uint64_t *orphans);

uint64_t qx_vset_new_file_number(qx_version_set *vs);
int qx_vset_table_path(const qx_version_set *vs, uint64_t number, char *out, size_t cap);
/* Opens a finished table file as a qx_file with one reference; fresh (just written, so in
 * the page cache) maps all its pages now so that readers take no page faults. */
int qx_vset_open_table(qx_version_set *vs, const qx_sst_meta *meta, int fresh, qx_file **out);

/* Makes edit durable in the MANIFEST and current. Files the edit adds are opened, unless
 * current already holds them (a trivial move names a file it moves). REQUIRES: mu held, and
 * the files it adds written and synced; mu is released during the I/O. */
int qx_vset_install(qx_version_set *vs, qx_version_edit *edit);

/* Deletes the WAL segments that neither replay from the checkpoint nor the converter needs.
 * REQUIRES: mu held; released during the deletions. */
int qx_vset_trim_wal(qx_version_set *vs);

#endif
