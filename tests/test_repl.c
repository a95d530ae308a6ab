/* The pieces of replication below the network (src/repl, lsm/engine.h): the EPOCHS file (its
 * checksum catching damage, with the file and line named) and the prefix check that tells a
 * replica it diverged; the stream's entries (a flipped byte or a cut entry refused, naming the
 * LSN); and the engine's side: a replicated batch only at the next LSN, with the primary's LSNs
 * and timestamps, while callers' writes are refused; `replicated` durability refused without
 * replication. */
#include <sys/stat.h>

#include "check.h"
#include "lsm/engine.h"
#include "lsm/wal_codec.h"
#include "qaxdb/db.h"
#include "qaxdb/key.h"
#include "qaxdb/records.h"
#include "qaxdb/schema.h"
#include "repl/epochs.h"
#include "repl/protocol.h"

static char dir[PATH_MAX];

static void test_epochs_file(void) {
  char folder[PATH_MAX], path[PATH_MAX];
  test_join(folder, dir, "epochs");
  CHECK(mkdir(folder, 0755) == 0);
  qx_epochs h;
  CHECK_OK(qx_epochs_load(folder, &h)); /* none yet: epoch 1 from LSN 1 */
  CHECK_EQ_U64(h.count, 1);
  CHECK_EQ_U64(qx_epochs_current(&h), 1);
  CHECK_OK(qx_epochs_begin(&h, 3, 101));
  CHECK_RC(qx_epochs_begin(&h, 3, 200), QX_ERR_INVALID_ARG); /* not a later epoch */
  CHECK_RC(qx_epochs_begin(&h, 4, 50), QX_ERR_INVALID_ARG);  /* an LSN going back */
  CHECK_OK(qx_epochs_save(folder, &h));
  qx_epochs back;
  CHECK_OK(qx_epochs_load(folder, &back));
  CHECK_EQ_U64(back.count, 2);
  CHECK_EQ_U64(back.at[1].epoch, 3);
  CHECK_EQ_U64(back.at[1].first_lsn, 101);
  test_join(path, folder, QX_EPOCHS_FILE);
  test_flip_byte(path, 4); /* "1 1\n3 101" -> a digit of the second line changes */
  CHECK_RC(qx_epochs_load(folder, &back), QX_ERR_CORRUPT);
  CHECK(strstr(qx_last_error(), path) != NULL && strstr(qx_last_error(), "line") != NULL);
}

static void test_prefix(void) {
  qx_epochs h = {.count = 1, .at = {{1, 1}}};
  CHECK_OK(qx_epochs_begin(&h, 2, 101));
  CHECK_OK(qx_epochs_begin(&h, 5, 201));
  CHECK(qx_epochs_has_prefix(&h, 1, 1, 100));  /* ended where epoch 2 began */
  CHECK(!qx_epochs_has_prefix(&h, 1, 1, 101)); /* wrote past the end of its epoch */
  CHECK(qx_epochs_has_prefix(&h, 2, 101, 200));
  CHECK(qx_epochs_has_prefix(&h, 5, 201, 999));  /* the current epoch: any length */
  CHECK(!qx_epochs_has_prefix(&h, 2, 100, 150)); /* that epoch began elsewhere */
  CHECK(!qx_epochs_has_prefix(&h, 3, 150, 160)); /* an epoch this history never had */
}

static void test_entries(void) {
  char payload[40] = "an order, say";
  qx_wal_entry e = {7, 123456789, 3, 1, sizeof payload, payload, QX_WAL_BATCH_CONTINUES};
  qx_buffer b = {0};
  qx_repl_put_entry(&b, &e);
  e.lsn = 8;
  e.flags = 0;
  qx_repl_put_entry(&b, &e);
  CHECK(!b.failed && b.len == 2 * (QX_REPL_ENTRY_HEADER + sizeof payload));
  qx_repl_reader rd = {b.p, b.p + b.len, 0};
  qx_wal_entry got;
  CHECK_OK(qx_repl_get_entry(&rd, &got));
  CHECK(got.lsn == 7 && got.ts_ns == 123456789 && got.table_id == 3 && got.schema_version == 1 &&
        got.size == sizeof payload && got.flags == QX_WAL_BATCH_CONTINUES &&
        memcmp(got.data, payload, sizeof payload) == 0);
  CHECK_OK(qx_repl_get_entry(&rd, &got));
  CHECK(got.lsn == 8 && got.flags == 0 && rd.p == rd.end);
  b.p[QX_REPL_ENTRY_HEADER + 3] ^= 0x40; /* a payload byte of LSN 7 */
  rd = (qx_repl_reader){b.p, b.p + b.len, 0};
  CHECK_RC(qx_repl_get_entry(&rd, &got), QX_ERR_CORRUPT);
  CHECK(strstr(qx_last_error(), "LSN 7") != NULL);
  rd = (qx_repl_reader){b.p + QX_REPL_ENTRY_HEADER + sizeof payload, b.p + b.len - 1, 0};
  CHECK_RC(qx_repl_get_entry(&rd, &got), QX_ERR_CORRUPT); /* cut short */
  qx_buffer_free(&b);
}

static void instrument(qx_instrument *in, const char *id) {
  memset(in, 0, sizeof *in);
  snprintf(in->instrument_id, sizeof in->instrument_id, "%s", id);
  snprintf(in->exchange, sizeof in->exchange, "TEST");
  in->price_tick = 1;
  in->multiplier = 1;
}

static int keep_ts(const qx_wal_entry *e, void *ctx) {
  if (e->lsn <= 3) ((int64_t *)ctx)[e->lsn - 1] = e->ts_ns;
  return 0;
}

static void test_engine(void) {
  char folder[PATH_MAX];
  test_join(folder, dir, "db");
  qx_db *db;
  CHECK_OK(qx_db_open(folder, NULL, &db, NULL));
  qx_instrument a, b;
  instrument(&a, "A");
  instrument(&b, "B");
  qx_wal_record r[2];
  CHECK_OK(qx_record_to_wal(QX_TABLE_INSTRUMENTS, &a, &r[0]));
  CHECK_OK(qx_record_to_wal(QX_TABLE_INSTRUMENTS, &b, &r[1]));
  r[0].ts_ns = r[1].ts_ns = 1700000000123456789;
  CHECK_RC(qx_db_put_record(db, QX_TABLE_INSTRUMENTS, &a, QX_DURABILITY_REPLICATED, NULL),
           QX_ERR_INVALID_ARG);
  qx_db_refuse_writes(db, "this node is a replica; the primary is elsewhere");
  CHECK_RC(qx_db_put_record(db, QX_TABLE_INSTRUMENTS, &a, QX_DURABILITY_GROUP, NULL),
           QX_ERR_DENIED);
  CHECK(strstr(qx_last_error(), "the primary is elsewhere") != NULL);
  CHECK_RC(qx_db_apply_replicated(db, 2, r, 2), QX_ERR_INVALID_ARG); /* LSN 1 is due */
  CHECK(strstr(qx_last_error(), "starts at LSN 2") != NULL);
  CHECK_OK(qx_db_apply_replicated(db, 1, r, 2));
  CHECK_EQ_U64(qx_db_last_lsn(db), 2);
  qx_db_value v;
  uint8_t key[QX_KEY_MAX];
  size_t key_len = qx_key_encode(qx_schema_by_id(QX_TABLE_INSTRUMENTS), &b, key);
  CHECK_OK(qx_db_get(db, NULL, key, key_len, &v));
  CHECK_EQ_U64(v.lsn, 2);
  qx_db_value_release(&v);
  qx_db_refuse_writes(db, NULL);
  uint64_t lsn = 0;
  CHECK_OK(qx_db_put_record(db, QX_TABLE_INSTRUMENTS, &a, QX_DURABILITY_GROUP, &lsn));
  CHECK_EQ_U64(lsn, 3);
  CHECK_OK(qx_db_close(db));
  char wal[PATH_MAX];
  test_join(wal, folder, "wal");
  int64_t ts[3] = {0};
  CHECK_OK(qx_wal_scan(wal, 1, keep_ts, ts, NULL));
  CHECK(ts[0] == 1700000000123456789 && ts[1] == 1700000000123456789 && ts[2] != ts[1]);
}

int main(void) {
  test_tmpdir(dir, "repl");
  test_epochs_file();
  test_prefix();
  test_entries();
  test_engine();
  test_rmtree(dir);
  return test_finish("test_repl");
}
