/* A checksum of a node's log over a range of LSNs (`QAXDB CHECKSUM`): replicas hold the same
 * entries at the same LSNs as their primary, so equal checksums over a range show that the
 * nodes converged on it. Covers each entry's LSN, timestamp, table, schema version and bytes. */
#include <inttypes.h>
#include <string.h>

#include "qaxdb/sub.h"
#include "repl/repl_impl.h"
#include "util/crc32c.h"
#include "util/error.h"

static uint32_t add_entry(uint32_t crc, const qx_wal_entry *e) {
  uint64_t head[3] = {e->lsn, (uint64_t)e->ts_ns,
                      (uint64_t)e->table_id << 48 | (uint64_t)e->schema_version << 32 | e->size};
  crc = qx_crc32c(crc, head, sizeof head);
  return qx_crc32c(crc, e->data, e->size);
}

int qx_repl_log_checksum(qx_db *db, uint64_t from, uint64_t to, uint32_t *crc_out,
                         uint64_t *count_out) {
  uint64_t last = qx_db_last_lsn(db);
  if (from == 0 || from > to || to > last)
    return qx_fail(QX_ERR_INVALID_ARG,
                   "LSNs %" PRIu64 " to %" PRIu64 " are not a range of this log (1 to %" PRIu64 ")",
                   from, to, last);
  qx_sub_options o;
  qx_sub_options_init(&o);
  o.start = QX_SUB_FROM_LSN;
  o.from_lsn = from;
  qx_sub *sub;
  int rc = qx_sub_open(qx_db_dir(db), &o, &sub);
  if (rc != QX_OK) return rc;
  uint32_t crc = 0;
  uint64_t count = 0;
  for (uint64_t next = from; rc == QX_OK && next <= to;) {
    qx_wal_entry e;
    rc = qx_sub_next(sub, &e, 1000000000);
    if (rc == QX_ERR_LAPPED) rc = qx_fail(QX_ERR_LAPPED, "the log moved on during the checksum");
    if (rc != QX_OK) break;
    crc = add_entry(crc, &e);
    count++;
    next = e.lsn + 1;
    if (!qx_sub_held_valid(sub))
      rc = qx_fail(QX_ERR_LAPPED, "the log moved on during the checksum");
  }
  qx_sub_close(sub);
  *crc_out = crc;
  *count_out = count;
  return rc;
}
