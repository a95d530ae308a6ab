/* Shared WAL test helpers (see wal_util.h). */
#include "wal_util.h"

#include <stdlib.h>
#include <string.h>

static uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

static uint32_t payload_size(uint64_t seq) {
  return 16 + (uint32_t)(mix(seq) % (TEST_PAYLOAD_MAX - 16 + 1));
}

uint32_t test_payload(uint32_t stream, uint64_t seq, uint8_t out[TEST_PAYLOAD_MAX]) {
  uint32_t size = payload_size(seq);
  memcpy(out, &stream, 4);
  memcpy(out + 4, &size, 4);
  memcpy(out + 8, &seq, 8);
  for (uint32_t i = 16; i < size; i++)
    out[i] = (uint8_t)mix(seq * 1031 + stream * 7 + i);
  return size;
}

int test_payload_valid(const void *data, uint32_t size, uint32_t *stream, uint64_t *seq) {
  uint8_t expected[TEST_PAYLOAD_MAX];
  if (size < 16 || size > TEST_PAYLOAD_MAX) return 0;
  memcpy(stream, data, 4);
  memcpy(seq, (const uint8_t *)data + 8, 8);
  return test_payload(*stream, *seq, expected) == size && memcmp(expected, data, size) == 0;
}

int test_replay_visit(const qx_wal_entry *e, void *ctx) {
  test_replay *r = ctx;
  if (r->count == 0)
    r->first_lsn = e->lsn;
  else if (e->lsn != r->last_lsn + 1)
    r->gaps++;
  r->last_lsn = e->lsn;
  r->count++;
  uint32_t stream;
  uint64_t seq;
  if (!test_payload_valid(e->data, e->size, &stream, &seq)) r->bad_payload++;
  return 0;
}

int test_append_n(qx_wal *wal, uint64_t first_seq, uint64_t count, qx_durability durability) {
  uint8_t buf[TEST_PAYLOAD_MAX];
  for (uint64_t s = first_seq; s < first_seq + count; s++) {
    qx_wal_record rec = {1, 1, test_payload(0, s, buf), 0, buf};
    int rc = qx_wal_append(wal, &rec, durability, NULL);
    if (rc != QX_OK) return rc;
  }
  return QX_OK;
}

int test_append_batch(qx_wal *wal, test_batch *b, qx_durability durability) {
  uint8_t(*bufs)[TEST_PAYLOAD_MAX] = malloc(b->len * sizeof *bufs);
  qx_wal_record *records = malloc(b->len * sizeof *records);
  int rc = QX_ERR_NOMEM;
  if (bufs && records && b->len <= TEST_BATCH_MAX) {
    for (uint32_t i = 0; i < b->len; i++) {
      uint32_t size = test_payload(b->writer << 16 | b->len, b->batch << 16 | i, bufs[i]);
      records[i] = (qx_wal_record){1, 1, size, 0, bufs[i]};
    }
    rc = b->len == 1 ? qx_wal_append(wal, records, durability, &b->last_lsn)
                     : qx_wal_append_batch(wal, records, b->len, durability, &b->last_lsn);
  }
  free(bufs);
  free(records);
  return rc;
}

uint64_t test_entry_key(uint32_t writer, uint64_t batch, uint32_t index) {
  return (uint64_t)(writer + 1) << 56 | batch << 16 | index;
}

static int log_visit(const qx_wal_entry *e, void *ctx) {
  test_batch_log *log = ctx;
  test_replay_visit(e, &log->replay);
  uint32_t stream;
  uint64_t seq;
  if (!test_payload_valid(e->data, e->size, &stream, &seq)) return 0;
  uint32_t len = stream & 0xFFFF, index = (uint32_t)(seq & 0xFFFF);
  uint64_t key = test_entry_key(stream >> 16, seq >> 16, index);
  if (log->open_left && key != log->open_key) { /* the open batch was cut */
    log->partial_batches++;
    log->open_left = 0;
  }
  if (!log->open_left && index != 0) log->partial_batches++; /* a batch without its start */
  if (!log->open_left) log->open_left = len - index;
  log->open_key = key + 1;
  log->open_left--;
  if (e->lsn >= log->capacity) {
    uint64_t cap = log->capacity ? log->capacity : 1024;
    while (cap <= e->lsn)
      cap *= 2;
    uint64_t *grown = realloc(log->entry_at, cap * sizeof *grown);
    if (!grown) return 1;
    memset(grown + log->capacity, 0, (cap - log->capacity) * sizeof *grown);
    log->entry_at = grown;
    log->capacity = cap;
  }
  log->entry_at[e->lsn] = key;
  return 0;
}

static void log_end(test_batch_log *log) {
  if (log->open_left) log->partial_batches++;
  log->open_left = 0;
}

int test_batch_log_read(qx_wal *wal, test_batch_log *log) {
  memset(log, 0, sizeof *log);
  int rc = qx_wal_replay(wal, 1, log_visit, log);
  log_end(log);
  return rc;
}

int test_batch_log_scan(const char *dir, test_batch_log *log) {
  memset(log, 0, sizeof *log);
  int rc = qx_wal_scan(dir, 1, log_visit, log, NULL);
  log_end(log);
  return rc;
}

int test_batch_log_follow(qx_wal *wal, test_batch_log *log) {
  memset(log, 0, sizeof *log);
  qx_wal_reader *reader;
  int rc = qx_wal_reader_open(wal, 1, &reader);
  if (rc != QX_OK) return rc;
  rc = qx_wal_reader_read(reader, UINT64_MAX, log_visit, log);
  qx_wal_reader_close(reader);
  log_end(log);
  return rc;
}

void test_batch_log_free(test_batch_log *log) {
  free(log->entry_at);
  log->entry_at = NULL;
  log->capacity = 0;
}

int test_batch_log_has(const test_batch_log *log, const test_batch *b) {
  uint64_t first = b->last_lsn + 1 - b->len;
  if (b->last_lsn >= log->capacity || b->last_lsn < b->len) return 0;
  for (uint32_t i = 0; i < b->len; i++)
    if (log->entry_at[first + i] != test_entry_key(b->writer, b->batch, i)) return 0;
  return 1;
}
