/* What the table functions that read the engine itself (qx_lookup, qx_current) need: the
 * engine, and the registry that says which snapshot each DuckDB connection reads; they read
 * through the engine pin of that snapshot, at the same LSN as the Parquet views. */
#ifndef QX_QUERY_ENGINE_SOURCE_H
#define QX_QUERY_ENGINE_SOURCE_H

#include "olap/duck_scan.h"
#include "qaxdb/db.h"

typedef struct qx_engine_source {
  qx_db *db;
  qx_scan_registry *registry;
} qx_engine_source;

#endif
