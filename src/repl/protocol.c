/* Encoding and decoding of the replication stream's messages (protocol.h). */
#include "repl/protocol.h"

#include <inttypes.h>
#include <string.h>

#include "util/crc32c.h"
#include "util/error.h"

void qx_repl_put_u16(qx_buffer *b, uint16_t v) {
  uint8_t p[2] = {(uint8_t)(v >> 8), (uint8_t)v};
  qx_buffer_put(b, p, sizeof p);
}

void qx_repl_put_u32(qx_buffer *b, uint32_t v) {
  uint8_t p[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
  qx_buffer_put(b, p, sizeof p);
}

void qx_repl_put_u64(qx_buffer *b, uint64_t v) {
  qx_repl_put_u32(b, (uint32_t)(v >> 32));
  qx_repl_put_u32(b, (uint32_t)v);
}

/* The checksum covers the header's fields as encoded (but the checksum) and the payload. */
static uint32_t entry_crc(const uint8_t *header, const void *data, uint32_t size) {
  uint32_t crc = qx_crc32c(0, header, QX_REPL_ENTRY_HEADER - 4);
  return qx_crc32c(crc, data, size);
}

void qx_repl_put_entry(qx_buffer *b, const qx_wal_entry *e) {
  size_t at = b->len;
  qx_repl_put_u64(b, e->lsn);
  qx_repl_put_u64(b, (uint64_t)e->ts_ns);
  qx_repl_put_u16(b, e->table_id);
  qx_repl_put_u16(b, e->schema_version);
  qx_repl_put_u32(b, e->size);
  qx_repl_put_u32(b, e->flags);
  if (b->failed) return;
  qx_repl_put_u32(b, entry_crc(b->p + at, e->data, e->size));
  qx_buffer_put(b, e->data, e->size);
}

void qx_repl_put_history(qx_buffer *b, const qx_epochs *h) {
  qx_repl_put_u64(b, qx_epochs_current(h));
  qx_repl_put_u32(b, h->count);
  for (uint32_t i = 0; i < h->count; i++) {
    qx_repl_put_u64(b, h->at[i].epoch);
    qx_repl_put_u64(b, h->at[i].first_lsn);
  }
}

const uint8_t *qx_repl_get_bytes(qx_repl_reader *r, size_t n) {
  if (r->short_read || (size_t)(r->end - r->p) < n) {
    r->short_read = 1;
    return NULL;
  }
  const uint8_t *at = r->p;
  r->p += n;
  return at;
}

uint16_t qx_repl_get_u16(qx_repl_reader *r) {
  const uint8_t *p = qx_repl_get_bytes(r, 2);
  return p ? (uint16_t)(p[0] << 8 | p[1]) : 0;
}

uint32_t qx_repl_get_u32(qx_repl_reader *r) {
  const uint8_t *p = qx_repl_get_bytes(r, 4);
  return p ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3] : 0;
}

uint64_t qx_repl_get_u64(qx_repl_reader *r) {
  uint64_t high = qx_repl_get_u32(r);
  return high << 32 | qx_repl_get_u32(r);
}

int qx_repl_get_entry(qx_repl_reader *r, qx_wal_entry *e) {
  const uint8_t *header = r->p;
  e->lsn = qx_repl_get_u64(r);
  e->ts_ns = (int64_t)qx_repl_get_u64(r);
  e->table_id = qx_repl_get_u16(r);
  e->schema_version = qx_repl_get_u16(r);
  e->size = qx_repl_get_u32(r);
  e->flags = qx_repl_get_u32(r);
  uint32_t crc = qx_repl_get_u32(r);
  e->data = qx_repl_get_bytes(r, e->size);
  if (r->short_read || e->size > QX_WAL_MAX_RECORD)
    return qx_fail(QX_ERR_CORRUPT,
                   "replication stream: the entry after LSN %" PRIu64 " is cut short", e->lsn - 1);
  if (entry_crc(header, e->data, e->size) != crc)
    return qx_fail(QX_ERR_CORRUPT, "replication stream: checksum mismatch in LSN %" PRIu64, e->lsn);
  return QX_OK;
}

int qx_repl_get_history(qx_repl_reader *r, qx_epochs *h) {
  uint64_t current = qx_repl_get_u64(r);
  uint32_t n = qx_repl_get_u32(r);
  if (n == 0 || n > QX_EPOCHS_MAX)
    return qx_fail(QX_ERR_FORMAT, "replication stream: a history of %" PRIu32 " epochs", n);
  h->count = n;
  for (uint32_t i = 0; i < n; i++) {
    h->at[i].epoch = qx_repl_get_u64(r);
    h->at[i].first_lsn = qx_repl_get_u64(r);
  }
  if (r->short_read || qx_epochs_current(h) != current)
    return qx_fail(QX_ERR_FORMAT, "replication stream: a malformed epoch history");
  return QX_OK;
}
