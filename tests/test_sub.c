/* Subscribers and the log ring: start positions, filters, a subscriber the writer laps (it goes
 * on from the WAL files with no gap), a record overwritten while held, a damaged frame, the
 * writer's heartbeat, and a writer that dies and restarts. The cross-process cases are in
 * test_sub_procs.c. */
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "dist/ring.h"
#include "qaxdb/db.h"
#include "qaxdb/records.h"
#include "qaxdb/schema.h"
#include "qaxdb/sub.h"
#include "qaxdb/wal.h"
#include "sub_util.h"
#include "util/clock.h"
#include "wal/format.h"

/* The end of most cases: the subscriber, the writer and the folder go. */
static void close_all(qx_sub *sub, qx_wal *wal, const char *dir) {
  qx_sub_close(sub);
  CHECK_OK(qx_wal_close(wal));
  test_rmtree(dir);
}

static void test_starts_and_filters(void) {
  char dir[PATH_MAX];
  qx_wal *wal = sub_test_open_writer(dir, "sub-starts");
  CHECK_OK(sub_test_append(wal, 1, 10));
  qx_sub *live, *oldest, *from, *table2;
  qx_sub_options o;
  qx_sub_options_init(&o);
  CHECK_OK(qx_sub_open(dir, &o, &live));
  o.start = QX_SUB_OLDEST;
  CHECK_OK(qx_sub_open(dir, &o, &oldest));
  o.start = QX_SUB_FROM_LSN;
  o.from_lsn = 5;
  CHECK_OK(qx_sub_open(dir, &o, &from));
  o.from_lsn = 12;
  qx_sub *beyond;
  CHECK_RC(qx_sub_open(dir, &o, &beyond), QX_ERR_NOT_FOUND);
  o.start = QX_SUB_OLDEST;
  o.table_id = 2;
  CHECK_OK(qx_sub_open(dir, &o, &table2));

  qx_wal_entry e;
  CHECK_RC(qx_sub_next(live, &e, 0), QX_ERR_TIMEOUT);
  CHECK_OK(sub_test_append(wal, 11, 90));
  CHECK_EQ_U64(sub_test_read(live, 11, 90), 90);
  CHECK_EQ_U64(sub_test_read(oldest, 1, 100), 100);
  CHECK_EQ_U64(sub_test_read(from, 5, 96), 96);
  for (uint64_t lsn = 2; lsn <= 100; lsn += 2) { /* sub_test_append: even LSNs are table 2 */
    CHECK_OK(qx_sub_next(table2, &e, 1000000000));
    CHECK_EQ_U64(e.lsn, lsn);
    CHECK_EQ_U64(e.table_id, 2);
  }
  CHECK_RC(qx_sub_next(table2, &e, 0), QX_ERR_TIMEOUT);
  qx_sub_status st;
  qx_sub_get_status(live, &st);
  CHECK(st.writer_alive);
  CHECK_EQ_U64(st.writer_last_lsn, 100);
  CHECK_EQ_U64(st.next_lsn, 101);
  CHECK_EQ_U64(st.records_from_wal, 0); /* all from the ring */
  qx_sub_close(live);
  qx_sub_close(oldest);
  qx_sub_close(from);
  qx_sub_close(table2);
  CHECK_OK(qx_wal_close(wal));
  test_rmtree(dir);
}

static void append_typed(qx_wal *wal, uint16_t table, const void *record, uint32_t size) {
  qx_wal_record r = {table, (uint16_t)qx_schema_version_of_size(qx_schema_by_id(table), size), size,
                     0, record};
  CHECK_OK(qx_wal_append(wal, &r, QX_DURABILITY_NONE, NULL));
}

/* Filters by instrument and account read the records' columns. */
static void test_instrument_and_account(void) {
  char dir[PATH_MAX];
  qx_wal *wal = sub_test_open_writer(dir, "sub-columns");
  qx_sub_options o;
  qx_sub_options_init(&o);
  o.start = QX_SUB_OLDEST;
  snprintf(o.instrument, sizeof o.instrument, "rb2501");
  qx_sub *rb;
  CHECK_OK(qx_sub_open(dir, &o, &rb));
  qx_sub_options_init(&o);
  o.start = QX_SUB_OLDEST;
  snprintf(o.account, sizeof o.account, "acct7");
  qx_sub *acct7;
  CHECK_OK(qx_sub_open(dir, &o, &acct7));
  qx_order order = {.order_id = 1};
  memcpy(order.account_id, "acct7", 5);
  memcpy(order.instrument_id, "rb2501", 6);
  append_typed(wal, QX_TABLE_ORDERS, &order, sizeof order); /* LSN 1: both */
  memcpy(order.instrument_id, "rb25010", 7);                /* a longer name: neither... */
  memcpy(order.account_id, "acct70", 6);
  append_typed(wal, QX_TABLE_ORDERS, &order, sizeof order); /* LSN 2 */
  qx_trade trade = {.trade_id = 9};
  memcpy(trade.instrument_id, "rb2501", 6);
  memcpy(trade.sell_account_id, "acct7", 5);
  append_typed(wal, QX_TABLE_TRADES, &trade, sizeof trade); /* LSN 3: both (the seller) */
  CHECK_OK(sub_test_append(wal, 4, 1)); /* LSN 4: not a known record layout: neither */
  qx_wal_entry e;
  CHECK_OK(qx_sub_next(rb, &e, 1000000000));
  CHECK_EQ_U64(e.lsn, 1);
  CHECK_OK(qx_sub_next(rb, &e, 1000000000));
  CHECK_EQ_U64(e.lsn, 3);
  CHECK_RC(qx_sub_next(rb, &e, 0), QX_ERR_TIMEOUT);
  CHECK_OK(qx_sub_next(acct7, &e, 1000000000));
  CHECK_EQ_U64(e.lsn, 1);
  CHECK_OK(qx_sub_next(acct7, &e, 1000000000));
  CHECK_EQ_U64(e.lsn, 3);
  CHECK_EQ_U64(e.table_id, QX_TABLE_TRADES);
  CHECK_RC(qx_sub_next(acct7, &e, 0), QX_ERR_TIMEOUT);
  qx_sub_close(rb);
  qx_sub_close(acct7);
  CHECK_OK(qx_wal_close(wal));
  test_rmtree(dir);
}

/* The writer writes three rings' worth while the subscriber sleeps: it reads the lost part from
 * the segment files, then rejoins the ring. */
static void test_lapped(void) {
  char dir[PATH_MAX];
  qx_wal *wal = sub_test_open_writer(dir, "sub-lapped");
  qx_sub *sub;
  CHECK_OK(qx_sub_open(dir, NULL, &sub));
  uint64_t n = sub_test_records_for(3 * QX_RING_MIN_CAPACITY);
  CHECK_OK(sub_test_append(wal, 1, n));
  CHECK_EQ_U64(sub_test_read(sub, 1, n), n);
  qx_sub_status st;
  qx_sub_get_status(sub, &st);
  CHECK(st.laps >= 1);
  CHECK(st.records_from_wal > 0);
  uint64_t from_wal = st.records_from_wal;
  CHECK_OK(sub_test_append(wal, n + 1, 100));
  CHECK_EQ_U64(sub_test_read(sub, n + 1, 100), 100);
  qx_sub_get_status(sub, &st);
  CHECK_EQ_U64(st.records_from_wal, from_wal); /* back in the ring */
  close_all(sub, wal, dir);
}

/* A record held while the writer overwrites it is reported by the next call, which then goes on
 * with the record after it. */
static void test_overwritten_while_held(void) {
  char dir[PATH_MAX];
  qx_wal *wal = sub_test_open_writer(dir, "sub-held");
  qx_sub *sub;
  CHECK_OK(qx_sub_open(dir, NULL, &sub));
  CHECK_OK(sub_test_append(wal, 1, 1));
  qx_wal_entry e;
  CHECK_OK(qx_sub_next(sub, &e, 1000000000));
  uint64_t n = sub_test_records_for(2 * QX_RING_MIN_CAPACITY);
  CHECK_OK(sub_test_append(wal, 2, n));
  CHECK_RC(qx_sub_next(sub, &e, 0), QX_ERR_LAPPED);
  CHECK(strstr(qx_last_error(), "LSN 1 ") != NULL);
  CHECK_EQ_U64(sub_test_read(sub, 2, n), n);
  close_all(sub, wal, dir);
}

/* A damaged frame in the ring is named (ring, position, LSN) and never handed out. */
static void test_damaged_frame(void) {
  char dir[PATH_MAX], wal_dir[PATH_MAX + 8], ring_path[PATH_MAX];
  qx_wal *wal = sub_test_open_writer(dir, "sub-damaged");
  qx_sub *sub;
  CHECK_OK(qx_sub_open(dir, NULL, &sub));
  CHECK_OK(sub_test_append(wal, 1, 3));
  snprintf(wal_dir, sizeof wal_dir, "%s/wal", dir);
  CHECK_OK(qx_ring_path(wal_dir, ring_path, sizeof ring_path));
  /* the second frame's payload: the first frame's span further on */
  uint8_t payload[TEST_PAYLOAD_MAX];
  uint64_t second = wal_entry_span(test_payload(0, 1, payload));
  test_flip_byte(ring_path, QX_RING_HEADER_SIZE + second + WAL_ENTRY_HEADER_SIZE + 3);
  qx_wal_entry e;
  CHECK_OK(qx_sub_next(sub, &e, 1000000000));
  CHECK_EQ_U64(e.lsn, 1);
  CHECK_RC(qx_sub_next(sub, &e, 0), QX_ERR_CORRUPT);
  CHECK(strstr(qx_last_error(), ring_path) && strstr(qx_last_error(), "LSN 2"));
  CHECK_RC(qx_sub_next(sub, &e, 0), QX_ERR_CORRUPT); /* still not handed out */
  close_all(sub, wal, dir);
}

/* A clean close is seen at once; the next writer's records follow without a gap. */
static void test_writer_restart(void) {
  char dir[PATH_MAX];
  qx_wal *wal = sub_test_open_writer(dir, "sub-restart");
  qx_sub *sub;
  CHECK_OK(qx_sub_open(dir, NULL, &sub));
  CHECK_OK(sub_test_append(wal, 1, 20));
  CHECK_OK(qx_wal_close(wal));
  qx_sub_status st;
  qx_sub_get_status(sub, &st);
  CHECK(!st.writer_alive);
  CHECK_EQ_U64(sub_test_read(sub, 1, 20), 20);
  wal = sub_test_reopen_writer(dir);
  CHECK_OK(sub_test_append(wal, 21, 20));
  CHECK_EQ_U64(sub_test_read(sub, 21, 20), 20);
  qx_sub_get_status(sub, &st);
  CHECK(st.writer_alive);
  CHECK_EQ_U64(st.writer_restarts, 1);
  close_all(sub, wal, dir);
}

/* Without a writer a subscriber reads the log as the files hold it. */
static void test_no_writer(void) {
  char dir[PATH_MAX];
  qx_wal *wal = sub_test_open_writer(dir, "sub-nowriter");
  CHECK_OK(sub_test_append(wal, 1, 50));
  CHECK_OK(qx_wal_close(wal));
  qx_sub_options o;
  qx_sub_options_init(&o);
  o.start = QX_SUB_OLDEST;
  qx_sub *sub;
  CHECK_OK(qx_sub_open(dir, &o, &sub));
  CHECK_EQ_U64(sub_test_read(sub, 1, 50), 50);
  qx_wal_entry e;
  CHECK_RC(qx_sub_next(sub, &e, 0), QX_ERR_TIMEOUT);
  qx_sub_status st;
  qx_sub_get_status(sub, &st);
  CHECK(!st.writer_alive);
  CHECK_EQ_U64(st.heartbeat_age_ns, (uint64_t)-1);
  qx_sub_close(sub);
  test_rmtree(dir);
}

static int find_cursor(const qx_sub_cursor_info *info, void *ctx) {
  qx_sub_cursor_info *found = ctx;
  if (strcmp(info->name, "risk") == 0) *found = (qx_sub_cursor_info){"risk", info->acked_lsn, 1};
  return 0;
}

/* A named cursor resumes after its last acknowledgement, whatever the start option says. */
static void test_cursor_resume(void) {
  char dir[PATH_MAX];
  qx_wal *wal = sub_test_open_writer(dir, "sub-cursor");
  CHECK_OK(sub_test_append(wal, 1, 100));
  qx_sub_options o;
  qx_sub_options_init(&o);
  o.start = QX_SUB_OLDEST;
  snprintf(o.cursor, sizeof o.cursor, "risk");
  qx_sub *sub;
  CHECK_OK(qx_sub_open(dir, &o, &sub));
  CHECK_EQ_U64(sub_test_read(sub, 1, 40), 40);
  CHECK_RC(qx_sub_ack(sub, 41), QX_ERR_INVALID_ARG); /* not read yet */
  CHECK_OK(qx_sub_ack(sub, 40));
  qx_sub_close(sub);
  qx_sub_cursor_info found = {NULL, 0, 0};
  CHECK_OK(qx_sub_list_cursors(dir, find_cursor, &found));
  CHECK_EQ_U64(found.acked_lsn, 40);
  o.start = QX_SUB_LIVE;
  CHECK_OK(qx_sub_open(dir, &o, &sub));
  CHECK_EQ_U64(sub_test_read(sub, 41, 60), 60);
  qx_sub_close(sub);
  snprintf(o.cursor, sizeof o.cursor, "../escape");
  CHECK_RC(qx_sub_open(dir, &o, &sub), QX_ERR_INVALID_ARG);
  CHECK_OK(qx_sub_delete_cursor(dir, "risk"));
  CHECK_RC(qx_sub_delete_cursor(dir, "risk"), QX_ERR_NOT_FOUND);
  CHECK_OK(qx_wal_close(wal));
  test_rmtree(dir);
}

/* A checkpoint keeps the segments a cursor needs, up to cursor_retention_bytes of them. */
static void test_cursor_retention(void) {
  char dir[PATH_MAX], wal_dir[PATH_MAX + 8];
  qx_wal *wal = sub_test_open_writer(dir, "sub-retention");
  uint64_t n = sub_test_records_for(6u << 20); /* six 1 MiB segments */
  CHECK_OK(sub_test_append(wal, 1, n));
  qx_sub_options o;
  qx_sub_options_init(&o);
  o.start = QX_SUB_OLDEST;
  snprintf(o.cursor, sizeof o.cursor, "risk");
  qx_sub *sub;
  CHECK_OK(qx_sub_open(dir, &o, &sub));
  CHECK_EQ_U64(sub_test_read(sub, 1, 10), 10);
  CHECK_OK(qx_sub_ack(sub, 10));
  qx_sub_close(sub);
  CHECK_OK(qx_wal_checkpoint(wal, n));
  CHECK_OK(qx_sub_open(dir, &o, &sub)); /* LSN 11 is still there */
  CHECK_EQ_U64(sub_test_read(sub, 11, 10), 10);
  qx_sub_close(sub);
  CHECK_OK(qx_wal_close(wal));
  /* A writer allowed to keep one segment for cursors drops the ones LSN 11 needs. */
  snprintf(wal_dir, sizeof wal_dir, "%s/wal", dir);
  qx_wal_options wo;
  qx_wal_options_init(&wo);
  wo.segment_size = 1u << 20;
  wo.cursor_retention_bytes = 1u << 20;
  wo.ring_size = QX_RING_MIN_CAPACITY;
  CHECK_OK(qx_wal_open(wal_dir, &wo, &wal, NULL));
  CHECK_OK(qx_wal_checkpoint(wal, n));
  CHECK_RC(qx_sub_open(dir, &o, &sub), QX_ERR_NOT_FOUND);
  CHECK(strstr(qx_last_error(), "LSN 11 is not in the log") != NULL);
  CHECK_OK(qx_wal_close(wal));
  test_rmtree(dir);
}

/* A delayed subscriber hands out a window's records only after the window has closed. */
static void test_delayed(void) {
  char dir[PATH_MAX];
  qx_wal *wal = sub_test_open_writer(dir, "sub-delayed");
  qx_sub_options o;
  qx_sub_options_init(&o);
  o.delay_ms = 200;
  qx_sub *sub;
  CHECK_OK(qx_sub_open(dir, &o, &sub));
  CHECK_OK(sub_test_append(wal, 1, 10));
  int64_t opened = qx_monotonic_ns(); /* the first call opens a window: LSNs 1..10 */
  CHECK_EQ_U64(sub_test_read(sub, 1, 10), 10);
  CHECK_OK(sub_test_append(wal, 11, 5));
  CHECK_EQ_U64(sub_test_read(sub, 11, 5), 5);
  CHECK(qx_monotonic_ns() - opened >= 200000000); /* 11.. waited for the next window */
  close_all(sub, wal, dir);
}

static void append_tick(qx_wal *wal, const char *instrument, int64_t price) {
  qx_tick t = {.last_price = price};
  memcpy(t.instrument_id, instrument, strlen(instrument));
  append_typed(wal, QX_TABLE_TICKS, &t, sizeof t);
}

static void append_order(qx_wal *wal, uint64_t id, int64_t volume) {
  qx_order order = {.order_id = id, .volume = volume};
  memcpy(order.account_id, "acct1", 5);
  append_typed(wal, QX_TABLE_ORDERS, &order, sizeof order);
}

/* A conflated window keeps the newest tick per instrument and the newest version per order. */
static void test_conflated(void) {
  char dir[PATH_MAX];
  qx_wal *wal = sub_test_open_writer(dir, "sub-conflated");
  qx_sub_options o;
  qx_sub_options_init(&o);
  o.conflate = 1;
  qx_sub *sub;
  CHECK_RC(qx_sub_open(dir, &o, &sub), QX_ERR_INVALID_ARG); /* conflation needs a delay */
  o.delay_ms = 50;
  CHECK_OK(qx_sub_open(dir, &o, &sub));
  append_tick(wal, "A", 1); /* LSN 1 */
  append_tick(wal, "B", 1); /* 2: B's newest */
  append_tick(wal, "A", 2); /* 3 */
  append_order(wal, 7, 1);  /* 4 */
  append_tick(wal, "A", 3); /* 5: A's newest */
  append_order(wal, 7, 2);  /* 6: order 7's newest */
  append_order(wal, 8, 1);  /* 7 */
  static const uint64_t expected[] = {2, 5, 6, 7};
  for (size_t i = 0; i < sizeof expected / sizeof *expected; i++) {
    qx_wal_entry e;
    CHECK_OK(qx_sub_next(sub, &e, 5000000000));
    CHECK_EQ_U64(e.lsn, expected[i]);
  }
  qx_wal_entry e;
  CHECK_RC(qx_sub_next(sub, &e, 0), QX_ERR_TIMEOUT);
  close_all(sub, wal, dir);
}

/* Frames that end exactly at the end of the ring: the next starts at its beginning with no
 * padding, and the flusher must not write the two as one run (it once read past the ring). */
static void test_frames_end_at_ring_end(void) {
  char dir[PATH_MAX];
  test_tmpdir(dir, "sub-wrap");
  qx_wal *wal = sub_test_open_writer_sized(dir, 8u << 20);          /* room for 1 MiB records */
  enum { SIZE = (1u << 20) - WAL_ENTRY_HEADER_SIZE, RECORDS = 24 }; /* 4 frames fill the ring */
  uint8_t *payload = malloc(SIZE);
  for (uint64_t lsn = 1; payload && lsn <= RECORDS; lsn++) {
    memset(payload, (int)lsn, SIZE);
    qx_wal_record r = {1, 1, SIZE, 0, payload};
    CHECK_OK(qx_wal_append(wal, &r, QX_DURABILITY_NONE, NULL));
  }
  CHECK_OK(qx_wal_close(wal));
  qx_sub_options so;
  qx_sub_options_init(&so);
  so.start = QX_SUB_OLDEST;
  qx_sub *sub;
  CHECK_OK(qx_sub_open(dir, &so, &sub));
  for (uint64_t lsn = 1; lsn <= RECORDS; lsn++) {
    qx_wal_entry e;
    CHECK_OK(qx_sub_next(sub, &e, 5000000000));
    CHECK_EQ_U64(e.lsn, lsn);
    CHECK(e.size == SIZE && ((const uint8_t *)e.data)[SIZE - 1] == (uint8_t)lsn);
  }
  qx_sub_close(sub);
  free(payload);
  test_rmtree(dir);
}

/* Batches are what calls of qx_sub_next would hand out, several at a time. */
static void test_batches(void) {
  char dir[PATH_MAX];
  qx_wal *wal = sub_test_open_writer(dir, "sub-batches");
  CHECK_OK(sub_test_append(wal, 1, 100));
  qx_sub_options o;
  qx_sub_options_init(&o);
  o.start = QX_SUB_OLDEST;
  qx_sub *all, *even;
  CHECK_OK(qx_sub_open(dir, &o, &all));
  o.table_id = 2; /* sub_test_append: even LSNs */
  CHECK_OK(qx_sub_open(dir, &o, &even));
  qx_wal_entry e[16];
  size_t n;
  CHECK_RC(qx_sub_next_batch(all, e, 0, &n, 0), QX_ERR_INVALID_ARG);
  uint64_t next = 1, calls = 0, widest = 0;
  while (next <= 100 && calls++ < 200) {
    CHECK_OK(qx_sub_next_batch(all, e, 16, &n, 1000000000));
    CHECK(n >= 1 && n <= 16);
    widest = n > widest ? n : widest;
    for (size_t i = 0; i < n; i++, next++) {
      CHECK_EQ_U64(e[i].lsn, next);
      CHECK(sub_test_record_ok(&e[i]));
    }
    CHECK(qx_sub_held_valid(all));
  }
  CHECK_EQ_U64(next, 101);
  CHECK(widest > 1);
  CHECK_RC(qx_sub_next_batch(all, e, 16, &n, 0), QX_ERR_TIMEOUT);
  CHECK_EQ_U64(n, 0);
  for (uint64_t lsn = 2; lsn <= 100;) {
    CHECK_OK(qx_sub_next_batch(even, e, 16, &n, 1000000000));
    for (size_t i = 0; i < n; i++, lsn += 2)
      CHECK_EQ_U64(e[i].lsn, lsn);
    if (n == 0) break;
  }
  qx_sub_close(all);
  qx_sub_close(even);
  CHECK_OK(qx_wal_close(wal));
  test_rmtree(dir);
}

/* ---- a start from the engine's state ------------------------------------------------------- */

static qx_db *open_state_db(char dir[PATH_MAX]) {
  test_tmpdir(dir, "sub-state");
  qx_db_options o;
  qx_db_options_init(&o);
  o.olap = 0; /* so that a flush lets the WAL go */
  o.wal.segment_size = 1u << 20;
  o.wal.ring_size = QX_RING_MIN_CAPACITY;
  qx_db *db = NULL;
  CHECK_OK(qx_db_open(dir, &o, &db, NULL));
  if (!db) exit(test_finish("test_sub"));
  return db;
}

static void put_order(qx_db *db, uint64_t id, int64_t volume) {
  qx_order order = {.order_id = id, .volume = volume};
  memcpy(order.account_id, "acct1", 5);
  CHECK_OK(qx_db_put_record(db, QX_TABLE_ORDERS, &order, QX_DURABILITY_NONE, NULL));
}

/* Reads the 50 orders of the state (each updated to volume 199) and the one account. */
static void read_state(qx_sub *sub, uint64_t state_lsn, int with_orders) {
  qx_wal_entry e;
  for (uint64_t id = 1; with_orders && id <= 50; id++) {
    CHECK_OK(qx_sub_next(sub, &e, 0));
    CHECK_EQ_U64(e.table_id, QX_TABLE_ORDERS);
    CHECK(e.lsn <= state_lsn);
    const qx_order *order = e.data;
    CHECK_EQ_U64(order->order_id, id); /* key order */
    CHECK_EQ_U64(order->volume, 199);  /* the latest version only */
  }
  CHECK_OK(qx_sub_next(sub, &e, 0));
  CHECK_EQ_U64(e.table_id, QX_TABLE_ACCOUNTS);
  CHECK(e.lsn <= state_lsn);
  qx_sub_status st;
  qx_sub_get_status(sub, &st);
  CHECK(st.state_pending); /* the state's last record is out, but the log's first is not */
  CHECK_RC(qx_sub_next(sub, &e, 0), QX_ERR_TIMEOUT);
  qx_sub_get_status(sub, &st);
  CHECK(!st.state_pending);
}

/* A subscriber in the database's process starts before the oldest record the WAL keeps: the
 * engine's state at one LSN, then the log after it with no seam. */
static void test_state_start(void) {
  char dir[PATH_MAX];
  qx_db *db = open_state_db(dir);
  for (int64_t round = 0; round < 200; round++)
    for (uint64_t id = 1; id <= 50; id++)
      put_order(db, id, round);
  qx_account account = {.deposit = 7};
  memcpy(account.account_id, "acct1", 5);
  CHECK_OK(qx_db_put_record(db, QX_TABLE_ACCOUNTS, &account, QX_DURABILITY_NONE, NULL));
  CHECK_OK(qx_db_flush(db)); /* the checkpoint deletes the WAL's first segments */

  qx_sub_options o;
  qx_sub_options_init(&o);
  o.start = QX_SUB_FROM_LSN;
  o.from_lsn = 1;
  qx_sub *sub;
  CHECK_RC(qx_sub_open(dir, &o, &sub), QX_ERR_NOT_FOUND); /* the log alone no longer has it */
  snprintf(o.cursor, sizeof o.cursor, "state-reader");
  CHECK_OK(qx_sub_open_db(db, &o, &sub));
  qx_sub_status st;
  qx_sub_get_status(sub, &st);
  uint64_t state_lsn = st.state_lsn;
  CHECK_EQ_U64(state_lsn, qx_db_last_lsn(db));
  CHECK(st.state_pending);
  CHECK_RC(qx_sub_ack(sub, state_lsn), QX_ERR_INVALID_ARG); /* not before the state is out */
  read_state(sub, state_lsn, 1);
  for (uint64_t id = 1; id <= 3; id++)
    put_order(db, id, 1000);
  qx_wal_entry e;
  for (uint64_t n = 1; n <= 3; n++) {
    CHECK_OK(qx_sub_next(sub, &e, 1000000000));
    CHECK_EQ_U64(e.lsn, state_lsn + n);
  }
  CHECK_OK(qx_sub_ack(sub, state_lsn + 3));
  qx_sub_close(sub);

  /* Asked for, filtered by table; and refused without the database. */
  qx_sub_options_init(&o);
  o.start = QX_SUB_STATE;
  o.table_id = QX_TABLE_ACCOUNTS;
  CHECK_RC(qx_sub_open(dir, &o, &sub), QX_ERR_INVALID_ARG);
  CHECK_OK(qx_sub_open_db(db, &o, &sub));
  qx_sub_get_status(sub, &st);
  read_state(sub, st.state_lsn, 0);
  CHECK_OK(qx_db_put_record(db, QX_TABLE_ACCOUNTS, &account, QX_DURABILITY_NONE, NULL));
  CHECK_OK(qx_sub_next(sub, &e, 1000000000));
  CHECK_EQ_U64(e.lsn, st.state_lsn + 1);
  qx_sub_close(sub);
  CHECK_OK(qx_db_close(db));
  test_rmtree(dir);
}

int main(void) {
  sub_test_private_shm();
  test_starts_and_filters();
  test_instrument_and_account();
  test_lapped();
  test_overwritten_while_held();
  test_damaged_frame();
  test_writer_restart();
  test_no_writer();
  test_cursor_resume();
  test_cursor_retention();
  test_delayed();
  test_conflated();
  test_frames_end_at_ring_end();
  test_state_start();
  test_batches();
  sub_test_remove_shm();
  return test_finish("test_sub");
}
