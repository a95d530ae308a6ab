/* Key encoding (see qaxdb/key.h and docs/formats/keys.md): 2-byte big-endian table id, then each
 * key column: unsigned integers big-endian, signed integers big-endian with the sign bit
 * flipped (so negatives sort first), CHAR columns as their full NUL-padded width. */
#include "qaxdb/key.h"

#include <string.h>

void qx_key_put_u64(uint8_t out[8], uint64_t v) {
  for (int i = 7; i >= 0; i--) {
    out[i] = (uint8_t)v;
    v >>= 8;
  }
}

uint64_t qx_key_get_u64(const uint8_t in[8]) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v = (v << 8) | in[i];
  return v;
}

void qx_key_put_i64(uint8_t out[8], int64_t v) {
  qx_key_put_u64(out, (uint64_t)v ^ (UINT64_C(1) << 63));
}

int64_t qx_key_get_i64(const uint8_t in[8]) {
  return (int64_t)(qx_key_get_u64(in) ^ (UINT64_C(1) << 63));
}

static size_t put_column(const qx_column *col, const uint8_t *field, uint8_t *out) {
  uint64_t u = 0;
  int64_t s = 0;
  switch (col->type) {
  case QX_COL_U8:
  case QX_COL_ENUM:
    out[0] = field[0];
    return 1;
  case QX_COL_U32: {
    uint32_t v;
    memcpy(&v, field, 4);
    for (int i = 3; i >= 0; i--, v >>= 8)
      out[i] = (uint8_t)v;
    return 4;
  }
  case QX_COL_U64:
    memcpy(&u, field, 8);
    qx_key_put_u64(out, u);
    return 8;
  case QX_COL_I64:
  case QX_COL_DECIMAL:
  case QX_COL_TIMESTAMP:
    memcpy(&s, field, 8);
    qx_key_put_i64(out, s);
    return 8;
  case QX_COL_CHAR:
    /* NUL padding sorts below every other byte, so "ab" < "abc" as bytes too. */
    memcpy(out, field, col->width);
    return col->width;
  }
  return 0;
}

size_t qx_key_table_prefix(uint16_t table_id, uint8_t out[QX_KEY_TABLE_PREFIX]) {
  out[0] = (uint8_t)(table_id >> 8);
  out[1] = (uint8_t)table_id;
  return QX_KEY_TABLE_PREFIX;
}

size_t qx_key_encode(const qx_schema *schema, const void *record, uint8_t out[QX_KEY_MAX]) {
  const uint8_t *base = record;
  size_t len = qx_key_table_prefix((uint16_t)schema->table_id, out);
  for (uint32_t i = 0; i < schema->key_column_count; i++) {
    const qx_column *col = &schema->columns[schema->key_columns[i]];
    len += put_column(col, base + col->offset, out + len);
  }
  return len;
}
