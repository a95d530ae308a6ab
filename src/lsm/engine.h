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

/* ---- replication (src/repl) ---- */

/* Called with the write lock held after each write became visible, with its last LSN: wakes
 * the replication senders. Must be quick and must not call into db. NULL: none. */
typedef void (*qx_db_commit_fn)(uint64_t last_lsn, void *ctx);
void qx_db_set_commit_hook(qx_db *db, qx_db_commit_fn fn, void *ctx);

/* What a write at QX_DURABILITY_REPLICATED waits for after its local sync: lsn flushed by
 * enough replicas (QX_OK), or why not. NULL: the node does not replicate. */
typedef int (*qx_db_replication_wait_fn)(uint64_t lsn, void *ctx);
void qx_db_set_replication_wait(qx_db *db, qx_db_replication_wait_fn fn, void *ctx);

/* Refuses every write of callers with QX_ERR_DENIED and the message why (a replica, a primary
 * that lost its lease), or takes them again (why NULL). The primary's batches still apply. */
void qx_db_refuse_writes(qx_db *db, const char *why);

/* Appends a batch of the primary's log at exactly first_lsn (the engine's last LSN + 1, or
 * QX_ERR_INVALID_ARG naming both) at durability `none`, as the primary wrote it: one batch,
 * the same LSNs, the same timestamps. */
int qx_db_apply_replicated(qx_db *db, uint64_t first_lsn, const qx_wal_record *records,
                           size_t count);

#endif
