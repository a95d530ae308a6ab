/* What user SQL sees: the table views over Parquet files plus buffered rows (the contract
 * catalog among them: the instruments table), and the predefined queries (table macros).
 * See docs/sql.md. */
#ifndef QX_QUERY_CATALOG_H
#define QX_QUERY_CATALOG_H

#include <duckdb.h>

#include "olap/parquet_set.h"

/* Creates the lookup and predefined macros (once per database). */
int qx_catalog_create(duckdb_connection con);
/* (Re)defines every table view over files and the connection's qx_scan snapshot. */
int qx_catalog_define_views(duckdb_connection con, const qx_parquet_set *files);

#endif
