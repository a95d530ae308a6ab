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

/* Batches that a reader can tell whole from cut: entry i of batch `batch` (len entries, at most
 * TEST_BATCH_MAX) of writer w carries test_payload(w << 16 | len, batch << 16 | i). */
#define TEST_BATCH_MAX 1000u

typedef struct test_batch {
  uint32_t writer, len;
  uint64_t batch;
  uint64_t last_lsn; /* set when appended */
} test_batch;

/* Appends b as one qx_wal_append_batch (one qx_wal_append if it has one entry). */
int test_append_batch(qx_wal *wal, test_batch *b, qx_durability durability);

/* What a checking replay of a log of batches found: LSNs, payloads, whole batches, and which
 * entry sits at each LSN (for checking acknowledged batches). */
typedef struct test_batch_log {
  test_replay replay;
  uint64_t partial_batches; /* batches not whole: cut, or interleaved with another */
  uint64_t capacity;        /* of entry_at */
  uint64_t *entry_at;       /* [lsn] = test_entry_key of the entry there; 0: none */
  uint64_t open_key;        /* the batch being read: key of its next entry; 0: none */
  uint32_t open_left;       /* entries it still lacks */
} test_batch_log;

uint64_t test_entry_key(uint32_t writer, uint64_t batch, uint32_t index);

/* Replays the whole log (qx_wal_replay from LSN 1) into log, which the caller frees with
 * test_batch_log_free. Returns the replay's status. */
int test_batch_log_read(qx_wal *wal, test_batch_log *log);
/* The same through qx_wal_scan of a closed log. */
int test_batch_log_scan(const char *dir, test_batch_log *log);
/* The same through a qx_wal_reader from LSN 1 up to the last LSN. */
int test_batch_log_follow(qx_wal *wal, test_batch_log *log);
void test_batch_log_free(test_batch_log *log);

/* 1 if every entry of b is in log at the LSNs it was acknowledged with. */
int test_batch_log_has(const test_batch_log *log, const test_batch *b);

#endif
