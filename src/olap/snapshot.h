/* A consistent read of one table set at one LSN: the Parquet files (every record up to
 * files->olap_lsn) plus the buffered rows after that, up to lsn. A record is in exactly one of
 * the two, so a scan of both never counts a record twice or misses one. */
#ifndef QX_OLAP_SNAPSHOT_H
#define QX_OLAP_SNAPSHOT_H

#include <stdatomic.h>
#include <stdint.h>

#include "olap/column_chunk.h"
#include "olap/parquet_set.h"
#include "qaxdb/db.h"
#include "qaxdb/schema.h"

typedef struct qx_olap_rows {
  qx_col_chunk **chunks; /* referenced, in LSN order */
  uint32_t *begin, *end; /* rows [begin, end) of each chunk belong to the snapshot */
  uint32_t count;
  uint64_t rows;
} qx_olap_rows;

/* The engine's own state as of the snapshot's LSN, held so that point lookups by key read the
 * same moment as the scans. */
typedef struct qx_engine_pin {
  qx_snapshot *snapshot; /* NULL: the engine no longer keeps that moment (see olap.h) */
  void (*unpin)(void *engine, qx_snapshot *snapshot);
  void *engine;
} qx_engine_pin;

typedef struct qx_olap_snapshot {
  atomic_int refs;
  uint64_t lsn;
  qx_parquet_set *files;
  qx_olap_rows tables[QX_TABLE_MAX + 1]; /* by table id */
  qx_engine_pin engine;
} qx_olap_snapshot;

void qx_olap_snapshot_ref(qx_olap_snapshot *s);
void qx_olap_snapshot_release(qx_olap_snapshot *s);

#endif
