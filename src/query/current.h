/* The table function qx_current(table): the newest version of every key of a table as of the
 * query's LSN, read in key order from the engine, which holds exactly that, instead of
 * deduplicating the table's whole history in Parquet. The current-state views (orders,
 * accounts, positions, klines) are defined over it. */
#ifndef QX_QUERY_CURRENT_H
#define QX_QUERY_CURRENT_H

#include <duckdb.h>

#include "query/engine_source.h"

/* Registers qx_current on con's database, reading through source (which must outlive it). */
int qx_current_register(duckdb_connection con, qx_engine_source *source);

#endif
