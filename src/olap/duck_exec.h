/* Running one DuckDB statement whose result is at most a number, with DuckDB's error message
 * recorded for qx_last_error(): the Parquet writer's COPYs, the SQL engine's settings and the
 * catalog's view definitions. */
#ifndef QX_OLAP_DUCK_EXEC_H
#define QX_OLAP_DUCK_EXEC_H

#include <duckdb.h>
#include <stdint.h>

/* Runs sql on con. On failure returns QX_ERR_SQL with "<context>: <DuckDB's message>"; on
 * success *first_value (if given) gets the result's first value, the row count of a COPY. */
int qx_duck_exec(duckdb_connection con, const char *sql, const char *context,
                 uint64_t *first_value);

#endif
