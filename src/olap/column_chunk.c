/* Column chunks: allocation, appending a record column by column, and LSN search (see
 * column_chunk.h for the layout and the thread-safety contract). */
#include "olap/column_chunk.h"

#include <stdlib.h>
#include <string.h>

#include "util/error.h"

static void free_chunk(qx_col_chunk *c) {
  if (c->cols)
    for (uint32_t i = 0; i < c->schema->column_count; i++) {
      free(c->cols[i].validity);
      free(c->cols[i].values);
    }
  free(c->cols);
  free(c->lsn);
  free(c->day);
  free(c);
}

static int alloc_columns(qx_col_chunk *c) {
  uint32_t n = c->schema->column_count;
  size_t bitmap = (c->capacity + 7) / 8;
  c->cols = calloc(n, sizeof *c->cols);
  c->lsn = malloc((size_t)c->capacity * sizeof *c->lsn);
  c->day = malloc((size_t)c->capacity * sizeof *c->day);
  if (!c->cols || !c->lsn || !c->day) return 0;
  c->bytes = (size_t)c->capacity * (sizeof *c->lsn + sizeof *c->day);
  for (uint32_t i = 0; i < n; i++) {
    qx_col_buffer *b = &c->cols[i];
    b->width = c->schema->columns[i].width;
    b->validity = calloc(bitmap, 1);
    b->values = malloc((size_t)c->capacity * b->width);
    if (!b->validity || !b->values) return 0;
    c->bytes += bitmap + (size_t)c->capacity * b->width;
  }
  return 1;
}

int qx_col_chunk_create(const qx_schema *schema, uint32_t capacity, qx_col_chunk **out) {
  qx_col_chunk *c = calloc(1, sizeof *c);
  if (!c) return qx_fail(QX_ERR_NOMEM, "out of memory for a column chunk");
  atomic_init(&c->refs, 1);
  c->schema = schema;
  c->capacity = capacity;
  if (!alloc_columns(c)) {
    free_chunk(c);
    return qx_fail(QX_ERR_NOMEM, "out of memory for a column chunk of %u %s rows", capacity,
                   schema->name);
  }
  *out = c;
  return QX_OK;
}

void qx_col_chunk_ref(qx_col_chunk *c) {
  atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

void qx_col_chunk_unref(qx_col_chunk *c) {
  if (c && atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1) free_chunk(c);
}

void qx_col_chunk_append(qx_col_chunk *c, const void *record, uint32_t columns, uint64_t lsn,
                         int32_t day) {
  uint32_t row = atomic_load_explicit(&c->rows, memory_order_relaxed);
  const uint8_t *rec = record;
  for (uint32_t i = 0; i < columns; i++) {
    qx_col_buffer *b = &c->cols[i];
    memcpy(b->values + (size_t)row * b->width, rec + c->schema->columns[i].offset, b->width);
    b->validity[row / 8] |= (uint8_t)(1u << (row % 8));
  }
  c->lsn[row] = lsn;
  c->day[row] = day;
  atomic_store_explicit(&c->rows, row + 1, memory_order_release);
}

uint32_t qx_col_chunk_first_after(const qx_col_chunk *c, uint32_t rows, uint64_t lsn) {
  uint32_t lo = 0, hi = rows;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (c->lsn[mid] <= lsn)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}
