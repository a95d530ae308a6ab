/* A stored record as SQL shows it: the columns, types and text of `SELECT * FROM <table>` (every
 * column of the table's current version, then lsn and date, the trading day), for those who
 * show records without running SQL: the CLI's get and scan, and the server's point lookups. The
 * text is what the SQL engine writes (decimals to their scale, "2026-11-24 09:30:00.5"). */
#ifndef QX_QUERY_RECORD_CELLS_H
#define QX_QUERY_RECORD_CELLS_H

#include <stddef.h>
#include <stdint.h>

#include "qaxdb/schema.h"
#include "qaxdb/sql.h"

#define QX_RECORD_CELL_MAX 80 /* the longest text of a column: a CHAR(32), a decimal, a time */

/* The number of columns: table->column_count + 2. */
uint32_t qx_record_sql_column_count(const qx_schema *table);

/* The name, kind and type of each column (arrays of qx_record_sql_column_count; types may be
 * NULL). */
void qx_record_sql_columns(const qx_schema *table, const char **names, qx_sql_value_kind *kinds,
                           qx_sql_column_type *types);

/* The cells of a record of size bytes written at lsn: cells[i] points into text[i], or is NULL
 * where a record of an older version lacks the column. Returns 0, filling nothing, if size is
 * not the size of a version of table. */
int qx_record_sql_cells(const qx_schema *table, const void *record, size_t size, uint64_t lsn,
                        char (*text)[QX_RECORD_CELL_MAX], const char **cells);

#endif
