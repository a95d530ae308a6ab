/* Encoding of engine writes into WAL entries and their decoding on replay (see wal_codec.h). */
#include "lsm/wal_codec.h"

#include <inttypes.h>
#include <string.h>

#include "qaxdb/schema.h"
#include "util/error.h"

void qx_kv_put_encode(void *out, const void *key, size_t key_len, const void *value,
                      size_t value_len) {
  uint8_t *p = out;
  uint32_t header[2] = {(uint32_t)key_len, 0};
  memcpy(p, header, 8);
  memcpy(p + 8, key, key_len);
  memset(p + 8 + key_len, 0, qx_pad8(key_len) - key_len);
  memcpy(p + 8 + qx_pad8(key_len), value, value_len);
}

int qx_kv_check(size_t key_len, size_t value_len) {
  if (key_len == 0) return qx_fail(QX_ERR_INVALID_ARG, "empty key");
  if (key_len > QX_DB_MAX_KEY)
    return qx_fail(QX_ERR_TOO_LARGE, "key of %zu bytes exceeds %d", key_len, QX_DB_MAX_KEY);
  if (value_len > QX_DB_MAX_VALUE)
    return qx_fail(QX_ERR_TOO_LARGE, "value of %zu bytes exceeds %d", value_len, QX_DB_MAX_VALUE);
  return QX_OK;
}

int qx_record_to_wal(int table_id, const void *record, qx_wal_record *out) {
  const qx_schema *s = qx_schema_by_id(table_id);
  if (!s) return qx_fail(QX_ERR_INVALID_ARG, "unknown table id %d", table_id);
  *out = (qx_wal_record){(uint16_t)table_id, s->version, s->record_size, 0, record};
  return QX_OK;
}

static int decode_kv_put(const qx_wal_entry *e, qx_decoded_write *out) {
  uint32_t key_len;
  if (e->size < 8) return QX_ERR_FORMAT;
  memcpy(&key_len, e->data, 4);
  if (key_len == 0 || key_len > QX_DB_MAX_KEY || 8 + qx_pad8(key_len) > e->size)
    return QX_ERR_FORMAT;
  out->key = (const uint8_t *)e->data + 8;
  out->key_len = key_len;
  out->kind = QX_KIND_PUT;
  out->value = (const uint8_t *)e->data + 8 + qx_pad8(key_len);
  out->value_len = e->size - 8 - qx_pad8(key_len);
  return QX_OK;
}

static int decode_record(const qx_wal_entry *e, const qx_schema *s, qx_decoded_write *out) {
  if (qx_schema_record_size(s, e->schema_version) != e->size) return QX_ERR_FORMAT;
  out->key_len = qx_key_encode(s, e->data, out->key_buf);
  out->key = out->key_buf;
  out->kind = QX_KIND_PUT;
  out->value = e->data;
  out->value_len = e->size;
  return QX_OK;
}

int qx_wal_entry_decode(const qx_wal_entry *e, qx_decoded_write *out) {
  int rc = QX_ERR_FORMAT;
  const qx_schema *s = qx_schema_by_id(e->table_id);
  if (s) {
    rc = decode_record(e, s, out);
  } else if (e->table_id == QX_WAL_KV_PUT) {
    rc = decode_kv_put(e, out);
  } else if (e->table_id == QX_WAL_KV_DELETE && e->size > 0 && e->size <= QX_DB_MAX_KEY) {
    *out = (qx_decoded_write){.key = e->data, .key_len = e->size, .kind = QX_KIND_DELETE};
    rc = QX_OK;
  }
  if (rc != QX_OK)
    return qx_fail(rc, "WAL entry lsn %" PRIu64 " (table #%u v%u, %u bytes) is not an engine write",
                   e->lsn, e->table_id, e->schema_version, e->size);
  return QX_OK;
}
