/* Iterators the engine composes: a k-way merge of child iterators, a concatenation of the
 * sorted files of one level (opened lazily), and the user-facing iterator that resolves
 * versions at a snapshot (db_iter.c). */
#ifndef QX_LSM_MERGE_ITER_H
#define QX_LSM_MERGE_ITER_H

#include "kv/iter.h"
#include "lsm/version.h"

/* Merges count children (taking ownership of them) into one iterator in internal order. */
int qx_merge_iter_create(qx_iter **children, size_t count, qx_iter **out);
/* Ends the building of a merge's children (status: how building them went), owning the count
 * built either way: merges them if status is QX_OK, else destroys them and returns status. */
int qx_merge_iter_finish(int status, qx_iter **children, size_t count, qx_iter **out);

/* Iterates the files of one sorted level (1..6) of v. REQUIRES: v outlives the iterator. */
int qx_level_iter_create(const qx_version *v, int level, qx_iter **out);

#endif
