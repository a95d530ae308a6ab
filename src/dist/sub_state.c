/* A subscriber's start from the engine's state (QX_SUB_STATE, qx_sub_open_db): the records of
 * every table its filters let through, read from one snapshot of the engine, before the log
 * from the snapshot's LSN + 1. The snapshot is what makes the seam exact: it holds every write
 * up to its LSN and none after. */
#include <stdlib.h>

#include "dist/sub_filter.h"
#include "dist/sub_impl.h"
#include "qaxdb/key.h"
#include "qaxdb/schema.h"
#include "util/error.h"

struct qx_sub_state {
  qx_db *db;
  qx_snapshot *snapshot;
  qx_db_iter *it; /* over table_id's keys; NULL before the first */
  int table_id;
  int handed_out; /* the iterator stands on the record the last call handed out */
};

int qx_sub_state_begin(qx_sub *s, qx_db *db) {
  qx_sub_state *st = calloc(1, sizeof *st);
  if (!st) return qx_fail(QX_ERR_NOMEM, "subscriber state");
  st->db = db;
  st->snapshot = qx_db_snapshot_create(db);
  if (!st->snapshot) {
    free(st);
    return qx_fail(QX_ERR_NOMEM, "subscriber state: no snapshot of the engine");
  }
  st->table_id = s->opt.table_id ? s->opt.table_id - 1 : QX_TABLE_MIN - 1;
  s->state = st;
  s->stats.state_lsn = qx_snapshot_lsn(st->snapshot);
  s->stats.state_pending = 1;
  return QX_OK;
}

void qx_sub_state_end(qx_sub *s) {
  qx_sub_state *st = s->state;
  if (!st) return;
  qx_db_iter_destroy(st->it);
  qx_db_snapshot_release(st->db, st->snapshot);
  free(st);
  s->state = NULL;
  s->stats.state_pending = 0;
}

/* Moves to the next table the filters let through; 0 when there is none. */
static int next_table(qx_sub *s, qx_sub_state *st) {
  qx_db_iter_destroy(st->it);
  st->it = NULL;
  st->handed_out = 0;
  if (s->opt.table_id ? st->table_id == s->opt.table_id : st->table_id >= QX_TABLE_MAX) return 0;
  st->table_id++;
  uint8_t prefix[QX_KEY_TABLE_PREFIX];
  size_t len = qx_key_table_prefix((uint16_t)st->table_id, prefix);
  return qx_db_iter_create_prefix(st->db, st->snapshot, prefix, len, &st->it) == QX_OK ? 1 : -1;
}

/* The record the iterator stands on, as a log entry; 0 for a value that is no record of its
 * table (a raw put under the table's key prefix), which the state leaves out. */
static int current_record(const qx_sub_state *st, qx_wal_entry *record) {
  size_t size;
  const void *value = qx_db_iter_value(st->it, &size);
  const qx_schema *schema = qx_schema_by_id(st->table_id);
  unsigned version = schema ? qx_schema_version_of_size(schema, (uint32_t)size) : 0;
  if (!version) return 0;
  *record = (qx_wal_entry){.lsn = qx_db_iter_lsn(st->it),
                           .table_id = (uint16_t)st->table_id,
                           .schema_version = (uint16_t)version,
                           .size = (uint32_t)size,
                           .data = value};
  return 1;
}

int qx_sub_state_next(qx_sub *s, qx_wal_entry *record) {
  qx_sub_state *st = s->state;
  for (;;) {
    if (!st->it) {
      int more = next_table(s, st);
      if (more < 0) return qx_fail(QX_ERR_IO, "subscriber state: %s", qx_last_error());
      if (!more) break;
      continue;
    }
    if (st->handed_out) qx_db_iter_next(st->it);
    st->handed_out = 0;
    if (!qx_db_iter_valid(st->it)) {
      int rc = qx_db_iter_status(st->it);
      if (rc != QX_OK)
        return qx_fail(rc, "subscriber state at LSN %llu, table #%d: %s",
                       (unsigned long long)s->stats.state_lsn, st->table_id, qx_last_error());
      qx_db_iter_destroy(st->it);
      st->it = NULL;
      continue;
    }
    st->handed_out = 1;
    if (current_record(st, record) && qx_sub_filter_match(&s->opt, record)) return 1;
  }
  qx_sub_state_end(s);
  return 0;
}
