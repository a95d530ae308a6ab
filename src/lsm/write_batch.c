/* qx_write_batch: writes collected by a caller and applied by qx_db_write as one unit.
 * Payloads live in one growing buffer; entries keep offsets into it (the buffer moves as it
 * grows) and become WAL records only when the batch is written. */
#include <stdlib.h>
#include <string.h>

#include "lsm/wal_codec.h"
#include "lsm/write_batch.h"
#include "util/error.h"
#include "util/grow.h"

int qx_write_batch_create(qx_write_batch **out) {
  *out = calloc(1, sizeof **out);
  return *out ? QX_OK : qx_fail(QX_ERR_NOMEM, "out of memory for a write batch");
}

void qx_write_batch_destroy(qx_write_batch *batch) {
  if (!batch) return;
  free(batch->entries);
  free(batch->bytes);
  free(batch);
}

void qx_write_batch_clear(qx_write_batch *batch) {
  batch->count = 0;
  batch->used = 0;
}

size_t qx_write_batch_count(const qx_write_batch *batch) {
  return batch->count;
}

/* Reserves an entry and size payload bytes (8-byte aligned so records stay aligned). */
static uint8_t *reserve(qx_write_batch *b, uint16_t table_id, uint16_t version, size_t size) {
  size_t at = qx_pad8(b->used);
  if (qx_grow((void **)&b->entries, &b->entry_cap, b->count + 1, sizeof *b->entries,
              "a write batch") != QX_OK ||
      qx_grow((void **)&b->bytes, &b->byte_cap, at + size, 1, "a write batch") != QX_OK)
    return NULL;
  b->entries[b->count++] = (qx_batch_entry){table_id, version, (uint32_t)size, at};
  b->used = at + size;
  return b->bytes + at;
}

int qx_write_batch_put(qx_write_batch *b, const void *key, size_t key_len, const void *value,
                       size_t value_len) {
  int rc = qx_kv_check(key_len, value_len);
  if (rc != QX_OK) return rc;
  uint8_t *p = reserve(b, QX_WAL_KV_PUT, 1, qx_kv_put_size(key_len, value_len));
  if (!p) return QX_ERR_NOMEM;
  qx_kv_put_encode(p, key, key_len, value, value_len);
  return QX_OK;
}

int qx_write_batch_delete(qx_write_batch *b, const void *key, size_t key_len) {
  int rc = qx_kv_check(key_len, 0);
  if (rc != QX_OK) return rc;
  uint8_t *p = reserve(b, QX_WAL_KV_DELETE, 1, key_len);
  if (!p) return QX_ERR_NOMEM;
  memcpy(p, key, key_len);
  return QX_OK;
}

int qx_write_batch_put_record(qx_write_batch *b, int table_id, const void *record) {
  qx_wal_record r;
  int rc = qx_record_to_wal(table_id, record, &r);
  if (rc != QX_OK) return rc;
  uint8_t *p = reserve(b, r.table_id, r.schema_version, r.size);
  if (!p) return QX_ERR_NOMEM;
  memcpy(p, record, r.size);
  return QX_OK;
}

void qx_write_batch_to_wal(const qx_write_batch *b, size_t first, size_t count,
                           qx_wal_record *out) {
  for (size_t i = 0; i < count; i++) {
    const qx_batch_entry *e = &b->entries[first + i];
    out[i] = (qx_wal_record){e->table_id, e->schema_version, e->size, 0, b->bytes + e->offset};
  }
}
