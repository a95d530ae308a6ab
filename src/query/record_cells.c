/* Records as SQL shows them (record_cells.h). */
#include "query/record_cells.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "olap/trading_day.h"
#include "query/value_text.h"
#include "record/text.h"

uint32_t qx_record_sql_column_count(const qx_schema *table) {
  return table->column_count + 2;
}

/* As the scan's DuckDB types (olap/duck_scan.c) come out of a result (query/result.c). */
static qx_sql_column_type type_of(const qx_column *col) {
  static const qx_sql_type types[] = {
      [QX_COL_U8] = QX_SQL_TYPE_SMALLINT,     [QX_COL_U32] = QX_SQL_TYPE_BIGINT,
      [QX_COL_U64] = QX_SQL_TYPE_OTHER,       [QX_COL_I64] = QX_SQL_TYPE_BIGINT,
      [QX_COL_DECIMAL] = QX_SQL_TYPE_DECIMAL, [QX_COL_TIMESTAMP] = QX_SQL_TYPE_TIMESTAMP,
      [QX_COL_CHAR] = QX_SQL_TYPE_VARCHAR,    [QX_COL_ENUM] = QX_SQL_TYPE_VARCHAR,
  };
  qx_sql_column_type t = {types[col->type], 0, 0};
  if (col->type == QX_COL_DECIMAL) t = (qx_sql_column_type){QX_SQL_TYPE_DECIMAL, 18, col->scale};
  return t;
}

static qx_sql_value_kind kind_of(const qx_column *col) {
  return col->type == QX_COL_TIMESTAMP || col->type == QX_COL_CHAR || col->type == QX_COL_ENUM
             ? QX_SQL_VALUE_TEXT
             : QX_SQL_VALUE_NUMBER;
}

void qx_record_sql_columns(const qx_schema *table, const char **names, qx_sql_value_kind *kinds,
                           qx_sql_column_type *types) {
  uint32_t n = table->column_count;
  for (uint32_t c = 0; c < n; c++) {
    names[c] = table->columns[c].name;
    kinds[c] = kind_of(&table->columns[c]);
    if (types) types[c] = type_of(&table->columns[c]);
  }
  names[n] = "lsn";
  kinds[n] = QX_SQL_VALUE_NUMBER;
  if (types) types[n] = (qx_sql_column_type){QX_SQL_TYPE_OTHER, 0, 0}; /* UBIGINT */
  names[n + 1] = "date";
  kinds[n + 1] = QX_SQL_VALUE_TEXT;
  if (types) types[n + 1] = (qx_sql_column_type){QX_SQL_TYPE_DATE, 0, 0};
}

int qx_record_sql_cells(const qx_schema *table, const void *record, size_t size, uint64_t lsn,
                        char (*text)[QX_RECORD_CELL_MAX], const char **cells) {
  unsigned version = size <= UINT32_MAX ? qx_schema_version_of_size(table, (uint32_t)size) : 0;
  if (!version) return 0;
  uint32_t present = qx_schema_column_count(table, version), n = table->column_count;
  for (uint32_t c = 0; c < n; c++) {
    const qx_column *col = &table->columns[c];
    cells[c] = c < present ? text[c] : NULL;
    if (c >= present) continue;
    if (col->type == QX_COL_TIMESTAMP) {
      int64_t ns;
      memcpy(&ns, (const uint8_t *)record + col->offset, sizeof ns);
      qx_value_text_timestamp_ns(ns, text[c], QX_RECORD_CELL_MAX);
    } else {
      qx_format_column(col, record, text[c], QX_RECORD_CELL_MAX);
    }
  }
  snprintf(text[n], QX_RECORD_CELL_MAX, "%" PRIu64, lsn);
  qx_format_day(qx_record_trading_day(table, qx_time_column(table), record, 0), text[n + 1]);
  cells[n] = text[n];
  cells[n + 1] = text[n + 1];
  return 1;
}
