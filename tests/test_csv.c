/* CSV import: RFC 4180 quoting, CRLF, a UTF-8 byte order mark, a header naming a subset of
 * columns in any order, defaults, reference data (instruments), and bad input stopping the
 * import at the right line and column with every row before it durably in the WAL. */
#include "check.h"
#include "csv/csv_import.h"
#include "csv/csv_reader.h"
#include "qaxdb/db.h"
#include "qaxdb/key.h"
#include "qaxdb/records.h"

static char dir[PATH_MAX];

static void write_file(const char *name, const char *text, char path[PATH_MAX]) {
  if (snprintf(path, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX) abort();
  FILE *f = fopen(path, "w");
  fputs(text, f);
  fclose(f);
}

static void test_reader(void) {
  char path[PATH_MAX];
  write_file("quotes.csv",
             "a,b,c\r\n"
             "\"x, y\",\"say \"\"hi\"\"\",\r\n"
             "\n"
             "\"multi\nline\",2,3\n"
             "last,,\"\"",
             path);
  csv_reader *r;
  CHECK_OK(qx_csv_reader_open(path, &r));
  csv_row row;
  CHECK_EQ_U64(qx_csv_next(r, &row), 1);
  CHECK_EQ_U64(row.count, 3);
  CHECK_EQ_U64(row.line, 1);
  CHECK(row.lengths[2] == 1 && row.fields[2][0] == 'c'); /* CR dropped */
  CHECK_EQ_U64(qx_csv_next(r, &row), 1);
  CHECK_EQ_U64(row.count, 3);
  CHECK(row.lengths[0] == 4 && memcmp(row.fields[0], "x, y", 4) == 0);
  CHECK(row.lengths[1] == 8 && memcmp(row.fields[1], "say \"hi\"", 8) == 0);
  CHECK_EQ_U64(row.lengths[2], 0);
  CHECK_EQ_U64(qx_csv_next(r, &row), 1); /* the empty line 3 is skipped */
  CHECK_EQ_U64(row.line, 4);
  CHECK(row.lengths[0] == 10 && memcmp(row.fields[0], "multi\nline", 10) == 0);
  CHECK_EQ_U64(qx_csv_next(r, &row), 1);
  CHECK_EQ_U64(row.line, 6);
  CHECK_EQ_U64(row.count, 3);
  CHECK(row.lengths[1] == 0 && row.lengths[2] == 0);
  CHECK_EQ_U64(qx_csv_next(r, &row), 0);
  qx_csv_reader_close(r);

  write_file("open.csv", "a,b\n1,\"never closed\n2,3\n", path);
  CHECK_OK(qx_csv_reader_open(path, &r));
  CHECK_EQ_U64(qx_csv_next(r, &row), 1);
  CHECK_RC(qx_csv_next(r, &row), QX_ERR_PARSE);
  CHECK(strstr(qx_last_error(), "open.csv:2") && strstr(qx_last_error(), "never closed"));
  qx_csv_reader_close(r);

  write_file("after.csv", "\"a\"b,c\n", path);
  CHECK_OK(qx_csv_reader_open(path, &r));
  CHECK_RC(qx_csv_next(r, &row), QX_ERR_PARSE);
  CHECK(strstr(qx_last_error(), "after a closing quote") != NULL);
  qx_csv_reader_close(r);
  CHECK_RC(qx_csv_reader_open("/nonexistent/x.csv", &r), QX_ERR_IO);

  /* A byte order mark belongs to no field; one later in the file is data. */
  write_file("bom.csv",
             "\xEF\xBB\xBF"
             "a,b\n\xEF\xBB\xBF"
             "x,y\n",
             path);
  CHECK_OK(qx_csv_reader_open(path, &r));
  CHECK_EQ_U64(qx_csv_next(r, &row), 1);
  CHECK(row.lengths[0] == 1 && row.fields[0][0] == 'a');
  CHECK_EQ_U64(qx_csv_next(r, &row), 1);
  CHECK(row.lengths[0] == 4 && memcmp(row.fields[0], "\xEF\xBB\xBFx", 4) == 0);
  qx_csv_reader_close(r);
}

typedef struct collected {
  qx_trade trades[4000];
  uint64_t count;
} collected;

static int collect(const qx_wal_entry *e, void *ctx) {
  collected *c = ctx;
  CHECK_EQ_U64(e->table_id, QX_TABLE_TRADES);
  CHECK_EQ_U64(e->size, sizeof(qx_trade));
  if (c->count < 4000) memcpy(&c->trades[c->count], e->data, sizeof(qx_trade));
  c->count++;
  return 0;
}

static void test_import(void) {
  char wal_dir[PATH_MAX], path[PATH_MAX];
  if (snprintf(wal_dir, sizeof wal_dir, "%s/wal", dir) >= PATH_MAX) abort();
  qx_db *db;
  CHECK_OK(qx_db_open(dir, NULL, &db, NULL));
  const qx_schema *trades = qx_schema_by_name("trades");
  write_file("trades.csv",
             "ts,price,trade_id,instrument_id,aggressor,volume\r\n"
             "2026-11-24T09:30:00Z,3850.25,1,rb2501,sell,10\r\n"
             "1795512600000000001,-1.5,2,\"cu,2502\",buy,\r\n",
             path);
  csv_import_result res;
  CHECK_OK(qx_csv_import(db, trades, path, &res));
  CHECK_EQ_U64(res.rows, 2);
  CHECK_EQ_U64(res.first_lsn, 1);
  CHECK_EQ_U64(res.last_lsn, 2);
  CHECK_OK(qx_db_wait_durable(db, 2, 0)); /* already durable: no wait */

  /* 2500 good rows, then a bad price on line 2502 (header is line 1). */
  size_t cap = 64 * 2600;
  char *text = malloc(cap), *p = text;
  p += sprintf(p, "trade_id,price\n");
  for (int i = 0; i < 2500; i++)
    p += sprintf(p, "%d,%d.5\n", 100 + i, i);
  p += sprintf(p, "9999,1.23456\n10000,1\n");
  write_file("bad.csv", text, path);
  free(text);
  CHECK_RC(qx_csv_import(db, trades, path, &res), QX_ERR_PARSE);
  CHECK(strstr(qx_last_error(), "bad.csv:2502: column price") != NULL);
  CHECK_EQ_U64(res.rows, 2500);
  CHECK_EQ_U64(res.first_lsn, 3);
  CHECK_EQ_U64(res.last_lsn, 2502);
  CHECK_OK(qx_db_wait_durable(db, 2502, 0));

  write_file("unknown.csv", "trade_id,colour\n1,red\n", path);
  CHECK_RC(qx_csv_import(db, trades, path, &res), QX_ERR_PARSE);
  CHECK(strstr(qx_last_error(), "unknown.csv:1") && strstr(qx_last_error(), "'colour'"));
  CHECK_EQ_U64(res.rows, 0);
  write_file("dup.csv", "trade_id,price,trade_id\n", path);
  CHECK_RC(qx_csv_import(db, trades, path, &res), QX_ERR_PARSE);
  CHECK(strstr(qx_last_error(), "twice") != NULL);
  write_file("fields.csv", "trade_id,price\n1,2\n3\n", path);
  CHECK_RC(qx_csv_import(db, trades, path, &res), QX_ERR_PARSE);
  CHECK(strstr(qx_last_error(), "fields.csv:3: 1 fields, the header has 2") != NULL);
  CHECK_EQ_U64(res.rows, 1);
  write_file("empty.csv", "", path);
  CHECK_RC(qx_csv_import(db, trades, path, &res), QX_ERR_PARSE);
  CHECK(strstr(qx_last_error(), "empty") != NULL);
  write_file("header.csv", "trade_id,price\n", path);
  CHECK_OK(qx_csv_import(db, trades, path, &res));
  CHECK_EQ_U64(res.rows, 0);
  uint8_t key[QX_KEY_MAX];
  qx_trade probe = {.trade_id = 2};
  qx_db_value v;
  CHECK_OK(qx_db_get(db, NULL, key, qx_key_encode(trades, &probe, key), &v));
  CHECK(v.size == sizeof(qx_trade) && ((const qx_trade *)v.data)->price == -15000);
  qx_db_value_release(&v);
  CHECK_OK(qx_db_close(db));

  static collected c;
  CHECK_OK(qx_wal_scan(wal_dir, 1, collect, &c, NULL));
  CHECK_EQ_U64(c.count, 2 + 2500 + 1);
  qx_trade *t = &c.trades[0];
  CHECK(t->trade_id == 1 && t->price == 38502500 && t->volume == 10);
  CHECK(t->aggressor == QX_SIDE_SELL && strcmp(t->instrument_id, "rb2501") == 0);
  CHECK(t->ts == 1795512600000000000ll);
  t = &c.trades[1];
  CHECK(t->price == -15000 && t->volume == 0 && strcmp(t->instrument_id, "cu,2502") == 0);
  CHECK(t->buy_order_id == 0 && t->buy_account_id[0] == 0); /* columns left out: defaults */
  t = &c.trades[2 + 2499];
  CHECK(t->trade_id == 2599 && t->price == 24995000);
}

/* Reference data loads like any table, from a spreadsheet's export with a byte order mark. */
static void test_instruments(void) {
  char data[PATH_MAX + 16], path[PATH_MAX];
  snprintf(data, sizeof data, "%s/reference", dir);
  write_file("instruments.csv",
             "\xEF\xBB\xBFinstrument_id,exchange,product,price_tick,multiplier,margin_ratio,"
             "commission_per_lot,settlement_price,ts\r\n"
             "rb2605,SHFE,rb,1,10,0.07,3.01,3120,2026-05-06\r\n"
             "sc2607,INE,sc,0.1,1000,0.1,20,532.4,2026-05-06\r\n",
             path);
  qx_db *db;
  CHECK_OK(qx_db_open(data, NULL, &db, NULL));
  const qx_schema *instruments = qx_schema_by_name("instruments");
  csv_import_result res;
  CHECK_OK(qx_csv_import(db, instruments, path, &res));
  CHECK_EQ_U64(res.rows, 2);
  uint8_t key[QX_KEY_MAX];
  qx_instrument probe = {.instrument_id = "sc2607"};
  qx_db_value v;
  int rc = qx_db_get(db, NULL, key, qx_key_encode(instruments, &probe, key), &v);
  CHECK_OK(rc);
  if (rc == QX_OK) {
    const qx_instrument *sc = v.data;
    CHECK(v.size == sizeof(qx_instrument) && strcmp(sc->exchange, "INE") == 0);
    CHECK(sc->price_tick == 1000 && sc->multiplier == 1000 && sc->margin_ratio == 100000);
    CHECK(sc->commission_per_lot == 200000 && sc->settlement_price == 5324000);
    qx_db_value_release(&v);
  }
  CHECK_OK(qx_db_close(db));
}

int main(void) {
  test_tmpdir(dir, "csv");
  test_reader();
  test_import();
  test_instruments();
  test_rmtree(dir);
  return test_finish("test_csv");
}
