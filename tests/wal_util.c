/* Shared WAL test helpers (see wal_util.h). */
#include "wal_util.h"

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
