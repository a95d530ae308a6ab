/* Merging sorted internal entries into new table files: the drop rules of flushes,
 * compactions and repair, and the output files split at a size on user-key boundaries.
 *
 * A version of a key is dropped when a newer version of the same key is at or below the
 * oldest snapshot; a tombstone is dropped when, in addition, no level below the output level
 * may hold the key (never in a flush, whose output is level 0). */
#ifndef QX_LSM_TABLE_MERGE_H
#define QX_LSM_TABLE_MERGE_H

#include "kv/iter.h"
#include "lsm/version_set.h"

typedef struct qx_table_merge {
  /* What the merge needs, set by the caller. */
  qx_version_set *vs;        /* numbers and paths of the new files */
  qx_sst_options sst;        /* how they are written */
  const qx_version *version; /* for the tombstone rule: which levels lie below */
  int output_level;          /* -1 for a flush: tombstones are never dropped there */
  uint64_t oldest_snapshot;  /* versions hidden at or below it go */
  uint64_t split_bytes;      /* start a new file at this size; 0: one file */
  /* What it wrote. */
  qx_sst_meta *metas;
  size_t count, cap;
  uint64_t bytes;
  uint64_t max_input_lsn; /* the highest LSN it read, dropped or not */
  /* The merge's progress. */
  qx_sst_builder *builder;
  uint8_t key[QX_DB_MAX_KEY];
  size_t key_len;
  int has_key;
  uint64_t last_lsn_of_key; /* LSN of the previous entry of the same user key */
} qx_table_merge;

/* Writes the entries of it that survive the drop rules into new, synced table files, listed
 * in m->metas. On failure the files written so far are deleted. */
int qx_table_merge_run(qx_table_merge *m, qx_iter *it);
/* Deletes the files a merge wrote and frees the list: for a merge whose edit never reached
 * the MANIFEST. */
void qx_table_merge_abandon(qx_table_merge *m);
/* Frees the list of files: after their edit was installed, or after an install failed, when
 * the MANIFEST may name them whatever the install said (a failed sync leaves the edit's fate
 * unknown). The next open keeps them if the MANIFEST names them and deletes them if not. */
void qx_table_merge_free(qx_table_merge *m);

#endif
