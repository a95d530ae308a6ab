/* A subscriber's reads of the WAL segment files: when the ring no longer holds (or does not
 * yet hold) the next LSN, records are copied from the files into a buffer, in bounded chunks,
 * and handed out from there. */
#include <stdlib.h>
#include <string.h>

#include "dist/sub_filter.h"
#include "dist/sub_impl.h"
#include "util/error.h"
#include "wal/scan.h"

#define WAL_BUFFER_BYTES (4u << 20) /* records copied per read of the segment files */

/* A record read from the segment files, copied: its fields, then the payload. */
typedef struct buffered {
  qx_wal_entry entry;
  uint8_t payload[];
} buffered;

typedef struct wal_read {
  qx_sub *sub;
  uint64_t expect; /* the LSN the next visited entry must have */
  int gap;
} wal_read;

static size_t buffered_size(uint32_t payload) {
  return (sizeof(buffered) + payload + 7) & ~(size_t)7;
}

static int copy_entry(const qx_wal_entry *e, void *ctx) {
  wal_read *rd = ctx;
  qx_sub *s = rd->sub;
  if (e->lsn != rd->expect) {
    rd->gap = 1;
    return 1;
  }
  rd->expect++;
  s->buf_next_lsn = e->lsn + 1;
  if (!qx_sub_filter_match(&s->opt, e)) return 0;
  size_t need = buffered_size(e->size);
  if (s->buf_len + need > WAL_BUFFER_BYTES && s->buf_len > 0) {
    s->buf_next_lsn = e->lsn; /* not taken: the next read starts with it */
    return 1;
  }
  buffered *b = (buffered *)(s->buf + s->buf_len);
  b->entry = *e;
  memcpy(b->payload, e->data, e->size);
  b->entry.data = b->payload;
  s->buf_len += need;
  return e->size > WAL_BUFFER_BYTES ? 1 : 0;
}

int qx_sub_read_files(qx_sub *s, uint64_t to_lsn) {
  if (!s->buf && !(s->buf = malloc(WAL_BUFFER_BYTES + buffered_size(QX_WAL_MAX_RECORD))))
    return qx_fail(QX_ERR_NOMEM, "subscriber buffer");
  s->buf_len = s->buf_at = 0;
  s->buf_next_lsn = s->next_lsn;
  s->buf_read = 1;
  wal_read rd = {s, s->next_lsn, 0};
  wal_scan_result r;
  int rc = qx_wal_scan_dir(s->wal_dir, s->next_lsn, to_lsn, copy_entry, &rd, 0, &r);
  if (rc == 1) rc = QX_OK; /* the buffer filled up */
  if (rc == QX_OK && (rd.gap || (to_lsn != UINT64_MAX && s->buf_next_lsn == s->next_lsn)))
    rc = qx_fail(QX_ERR_NOT_FOUND,
                 "%s: LSN %llu is no longer in the WAL (a checkpoint trimmed it; oldest kept: "
                 "%llu)",
                 s->wal_dir, (unsigned long long)s->next_lsn, (unsigned long long)r.first_lsn);
  return rc;
}

int qx_sub_take_buffered(qx_sub *s, qx_wal_entry *record) {
  if (s->buf_at < s->buf_len) {
    buffered *b = (buffered *)(s->buf + s->buf_at);
    s->buf_at += buffered_size(b->entry.size);
    *record = b->entry;
    s->next_lsn = b->entry.lsn + 1;
    s->stats.records_from_wal++;
    return 1;
  }
  if (s->buf_read) s->next_lsn = s->buf_next_lsn; /* past what the filters left out */
  s->buf_read = 0;
  s->buf_len = s->buf_at = 0;
  return 0;
}
