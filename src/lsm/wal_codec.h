/* How engine writes are carried in WAL entries, and how replay turns an entry back into an
 * internal entry. A record of a built-in table travels as itself (its key is derived with
 * qx_key_encode); raw puts and deletes use two reserved table ids (docs/formats/wal.md):
 *   QX_WAL_KV_PUT    payload: u32 key_len, u32 0, key, zero pad to 8 bytes, value
 *   QX_WAL_KV_DELETE payload: key */
#ifndef QX_LSM_WAL_CODEC_H
#define QX_LSM_WAL_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "kv/entry.h"
#include "qaxdb/key.h"
#include "qaxdb/wal.h"

#define QX_WAL_KV_PUT 0x7F01
#define QX_WAL_KV_DELETE 0x7F02

static inline size_t qx_pad8(size_t n) {
  return (n + 7) & ~(size_t)7;
}

/* Bytes of the payload of a raw put of key_len and value_len bytes. */
static inline size_t qx_kv_put_size(size_t key_len, size_t value_len) {
  return 8 + qx_pad8(key_len) + value_len;
}
void qx_kv_put_encode(void *out, const void *key, size_t key_len, const void *value,
                      size_t value_len);

/* An entry decoded for the engine; key may point into key_buf. */
typedef struct qx_decoded_write {
  uint8_t key_buf[QX_KEY_MAX];
  const uint8_t *key;
  size_t key_len;
  uint8_t kind;
  const void *value;
  size_t value_len;
} qx_decoded_write;

/* Decodes a WAL entry; QX_ERR_FORMAT (naming the LSN) if it is not an engine write. */
int qx_wal_entry_decode(const qx_wal_entry *entry, qx_decoded_write *out);

/* Checks a raw key and value against the engine's limits (QX_ERR_INVALID_ARG/TOO_LARGE). */
int qx_kv_check(size_t key_len, size_t value_len);

/* Fills *out with the WAL record of a built-in table record, checking the table id. */
int qx_record_to_wal(int table_id, const void *record, qx_wal_record *out);

#endif
