/* Helpers shared by the WAL tests: deterministic payloads that can be verified after reading
 * them back, and a replay visitor that checks LSN continuity and content. */
#ifndef QX_TESTS_WAL_UTIL_H
#define QX_TESTS_WAL_UTIL_H

#include <stdint.h>

#include "qaxdb/wal.h"

#define TEST_PAYLOAD_MAX 512

/* Fills out with the payload of (stream, seq): a 16-byte identity then derived bytes; returns
 * its size (16..TEST_PAYLOAD_MAX, varying with seq). */
uint32_t test_payload(uint32_t stream, uint64_t seq, uint8_t out[TEST_PAYLOAD_MAX]);

/* Checks that data is an intact payload made by test_payload; stores its identity. */
int test_payload_valid(const void *data, uint32_t size, uint32_t *stream, uint64_t *seq);

/* What a checking replay saw. */
typedef struct test_replay {
  uint64_t count;
  uint64_t first_lsn, last_lsn;
  uint64_t gaps;        /* LSNs not exactly previous + 1 */
  uint64_t bad_payload; /* entries whose payload is not intact */
} test_replay;

/* Visitor for qx_wal_replay / qx_wal_scan filling a test_replay (zeroed by the caller). */
int test_replay_visit(const qx_wal_entry *entry, void *ctx);

/* Appends count payloads of stream 0 with seq = first_seq.. as single appends. */
int test_append_n(qx_wal *wal, uint64_t first_seq, uint64_t count, qx_durability durability);

#endif
