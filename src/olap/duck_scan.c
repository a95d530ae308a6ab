/* qx_scan: DuckDB reading buffered column chunks in place (see duck_scan.h). Fixed-width
 * columns are copied into DuckDB's vectors with one memcpy per run of rows; fixed-width strings
 * and enum codes become VARCHARs. The output columns are the table's columns, then lsn
 * (UBIGINT) and date (DATE, the trading day), the same as the Parquet files with their Hive
 * partition. */
#include "olap/duck_scan.h"

#include <stdlib.h>
#include <string.h>

#include "olap/trading_day.h"
#include "util/error.h"

enum { EXTRA_LSN, EXTRA_DATE }; /* the columns after the table's: column_count + these */

int qx_scan_registry_init(qx_scan_registry *r) {
  memset(r, 0, sizeof *r);
  return pthread_mutex_init(&r->mu, NULL) == 0
             ? QX_OK
             : qx_fail(QX_ERR_NOMEM, "cannot create the scan registry lock");
}

void qx_scan_registry_destroy(qx_scan_registry *r) {
  pthread_mutex_destroy(&r->mu);
}

static idx_t connection_id(duckdb_connection con) {
  duckdb_client_context ctx;
  duckdb_connection_get_client_context(con, &ctx);
  idx_t id = duckdb_client_context_get_connection_id(ctx);
  duckdb_destroy_client_context(&ctx);
  return id;
}

int qx_scan_bind(qx_scan_registry *r, duckdb_connection con, const qx_olap_snapshot *snapshot) {
  idx_t id = connection_id(con);
  int rc = QX_OK;
  pthread_mutex_lock(&r->mu);
  int i = 0;
  while (i < r->count && r->bound[i].connection_id != id)
    i++;
  if (snapshot && i == r->count && r->count == QX_SCAN_MAX_CONNECTIONS)
    rc = qx_fail(QX_ERR_TOO_LARGE, "more than %d SQL connections", QX_SCAN_MAX_CONNECTIONS);
  else if (snapshot) {
    r->bound[i].connection_id = id;
    r->bound[i].snapshot = snapshot;
    if (i == r->count) r->count++;
  } else if (i < r->count) {
    r->bound[i] = r->bound[--r->count];
  }
  pthread_mutex_unlock(&r->mu);
  return rc;
}

static const qx_olap_snapshot *bound_snapshot(qx_scan_registry *r, idx_t id) {
  const qx_olap_snapshot *s = NULL;
  pthread_mutex_lock(&r->mu);
  for (int i = 0; i < r->count; i++)
    if (r->bound[i].connection_id == id) s = r->bound[i].snapshot;
  pthread_mutex_unlock(&r->mu);
  return s;
}

duckdb_logical_type qx_duck_type(const qx_column *col) {
  switch (col->type) {
  case QX_COL_U8:
    return duckdb_create_logical_type(DUCKDB_TYPE_UTINYINT);
  case QX_COL_U32:
    return duckdb_create_logical_type(DUCKDB_TYPE_UINTEGER);
  case QX_COL_U64:
    return duckdb_create_logical_type(DUCKDB_TYPE_UBIGINT);
  case QX_COL_I64:
    return duckdb_create_logical_type(DUCKDB_TYPE_BIGINT);
  case QX_COL_DECIMAL:
    return duckdb_create_decimal_type(18, col->scale);
  case QX_COL_TIMESTAMP:
    return duckdb_create_logical_type(DUCKDB_TYPE_TIMESTAMP_NS);
  case QX_COL_CHAR:
  case QX_COL_ENUM:
    break;
  }
  return duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
}

/* ---- bind: which table, which day ---- */

typedef struct scan_bind {
  const qx_schema *schema;
  const qx_olap_rows *rows;
  int has_day;
  int32_t day;
} scan_bind;

static void add_column(duckdb_bind_info info, const char *name, duckdb_logical_type type) {
  duckdb_bind_add_result_column(info, name, type);
  duckdb_destroy_logical_type(&type);
}

void qx_scan_declare_columns(duckdb_bind_info info, const qx_schema *schema) {
  for (uint32_t i = 0; i < schema->column_count; i++)
    add_column(info, schema->columns[i].name, qx_duck_type(&schema->columns[i]));
  add_column(info, "lsn", duckdb_create_logical_type(DUCKDB_TYPE_UBIGINT));
  add_column(info, "date", duckdb_create_logical_type(DUCKDB_TYPE_DATE));
}

static const qx_schema *bound_table(duckdb_bind_info info) {
  duckdb_value v = duckdb_bind_get_parameter(info, 0);
  char *name = duckdb_get_varchar(v);
  const qx_schema *s = name ? qx_schema_by_name(name) : NULL;
  duckdb_free(name);
  duckdb_destroy_value(&v);
  return s;
}

const qx_olap_snapshot *qx_scan_bound_snapshot(qx_scan_registry *r, duckdb_bind_info info) {
  duckdb_client_context ctx;
  duckdb_table_function_get_client_context(info, &ctx);
  const qx_olap_snapshot *snap = bound_snapshot(r, duckdb_client_context_get_connection_id(ctx));
  duckdb_destroy_client_context(&ctx);
  return snap;
}

static void scan_bind_fn(duckdb_bind_info info) {
  const qx_olap_snapshot *snap = qx_scan_bound_snapshot(duckdb_bind_get_extra_info(info), info);
  const qx_schema *schema = bound_table(info);
  if (!schema) {
    duckdb_bind_set_error(info, "qx_scan: unknown table");
    return;
  }
  if (!snap) {
    duckdb_bind_set_error(info, "qx_scan: this connection reads no snapshot");
    return;
  }
  scan_bind *b = calloc(1, sizeof *b);
  if (!b) {
    duckdb_bind_set_error(info, "qx_scan: out of memory");
    return;
  }
  b->schema = schema;
  b->rows = &snap->tables[schema->table_id];
  duckdb_value day = duckdb_bind_get_named_parameter(info, "day");
  if (day && !duckdb_is_null_value(day)) {
    b->has_day = 1;
    b->day = duckdb_get_int32(day);
  }
  duckdb_destroy_value(&day);
  duckdb_bind_set_bind_data(info, b, free);
  qx_scan_declare_columns(info, schema);
  duckdb_bind_set_cardinality(info, b->rows->rows, true);
}

/* ---- init: which columns were asked for, and the cursor ---- */

typedef struct scan_state {
  qx_scan_projection projection;
  uint32_t chunk, row; /* cursor */
} scan_state;

static void free_state(void *p) {
  scan_state *s = p;
  free(s->projection.columns);
  free(s);
}

int qx_scan_projection_init(duckdb_init_info info, qx_scan_projection *p) {
  idx_t n = duckdb_init_get_column_count(info);
  p->columns = malloc((n + 1) * sizeof *p->columns);
  if (!p->columns) return qx_fail(QX_ERR_NOMEM, "out of memory for a scan");
  for (idx_t i = 0; i < n; i++)
    p->columns[i] = duckdb_init_get_column_index(info, i);
  p->count = n;
  return QX_OK;
}

static void scan_init_fn(duckdb_init_info info) {
  scan_state *s = calloc(1, sizeof *s);
  if (!s || qx_scan_projection_init(info, &s->projection) != QX_OK) {
    free(s);
    duckdb_init_set_error(info, "qx_scan: out of memory");
    return;
  }
  duckdb_init_set_max_threads(info, 1);
  duckdb_init_set_init_data(info, s, free_state);
}

/* ---- the scan ---- */

static void put_string(duckdb_vector out, idx_t at, const qx_column *col, const uint8_t *field) {
  if (col->type == QX_COL_ENUM) {
    const char *name = *field < col->enum_count ? col->enum_names[*field] : "?";
    duckdb_vector_assign_string_element_len(out, at, name, strlen(name));
  } else {
    duckdb_vector_assign_string_element_len(out, at, (const char *)field,
                                            strnlen((const char *)field, col->width));
  }
}

static void copy_strings(duckdb_vector out, idx_t at, const qx_column *col, const qx_col_buffer *b,
                         uint32_t row, uint32_t n) {
  for (uint32_t i = 0; i < n; i++)
    put_string(out, at + i, col, b->values + (size_t)(row + i) * b->width);
}

static void copy_validity(duckdb_vector out, idx_t at, const qx_col_buffer *b, uint32_t row,
                          uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    uint32_t r = row + i;
    if (b->validity[r / 8] & (1u << (r % 8))) continue;
    duckdb_vector_ensure_validity_writable(out);
    duckdb_validity_set_row_invalid(duckdb_vector_get_validity(out), at + i);
  }
}

/* Copies rows [row, row + n) of c into output's vectors from position at. */
static void copy_rows(const qx_scan_projection *p, duckdb_data_chunk output, idx_t at,
                      const qx_col_chunk *c, uint32_t row, uint32_t n) {
  const qx_schema *schema = c->schema;
  for (idx_t k = 0; k < p->count; k++) {
    duckdb_vector out = duckdb_data_chunk_get_vector(output, k);
    uint8_t *data = duckdb_vector_get_data(out);
    idx_t id = p->columns[k];
    if (id >= schema->column_count) {
      idx_t extra = id - schema->column_count;
      if (extra == EXTRA_LSN)
        memcpy(data + at * 8, c->lsn + row, (size_t)n * 8);
      else if (extra == EXTRA_DATE)
        memcpy(data + at * 4, c->day + row, (size_t)n * 4);
      continue;
    }
    const qx_column *col = &schema->columns[id];
    const qx_col_buffer *buf = &c->cols[id];
    if (col->type == QX_COL_CHAR || col->type == QX_COL_ENUM)
      copy_strings(out, at, col, buf, row, n);
    else
      memcpy(data + at * buf->width, buf->values + (size_t)row * buf->width,
             (size_t)n * buf->width);
    copy_validity(out, at, buf, row, n);
  }
}

/* Writes field id of record (of columns columns) at row at of out. */
static void put_field(const qx_scan_record *r, duckdb_vector out, idx_t at, idx_t id) {
  uint8_t *data = duckdb_vector_get_data(out);
  const qx_schema *schema = r->schema;
  if (id == schema->column_count + EXTRA_LSN) {
    memcpy(data + at * 8, &r->lsn, 8);
  } else if (id == schema->column_count + EXTRA_DATE) {
    int32_t day = qx_record_trading_day(schema, r->time_column, r->record, 0);
    memcpy(data + at * 4, &day, 4);
  } else if (id >= r->columns) { /* added by a later schema version than the record's */
    duckdb_vector_ensure_validity_writable(out);
    duckdb_validity_set_row_invalid(duckdb_vector_get_validity(out), at);
  } else {
    const qx_column *col = &schema->columns[id];
    if (col->type == QX_COL_CHAR || col->type == QX_COL_ENUM)
      put_string(out, at, col, r->record + col->offset);
    else
      memcpy(data + at * col->width, r->record + col->offset, col->width);
  }
}

void qx_scan_put_record(const qx_scan_projection *p, duckdb_data_chunk output, idx_t at,
                        const qx_scan_record *r) {
  for (idx_t k = 0; k < p->count; k++)
    put_field(r, duckdb_data_chunk_get_vector(output, k), at, p->columns[k]);
}

/* The length of the run of rows from row on that the scan emits (all, or those of the day),
 * after skipping rows of other days; *row moves to the start of the run. */
static uint32_t next_run(const scan_bind *b, const qx_col_chunk *c, uint32_t *row, uint32_t end,
                         uint32_t max) {
  if (!b->has_day) return end - *row < max ? end - *row : max;
  while (*row < end && c->day[*row] != b->day)
    (*row)++;
  uint32_t n = 0;
  while (*row + n < end && n < max && c->day[*row + n] == b->day)
    n++;
  return n;
}

static void scan_fn(duckdb_function_info info, duckdb_data_chunk output) {
  const scan_bind *b = duckdb_function_get_bind_data(info);
  scan_state *s = duckdb_function_get_init_data(info);
  const qx_olap_rows *rows = b->rows;
  idx_t cap = duckdb_vector_size(), filled = 0;
  while (filled < cap && s->chunk < rows->count) {
    const qx_col_chunk *c = rows->chunks[s->chunk];
    if (s->row < rows->begin[s->chunk]) s->row = rows->begin[s->chunk];
    uint32_t end = rows->end[s->chunk];
    uint32_t n = next_run(b, c, &s->row, end, (uint32_t)(cap - filled));
    if (n > 0) copy_rows(&s->projection, output, filled, c, s->row, n);
    filled += n;
    s->row += n;
    if (s->row >= end) {
      s->chunk++;
      s->row = 0;
    }
  }
  duckdb_data_chunk_set_size(output, filled);
}

duckdb_table_function qx_table_function_create(const char *name, int varchar_parameters) {
  duckdb_table_function f = duckdb_create_table_function();
  duckdb_table_function_set_name(f, name);
  duckdb_logical_type varchar = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
  for (int i = 0; i < varchar_parameters; i++)
    duckdb_table_function_add_parameter(f, varchar);
  duckdb_destroy_logical_type(&varchar);
  duckdb_table_function_supports_projection_pushdown(f, true);
  return f;
}

int qx_table_function_register(duckdb_connection con, duckdb_table_function f, void *extra_info,
                               duckdb_table_function_bind_t bind, duckdb_table_function_init_t init,
                               duckdb_table_function_t function) {
  duckdb_table_function_set_extra_info(f, extra_info, NULL);
  duckdb_table_function_set_bind(f, bind);
  duckdb_table_function_set_init(f, init);
  duckdb_table_function_set_function(f, function);
  duckdb_state st = duckdb_register_table_function(con, f);
  duckdb_destroy_table_function(&f);
  return st == DuckDBSuccess ? QX_OK : qx_fail(QX_ERR_SQL, "cannot register a table function");
}

int qx_scan_register(duckdb_connection con, qx_scan_registry *r) {
  duckdb_table_function f = qx_table_function_create("qx_scan", 1);
  duckdb_logical_type integer = duckdb_create_logical_type(DUCKDB_TYPE_INTEGER);
  duckdb_table_function_add_named_parameter(f, "day", integer);
  duckdb_destroy_logical_type(&integer);
  return qx_table_function_register(con, f, r, scan_bind_fn, scan_init_fn, scan_fn);
}
