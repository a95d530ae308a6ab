/* The table function qx_lookup(table, key1, key2, key3): one record of a table found by its
 * primary key through the engine's index, as of the query's LSN, instead of a scan of the
 * Parquet files. Key parts come as text (timestamps as nanoseconds since the epoch); unused
 * parts are NULL. The catalog wraps it as <table>_by_key(...) macros. */
#ifndef QX_QUERY_LOOKUP_H
#define QX_QUERY_LOOKUP_H

#include <duckdb.h>

#include "query/engine_source.h"

#define QX_LOOKUP_KEY_PARTS 3 /* the most key columns of any table */

/* Registers qx_lookup on con's database, reading through source (which must outlive it). */
int qx_lookup_register(duckdb_connection con, qx_engine_source *source);

#endif
