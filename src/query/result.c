/* Text of DuckDB values: exact decimals from their integer form, timestamps at their stored
 * precision, and DuckDB's own rendering for the types it renders (see result.h). */
#include "query/result.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "olap/trading_day.h"
#include "util/error.h"

static void format_i128(__int128 v, uint8_t scale, char *out, size_t cap) {
  char digits[64];
  int n = 0, neg = v < 0;
  unsigned __int128 u = neg ? (unsigned __int128)(-(v + 1)) + 1 : (unsigned __int128)v;
  do {
    digits[n++] = (char)('0' + (int)(u % 10));
    u /= 10;
  } while (u || n <= scale);
  size_t at = 0;
  if (neg && at + 1 < cap) out[at++] = '-';
  for (int i = n - 1; i >= 0 && at + 2 < cap; i--) {
    out[at++] = digits[i];
    if (i == scale && scale > 0) out[at++] = '.';
  }
  out[at] = 0;
}

/* ns since the epoch -> "YYYY-MM-DD HH:MM:SS[.fraction]", fraction trimmed of trailing zeros. */
static void format_ts(int64_t units, int64_t per_second, char *out, size_t cap) {
  int64_t s = units / per_second, frac = units % per_second;
  if (frac < 0) {
    frac += per_second;
    s--;
  }
  int64_t day = s / 86400, sod = s % 86400;
  if (sod < 0) {
    sod += 86400;
    day--;
  }
  char date[16];
  qx_format_day((int32_t)day, date);
  int n = snprintf(out, cap, "%s %02d:%02d:%02d", date, (int)(sod / 3600), (int)(sod / 60 % 60),
                   (int)(sod % 60));
  if (frac == 0 || n < 0 || (size_t)n >= cap) return;
  int width = 0;
  for (int64_t p = per_second; p > 1; p /= 10)
    width++;
  char f[24];
  snprintf(f, sizeof f, "%0*" PRId64, width > 9 ? 9 : width, frac);
  for (int i = width - 1; i > 0 && f[i] == '0'; i--)
    f[i] = 0;
  snprintf(out + n, cap - (size_t)n, ".%s", f);
}

static void format_double(double d, char *out, size_t cap) {
  snprintf(out, cap, "%.15g", d);
  if (strtod(out, NULL) != d) snprintf(out, cap, "%.17g", d);
}

/* The integer at row of data, whose physical type is id: a signed integer type or HUGEINT (the
 * storage of DECIMALs too). */
static __int128 signed_at(const void *data, uint64_t row, duckdb_type id) {
  switch (id) {
  case DUCKDB_TYPE_TINYINT:
    return ((const int8_t *)data)[row];
  case DUCKDB_TYPE_SMALLINT:
    return ((const int16_t *)data)[row];
  case DUCKDB_TYPE_INTEGER:
    return ((const int32_t *)data)[row];
  case DUCKDB_TYPE_BIGINT:
    return ((const int64_t *)data)[row];
  default: {
    duckdb_hugeint h = ((const duckdb_hugeint *)data)[row];
    return (__int128)(((unsigned __int128)(uint64_t)h.upper << 64) | h.lower);
  }
  }
}

static uint64_t unsigned_at(const void *data, uint64_t row, duckdb_type id) {
  switch (id) {
  case DUCKDB_TYPE_UTINYINT:
    return ((const uint8_t *)data)[row];
  case DUCKDB_TYPE_USMALLINT:
    return ((const uint16_t *)data)[row];
  case DUCKDB_TYPE_UINTEGER:
    return ((const uint32_t *)data)[row];
  default:
    return ((const uint64_t *)data)[row];
  }
}

/* Formats row of vector v of type t into out; 0 if the type is not one formatted here (strings
 * are copied whole by cell_text). */
static int format_cell(duckdb_logical_type t, const void *data, uint64_t row, char *out,
                       size_t cap) {
  switch (duckdb_get_type_id(t)) {
  case DUCKDB_TYPE_BOOLEAN:
    snprintf(out, cap, "%s", ((const bool *)data)[row] ? "true" : "false");
    return 1;
  case DUCKDB_TYPE_TINYINT:
  case DUCKDB_TYPE_SMALLINT:
  case DUCKDB_TYPE_INTEGER:
  case DUCKDB_TYPE_BIGINT:
  case DUCKDB_TYPE_HUGEINT:
    format_i128(signed_at(data, row, duckdb_get_type_id(t)), 0, out, cap);
    return 1;
  case DUCKDB_TYPE_UTINYINT:
  case DUCKDB_TYPE_USMALLINT:
  case DUCKDB_TYPE_UINTEGER:
  case DUCKDB_TYPE_UBIGINT:
    snprintf(out, cap, "%" PRIu64, unsigned_at(data, row, duckdb_get_type_id(t)));
    return 1;
  case DUCKDB_TYPE_FLOAT:
    format_double(((const float *)data)[row], out, cap);
    return 1;
  case DUCKDB_TYPE_DOUBLE:
    format_double(((const double *)data)[row], out, cap);
    return 1;
  case DUCKDB_TYPE_DECIMAL:
    format_i128(signed_at(data, row, duckdb_decimal_internal_type(t)), duckdb_decimal_scale(t), out,
                cap);
    return 1;
  case DUCKDB_TYPE_DATE:
    qx_format_day(((const int32_t *)data)[row], out);
    return 1;
  case DUCKDB_TYPE_TIMESTAMP_S:
    format_ts(((const int64_t *)data)[row], 1, out, cap);
    return 1;
  case DUCKDB_TYPE_TIMESTAMP_MS:
    format_ts(((const int64_t *)data)[row], 1000, out, cap);
    return 1;
  case DUCKDB_TYPE_TIMESTAMP:
    format_ts(((const int64_t *)data)[row], 1000000, out, cap);
    return 1;
  case DUCKDB_TYPE_TIMESTAMP_NS:
    format_ts(((const int64_t *)data)[row], 1000000000, out, cap);
    return 1;
  default:
    return 0;
  }
}

static int is_numeric(duckdb_type id) {
  return (id >= DUCKDB_TYPE_TINYINT && id <= DUCKDB_TYPE_DOUBLE) || id == DUCKDB_TYPE_DECIMAL ||
         id == DUCKDB_TYPE_HUGEINT || id == DUCKDB_TYPE_UHUGEINT;
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
  free(t->numeric);
  free(t);
}

/* The text of one cell: formatted here, or rendered by DuckDB for other types. */
static char *cell_text(duckdb_result *res, duckdb_logical_type t, duckdb_vector v, uint64_t row,
                       uint64_t global_row, uint32_t col) {
  uint64_t *validity = duckdb_vector_get_validity(v);
  if (validity && !duckdb_validity_row_is_valid(validity, row)) return NULL;
  if (duckdb_get_type_id(t) == DUCKDB_TYPE_VARCHAR) {
    duckdb_string_t s = ((duckdb_string_t *)duckdb_vector_get_data(v))[row];
    return strndup(duckdb_string_t_data(&s), duckdb_string_t_length(s));
  }
  char buf[512];
  if (format_cell(t, duckdb_vector_get_data(v), row, buf, sizeof buf)) return strdup(buf);
  char *text = duckdb_value_varchar(res, col, global_row);
  char *copy = strdup(text ? text : "(value of a nested type: cast it to VARCHAR)");
  duckdb_free(text);
  return copy;
}

static int fill_chunk(duckdb_result *res, qx_result_table *t, duckdb_data_chunk chunk,
                      uint64_t first_row, duckdb_logical_type *types) {
  uint64_t n = duckdb_data_chunk_get_size(chunk);
  for (uint32_t c = 0; c < t->columns; c++) {
    duckdb_vector v = duckdb_data_chunk_get_vector(chunk, c);
    for (uint64_t r = 0; r < n; r++) {
      char *text = cell_text(res, types[c], v, r, first_row + r, c);
      if (!text && (!duckdb_vector_get_validity(v) ||
                    duckdb_validity_row_is_valid(duckdb_vector_get_validity(v), r)))
        return qx_fail(QX_ERR_NOMEM, "out of memory for a query result");
      t->cells[(first_row + r) * t->columns + c] = text;
    }
  }
  return QX_OK;
}

static int fill_rows(duckdb_result *res, qx_result_table *t) {
  duckdb_logical_type *types = calloc(t->columns + 1, sizeof *types);
  if (!types) return qx_fail(QX_ERR_NOMEM, "out of memory for a query result");
  for (uint32_t c = 0; c < t->columns; c++)
    types[c] = duckdb_column_logical_type(res, c);
  int rc = QX_OK;
  uint64_t row = 0;
  idx_t chunks = duckdb_result_chunk_count(*res);
  for (idx_t i = 0; i < chunks && rc == QX_OK; i++) {
    duckdb_data_chunk chunk = duckdb_result_get_chunk(*res, i);
    rc = fill_chunk(res, t, chunk, row, types);
    row += duckdb_data_chunk_get_size(chunk);
    duckdb_destroy_data_chunk(&chunk);
  }
  for (uint32_t c = 0; c < t->columns; c++)
    duckdb_destroy_logical_type(&types[c]);
  free(types);
  return rc;
}

int qx_result_table_build(duckdb_result *res, qx_result_table **out) {
  qx_result_table *t = calloc(1, sizeof *t);
  if (!t) return qx_fail(QX_ERR_NOMEM, "out of memory for a query result");
  atomic_init(&t->refs, 1);
  t->columns = (uint32_t)duckdb_column_count(res);
  t->rows = duckdb_row_count(res);
  t->names = calloc(t->columns + 1, sizeof *t->names);
  t->numeric = calloc(t->columns + 1, 1);
  t->cells = calloc(t->rows * t->columns + 1, sizeof *t->cells);
  int rc = t->names && t->numeric && t->cells
               ? QX_OK
               : qx_fail(QX_ERR_NOMEM, "out of memory for a result of %" PRIu64 " rows", t->rows);
  for (uint32_t c = 0; c < t->columns && rc == QX_OK; c++) {
    t->names[c] = strdup(duckdb_column_name(res, c));
    t->numeric[c] = (uint8_t)is_numeric(duckdb_column_type(res, c));
    if (!t->names[c]) rc = qx_fail(QX_ERR_NOMEM, "out of memory for a query result");
  }
  if (rc == QX_OK) rc = fill_rows(res, t);
  if (rc != QX_OK) {
    qx_result_table_unref(t);
    return rc;
  }
  *out = t;
  return QX_OK;
}
