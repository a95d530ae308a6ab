/* What PostgreSQL clients read about the database (psql's \d, Grafana's table and column
 * lists) answered from DuckDB's own pg_catalog and information_schema: the schema qx_pg holds
 * views and macros that give them PostgreSQL's type OIDs and names, the engine's tables as
 * tables, and functions DuckDB lacks; statements are rewritten to reach them. */
#ifndef QX_QUERY_PG_CATALOG_H
#define QX_QUERY_PG_CATALOG_H

#include <duckdb.h>

#include "util/grow.h"

#define QX_PG_SCHEMA "qx_pg" /* on the search path after main: unqualified names find it */

/* Creates qx_pg's views and macros (once per database, after the table views). */
int qx_pg_catalog_create(duckdb_connection con);

/* Writes text into out (empty) with the PostgreSQL forms DuckDB does not take replaced:
 * pg_catalog.X and information_schema.X that qx_pg overrides become qx_pg's,
 * OPERATOR(pg_catalog.op) becomes op, COLLATE pg_catalog.default goes, and casts lose their
 * pg_catalog. qualifier. Returns 1 if it rewrote anything (out then holds the whole statement), 0
 * if text stands as it is (out left empty). Quoted text and comments are left alone. */
int qx_pg_catalog_rewrite(const char *text, qx_buffer *out);

#endif
