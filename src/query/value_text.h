/* Text of DuckDB values of every type, read from the vectors of a result's chunks (the forms
 * are listed at qx_sql_result_text in qaxdb/sql.h): scalars as DuckDB casts them to VARCHAR,
 * except that floats are the shortest text that reads back as the same value and TIMESTAMPTZ is
 * always UTC; lists, arrays, structs, maps and unions as JSON. */
#ifndef QX_QUERY_VALUE_TEXT_H
#define QX_QUERY_VALUE_TEXT_H

#include <duckdb.h>

#include "qaxdb/sql.h"

/* How to print the values of one logical type, worked out once for a column. */
typedef struct qx_value_plan qx_value_plan;

/* Fails with QX_ERR_SQL for a type whose values the C API cannot read (TIME_NS in DuckDB 1.4). */
int qx_value_plan_create(duckdb_logical_type type, qx_value_plan **out);
void qx_value_plan_destroy(qx_value_plan *plan);
qx_sql_value_kind qx_value_plan_kind(const qx_value_plan *plan);

/* The text of row of v (a vector of plan's type) into *out, which the caller frees: NULL for
 * SQL NULL. */
int qx_value_text(const qx_value_plan *plan, duckdb_vector v, idx_t row, char **out);

/* A TIMESTAMP_NS (nanoseconds since the epoch) as qx_value_text writes one, for those who print
 * records in SQL's forms ("2026-11-24 09:30:00.5"; cap of 48 is enough). */
void qx_value_text_timestamp_ns(int64_t ns, char *out, size_t cap);

#endif
