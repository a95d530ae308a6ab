/* Query results turned into text cells, independent of DuckDB once built: a result outlives
 * the query, can sit in the result cache and be handed out more than once.
 *
 * Every DuckDB type becomes text (the forms are listed at qx_sql_result_text in qaxdb/sql.h):
 * scalars as DuckDB casts them to VARCHAR, except that decimals and integers are exact at any
 * width, floats are the shortest text that reads back as the same value and TIMESTAMPTZ is
 * always UTC; lists, arrays, structs, maps and unions as JSON. */
#ifndef QX_QUERY_RESULT_H
#define QX_QUERY_RESULT_H

#include <duckdb.h>
#include <stdatomic.h>
#include <stdint.h>

#include "qaxdb/sql.h"

typedef struct qx_result_table {
  atomic_int refs;
  uint32_t columns;
  uint64_t rows;
  char **names;
  uint8_t *kinds; /* qx_sql_value_kind of each column */
  qx_sql_column_type *types;
  char **cells;   /* rows * columns, row-major; NULL for SQL NULL */
} qx_result_table;

/* Converts a materialized DuckDB result; *out has one reference. */
int qx_result_table_build(duckdb_result *res, qx_result_table **out);
/* A table of text cells received from elsewhere (a server's rows): copies of names and of the
 * rows * columns cells (row-major, NULL for SQL NULL); every type QX_SQL_TYPE_OTHER. */
int qx_result_table_from_text(uint32_t columns, uint64_t rows, const char *const *names,
                              const qx_sql_value_kind *kinds, const char *const *cells,
                              qx_result_table **out);
/* sql.c: a result over such a table, read at lsn; it takes the table's reference. */
qx_sql_result *qx_sql_result_of_table(qx_result_table *t, uint64_t lsn);
void qx_result_table_ref(qx_result_table *t);
void qx_result_table_unref(qx_result_table *t);

#endif
