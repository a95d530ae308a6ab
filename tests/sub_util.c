/* Helpers shared by the subscriber tests (see sub_util.h). */
#include "sub_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "check.h"
#include "dist/ring.h"
#include "wal/format.h"

static char shm_folder[PATH_MAX];

void sub_test_private_shm(void) {
  snprintf(shm_folder, sizeof shm_folder, "/dev/shm/qaxdb-test-rings-XXXXXX");
  if (!mkdtemp(shm_folder)) {
    perror("mkdtemp /dev/shm");
    exit(2);
  }
  setenv("QAXDB_SHM_DIR", shm_folder, 1);
}

void sub_test_remove_shm(void) {
  test_rmtree(shm_folder);
}

qx_wal *sub_test_open_writer_sized(const char *dir, uint64_t segment_size) {
  char wal_dir[PATH_MAX + 8];
  snprintf(wal_dir, sizeof wal_dir, "%s/wal", dir);
  mkdir(wal_dir, 0755);
  qx_wal_options o;
  qx_wal_options_init(&o);
  o.segment_size = segment_size;
  o.ring_size = QX_RING_MIN_CAPACITY;
  qx_wal *wal = NULL;
  CHECK_OK(qx_wal_open(wal_dir, &o, &wal, NULL));
  if (!wal) exit(test_finish("sub_test_open_writer"));
  return wal;
}

qx_wal *sub_test_reopen_writer(const char *dir) {
  return sub_test_open_writer_sized(dir, 1u << 20);
}

qx_wal *sub_test_open_writer(char dir[PATH_MAX], const char *tag) {
  test_tmpdir(dir, tag);
  return sub_test_reopen_writer(dir);
}

int sub_test_append(qx_wal *wal, uint64_t first_lsn, uint64_t count) {
  uint8_t payload[TEST_PAYLOAD_MAX];
  for (uint64_t lsn = first_lsn; lsn < first_lsn + count; lsn++) {
    qx_wal_record r = {.table_id = lsn % 2 ? 1 : 2, .schema_version = 1, .data = payload};
    r.size = test_payload(0, lsn, payload);
    uint64_t got;
    int rc = qx_wal_append(wal, &r, QX_DURABILITY_NONE, &got);
    if (rc != QX_OK) return rc;
    CHECK_EQ_U64(got, lsn);
  }
  return QX_OK;
}

int sub_test_record_ok(const qx_wal_entry *e) {
  uint32_t stream;
  uint64_t seq;
  return test_payload_valid(e->data, e->size, &stream, &seq) && stream == 0 && seq == e->lsn &&
         e->table_id == (e->lsn % 2 ? 1 : 2);
}

uint64_t held_overwritten;

uint64_t sub_test_read(qx_sub *sub, uint64_t first_lsn, uint64_t count) {
  for (uint64_t i = 0; i < count; i++) {
    qx_wal_entry e;
    int rc = qx_sub_next(sub, &e, 10000000000);
    if (rc == QX_ERR_LAPPED) /* the record before, checked already, was overwritten since */
      rc = qx_sub_next(sub, &e, 10000000000);
    if (rc != QX_OK) {
      fprintf(stderr, "sub_test_read: LSN %llu: %s: %s\n", (unsigned long long)(first_lsn + i),
              qx_strerror(rc), qx_last_error());
      return i;
    }
    int ok = e.lsn == first_lsn + i && sub_test_record_ok(&e);
    if (!ok && e.lsn == first_lsn + i && !qx_sub_held_valid(sub)) {
      held_overwritten++; /* read too late, and the subscriber says so */
      continue;
    }
    if (!ok) {
      fprintf(stderr, "sub_test_read: expected LSN %llu, got %llu (payload %s)\n",
              (unsigned long long)(first_lsn + i), (unsigned long long)e.lsn,
              sub_test_record_ok(&e) ? "intact" : "wrong");
      return i;
    }
  }
  return count;
}

uint64_t sub_test_records_for(uint64_t bytes) {
  uint8_t payload[TEST_PAYLOAD_MAX];
  uint64_t n = 0;
  for (uint64_t sum = 0; sum < bytes; n++)
    sum += wal_entry_span(test_payload(0, n + 1, payload));
  return n;
}
