/* What other parts of qaxdb (the SQL engine in query/) use of the engine beyond its public API
 * (qaxdb/db.h). Nothing here exposes the engine's inside (lsm/db_impl.h); every call may be
 * made from any thread. */
#ifndef QX_LSM_ENGINE_H
#define QX_LSM_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "olap/olap.h"
#include "qaxdb/db.h"

/* The folder of the data folder's Parquet files (<data>/olap). */
const char *qx_db_olap_dir(const qx_db *db);

/* The converter, for the SQL engine; NULL (and the failure recorded) if analytics are off. */
qx_olap *qx_db_olap(qx_db *db);

/* A snapshot at lsn, which may be older than the latest write. It reads correctly only if the
 * versions as of lsn are still kept: an older snapshot is live, as the Parquet converter keeps
 * one at the LSN it has converted (see olap_link.c). NULL: out of memory or the engine failed. */
qx_snapshot *qx_db_snapshot_create_at(qx_db *db, uint64_t lsn);

/* Up to max keys, in order, that cut the keys starting with prefix into parts of about equal
 * size, taken from the boundaries of the table files of the deepest level holding such keys;
 * for reading one table with several threads. Returns how many (0: do not split). */
typedef struct qx_split_key {
  uint8_t key[QX_DB_MAX_KEY];
  uint32_t len;
} qx_split_key;
size_t qx_db_split_keys(qx_db *db, const uint8_t *prefix, size_t prefix_len, size_t max,
                        qx_split_key *out);

#endif
