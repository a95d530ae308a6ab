/* Query results as tables of text cells (see result.h): each column's values formatted through
 * its value plan (value_text.h), once, when the result is built. */
#include "query/result.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/value_text.h"
#include "util/error.h"

static int out_of_memory(void) {
  return qx_fail(QX_ERR_NOMEM, "out of memory for a query result");
}

static int fill_chunk(qx_result_table *t, duckdb_data_chunk chunk, uint64_t first_row,
                      qx_value_plan *const *plans) {
  uint64_t n = duckdb_data_chunk_get_size(chunk);
  for (uint32_t c = 0; c < t->columns; c++) {
    duckdb_vector v = duckdb_data_chunk_get_vector(chunk, c);
    for (uint64_t r = 0; r < n; r++) {
      int rc = qx_value_text(plans[c], v, r, &t->cells[(first_row + r) * t->columns + c]);
      if (rc != QX_OK) return rc;
    }
  }
  return QX_OK;
}

static int fill_rows(duckdb_result *res, qx_result_table *t, qx_value_plan *const *plans) {
  int rc = QX_OK;
  uint64_t row = 0;
  idx_t chunks = duckdb_result_chunk_count(*res);
  for (idx_t i = 0; i < chunks && rc == QX_OK; i++) {
    duckdb_data_chunk chunk = duckdb_result_get_chunk(*res, i);
    rc = fill_chunk(t, chunk, row, plans);
    row += duckdb_data_chunk_get_size(chunk);
    duckdb_destroy_data_chunk(&chunk);
  }
  return rc;
}

static qx_sql_type sql_type_of(duckdb_type id) {
  switch (id) {
  case DUCKDB_TYPE_BOOLEAN:
    return QX_SQL_TYPE_BOOLEAN;
  case DUCKDB_TYPE_TINYINT:
  case DUCKDB_TYPE_UTINYINT:
  case DUCKDB_TYPE_SMALLINT:
    return QX_SQL_TYPE_SMALLINT;
  case DUCKDB_TYPE_USMALLINT:
  case DUCKDB_TYPE_INTEGER:
    return QX_SQL_TYPE_INTEGER;
  case DUCKDB_TYPE_UINTEGER:
  case DUCKDB_TYPE_BIGINT:
    return QX_SQL_TYPE_BIGINT;
  case DUCKDB_TYPE_FLOAT:
    return QX_SQL_TYPE_REAL;
  case DUCKDB_TYPE_DOUBLE:
    return QX_SQL_TYPE_DOUBLE;
  case DUCKDB_TYPE_DECIMAL:
    return QX_SQL_TYPE_DECIMAL;
  case DUCKDB_TYPE_VARCHAR:
  case DUCKDB_TYPE_ENUM:
    return QX_SQL_TYPE_VARCHAR;
  case DUCKDB_TYPE_DATE:
    return QX_SQL_TYPE_DATE;
  case DUCKDB_TYPE_TIME:
    return QX_SQL_TYPE_TIME;
  case DUCKDB_TYPE_TIMESTAMP:
  case DUCKDB_TYPE_TIMESTAMP_S:
  case DUCKDB_TYPE_TIMESTAMP_MS:
  case DUCKDB_TYPE_TIMESTAMP_NS:
    return QX_SQL_TYPE_TIMESTAMP;
  case DUCKDB_TYPE_TIMESTAMP_TZ:
    return QX_SQL_TYPE_TIMESTAMPTZ;
  case DUCKDB_TYPE_INTERVAL:
    return QX_SQL_TYPE_INTERVAL;
  case DUCKDB_TYPE_UUID:
    return QX_SQL_TYPE_UUID;
  default:
    return QX_SQL_TYPE_OTHER;
  }
}

static qx_sql_column_type column_type_of(duckdb_logical_type type) {
  qx_sql_column_type t = {sql_type_of(duckdb_get_type_id(type)), 0, 0};
  if (t.type == QX_SQL_TYPE_DECIMAL) {
    t.width = duckdb_decimal_width(type);
    t.scale = duckdb_decimal_scale(type);
  }
  return t;
}

/* Plans every column, records its name, kind and type, then formats the rows. */
static int fill_table(duckdb_result *res, qx_result_table *t) {
  qx_value_plan **plans = calloc(t->columns + 1, sizeof *plans);
  if (!plans) return out_of_memory();
  int rc = QX_OK;
  for (uint32_t c = 0; c < t->columns && rc == QX_OK; c++) {
    duckdb_logical_type type = duckdb_column_logical_type(res, c);
    rc = qx_value_plan_create(type, &plans[c]);
    if (rc == QX_OK) t->types[c] = column_type_of(type);
    duckdb_destroy_logical_type(&type);
    if (rc != QX_OK) {
      char why[256];
      snprintf(why, sizeof why, "%s", qx_last_error());
      rc = qx_fail(rc, "column %s: %s", duckdb_column_name(res, c), why);
      break;
    }
    t->kinds[c] = (uint8_t)qx_value_plan_kind(plans[c]);
    t->names[c] = strdup(duckdb_column_name(res, c));
    if (!t->names[c]) rc = out_of_memory();
  }
  if (rc == QX_OK) rc = fill_rows(res, t, plans);
  for (uint32_t c = 0; c < t->columns; c++)
    qx_value_plan_destroy(plans[c]);
  free(plans);
  return rc;
}

void qx_result_table_ref(qx_result_table *t) {
  atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
}

void qx_result_table_unref(qx_result_table *t) {
  if (!t || atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1) return;
  for (uint64_t i = 0; t->cells && i < t->rows * t->columns; i++)
    free(t->cells[i]);
  for (uint32_t c = 0; t->names && c < t->columns; c++)
    free(t->names[c]);
  free(t->cells);
  free(t->names);
  free(t->kinds);
  free(t->types);
  free(t);
}

/* An empty table of columns x rows, its cells to be filled; NULL (the failure recorded) if
 * memory runs out. */
static qx_result_table *allocate_table(uint32_t columns, uint64_t rows) {
  qx_result_table *t = calloc(1, sizeof *t);
  if (!t) {
    out_of_memory();
    return NULL;
  }
  atomic_init(&t->refs, 1);
  t->columns = columns;
  t->rows = rows;
  t->names = calloc(t->columns + 1, sizeof *t->names);
  t->kinds = calloc(t->columns + 1, 1);
  t->types = calloc(t->columns + 1, sizeof *t->types);
  t->cells = calloc(t->rows * t->columns + 1, sizeof *t->cells);
  if (t->names && t->kinds && t->types && t->cells) return t;
  qx_record_failure("out of memory for a result of %" PRIu64 " rows", t->rows);
  qx_result_table_unref(t);
  return NULL;
}

int qx_result_table_build(duckdb_result *res, qx_result_table **out) {
  qx_result_table *t = allocate_table((uint32_t)duckdb_column_count(res), duckdb_row_count(res));
  if (!t) return QX_ERR_NOMEM;
  int rc = fill_table(res, t);
  if (rc != QX_OK) {
    qx_result_table_unref(t);
    return rc;
  }
  *out = t;
  return QX_OK;
}

int qx_result_table_from_text(uint32_t columns, uint64_t rows, const char *const *names,
                              const qx_sql_value_kind *kinds, const char *const *cells,
                              qx_result_table **out) {
  qx_result_table *t = allocate_table(columns, rows);
  if (!t) return QX_ERR_NOMEM;
  int failed = 0;
  for (uint32_t c = 0; c < columns; c++) {
    t->names[c] = strdup(names[c]);
    t->kinds[c] = (uint8_t)kinds[c];
    t->types[c] = (qx_sql_column_type){QX_SQL_TYPE_OTHER, 0, 0};
    failed |= !t->names[c];
  }
  for (uint64_t i = 0; i < rows * columns; i++) {
    t->cells[i] = cells[i] ? strdup(cells[i]) : NULL;
    failed |= cells[i] && !t->cells[i];
  }
  if (failed) {
    qx_result_table_unref(t);
    return out_of_memory();
  }
  *out = t;
  return QX_OK;
}
