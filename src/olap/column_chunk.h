/* A column chunk: up to a fixed number of one table's records, transposed into columns laid out
 * as the Arrow C Data Interface lays out arrays, so a SQL scan or a Parquet writer reads a
 * column as one contiguous array:
 *   - per column a validity bitmap (bit i of byte i/8, least significant first; 1 = present)
 *     and a values buffer of width bytes per row: 1/4/8-byte integers, fixed-point decimals and
 *     nanosecond timestamps as int64, enums as their uint8 code (dictionary indices), fixed-width
 *     strings as fixed_size_binary(width), NUL-padded;
 *   - two extra columns: the record's LSN (uint64) and its trading day (int32 days since the
 *     epoch, the Parquet partition).
 *
 * Thread-safety contract: one writer (the converter) appends; any number of readers read rows
 * [0, qx_col_chunk_rows()) without locks. Buffers never move (the capacity is fixed at
 * creation) and the row count is published with release order after the row is written. The
 * chunk is freed when its last reference goes. */
#ifndef QX_OLAP_COLUMN_CHUNK_H
#define QX_OLAP_COLUMN_CHUNK_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "qaxdb/schema.h"

typedef struct qx_col_buffer {
  uint8_t *validity;
  uint8_t *values;
  uint32_t width;
} qx_col_buffer;

typedef struct qx_col_chunk {
  atomic_int refs;
  const qx_schema *schema;
  uint32_t capacity;
  atomic_uint rows;
  uint64_t *lsn;
  int32_t *day;
  qx_col_buffer *cols; /* schema->column_count */
  size_t bytes;        /* memory held */
} qx_col_chunk;

int qx_col_chunk_create(const qx_schema *schema, uint32_t capacity, qx_col_chunk **out);
void qx_col_chunk_ref(qx_col_chunk *c);
void qx_col_chunk_unref(qx_col_chunk *c);

/* Appends one fixed-layout record of the chunk's table (writer only) that has the first columns
 * of the schema (an older schema version); the later columns are NULL. The chunk must not be
 * full. */
void qx_col_chunk_append(qx_col_chunk *c, const void *record, uint32_t columns, uint64_t lsn,
                         int32_t day);

static inline uint32_t qx_col_chunk_rows(qx_col_chunk *c) {
  return atomic_load_explicit(&c->rows, memory_order_acquire);
}

/* The first of the first rows rows whose LSN is above lsn (rows are in LSN order). */
uint32_t qx_col_chunk_first_after(const qx_col_chunk *c, uint32_t rows, uint64_t lsn);

#endif
