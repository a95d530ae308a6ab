/* SQL over Parquet plus buffered rows: predefined queries against expectations computed here
 * from the records written, decimal scales, the exchange functions, consistency at one LSN
 * while a writer appends, exactly-once after SIGKILL, and the safety rules for user SQL. */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "lsm/engine.h"
#include "qaxdb/db.h"
#include "qaxdb/key.h"
#include "qaxdb/records.h"
#include "qaxdb/schema.h"
#include "qaxdb/sql.h"
#include "sim/instruments.h"

#define TS0 1772415000000000000LL /* 2026-03-02 09:30 Beijing, a Monday */
#define TRADES 3000
#define ACCOUNTS 5
#define INSTRUMENTS 3
#define NS_PER_MS 1000000LL

static sim_instrument instruments[SIM_MAX_INSTRUMENTS];

static void money_text(int64_t raw, char *out, size_t cap) {
  snprintf(out, cap, "%s%lld.%04lld", raw < 0 ? "-" : "", (long long)(llabs(raw) / 10000),
           (long long)(llabs(raw) % 10000));
}

static qx_db_options test_options(void) {
  qx_db_options o;
  qx_db_options_init(&o);
  o.memtable_size = 1u << 20;
  o.olap_buffer_size = 1u << 20;
  o.olap_flush_interval_ms = 100;
  o.olap_merge_files = 2; /* merges happen in every test, under queries and kills too */
  return o;
}

static qx_trade make_trade(uint64_t id) {
  qx_trade t = {0};
  const sim_instrument *ins = &instruments[id % INSTRUMENTS];
  t.trade_id = id;
  snprintf(t.instrument_id, sizeof t.instrument_id, "%s", ins->id);
  t.buy_order_id = 2 * id;
  t.sell_order_id = 2 * id + 1;
  snprintf(t.buy_account_id, sizeof t.buy_account_id, "acct%02d", (int)(id * 7 % ACCOUNTS));
  snprintf(t.sell_account_id, sizeof t.sell_account_id, "acct%02d", (int)((id * 3 + 1) % ACCOUNTS));
  t.price = ins->start_price + ins->tick * (int64_t)((id * 37) % 21 - 10);
  t.volume = (int64_t)(id % 9) + 1;
  t.aggressor = (uint8_t)(id % 2);
  t.ts = TS0 + (int64_t)id * 97 * NS_PER_MS;
  return t;
}

static const char *cell(qx_sql_result *r, uint64_t row, uint32_t col) {
  const char *v = qx_sql_result_text(r, row, col);
  return v ? v : "NULL";
}

/* Runs a query that must succeed; NULL (after a check failure) if it did not. */
static qx_sql_result *must_query(qx_sql *sql, const char *text) {
  qx_sql_result *r = NULL;
  int rc = qx_sql_query(sql, text, &r);
  if (rc != QX_OK) {
    fprintf(stderr, "query failed: %s\n  %s\n", text, qx_last_error());
    check_failures++;
    return NULL;
  }
  return r;
}

/* ---- the data set and its expectations ---- */

typedef struct expected {
  int64_t volume_sum;
  int64_t account_volume[ACCOUNTS], account_trades[ACCOUNTS];
  int64_t account_commission[ACCOUNTS];
  int64_t last_price[INSTRUMENTS];
} expected;

static void write_trades(qx_db *db, uint64_t from, uint64_t to, expected *e) {
  for (uint64_t id = from; id < to; id++) {
    qx_trade t = make_trade(id);
    CHECK_OK(qx_db_put_record(db, QX_TABLE_TRADES, &t, QX_DURABILITY_NONE, NULL));
    e->volume_sum += t.volume;
    e->account_volume[id * 7 % ACCOUNTS] += t.volume;
    e->account_volume[(id * 3 + 1) % ACCOUNTS] += t.volume;
    e->account_trades[id * 7 % ACCOUNTS]++;
    e->account_trades[(id * 3 + 1) % ACCOUNTS]++;
    e->last_price[id % INSTRUMENTS] = t.price;
  }
}

/* Each account is written three times with growing cumulative commission: the daily figure is
 * the last version's. */
static void write_accounts(qx_db *db, expected *e) {
  for (int version = 1; version <= 3; version++)
    for (int a = 0; a < ACCOUNTS; a++) {
      qx_account acc = {0};
      snprintf(acc.account_id, sizeof acc.account_id, "acct%02d", a);
      snprintf(acc.currency, sizeof acc.currency, "CNY");
      acc.commission = (int64_t)(a + 1) * version * 12345;
      acc.close_profit = (int64_t)version * 1000 * (a % 2 ? 1 : -1);
      acc.balance = 100000000 + acc.close_profit - acc.commission;
      acc.ts = TS0 + (int64_t)version * 1000 * NS_PER_MS;
      CHECK_OK(qx_db_put_record(db, QX_TABLE_ACCOUNTS, &acc, QX_DURABILITY_NONE, NULL));
      e->account_commission[a] = acc.commission;
    }
}

#define REALIZED_OPEN 12345678 /* 1234.5678 realized by acct00 on instrument 0, still long */
#define REALIZED_FLAT (-50000) /* -5.0000 realized by acct01 on instrument 1, now flat */

/* acct00 holds 3 lots of instrument 0 bought at open_price; acct01 closed out instrument 1. */
static void write_position(qx_db *db, int64_t open_price) {
  qx_position p = {0};
  snprintf(p.account_id, sizeof p.account_id, "acct00");
  snprintf(p.instrument_id, sizeof p.instrument_id, "%s", instruments[0].id);
  p.long_volume = 3;
  p.long_open_cost = 3 * open_price * instruments[0].multiplier;
  p.close_profit = REALIZED_OPEN;
  p.ts = TS0;
  CHECK_OK(qx_db_put_record(db, QX_TABLE_POSITIONS, &p, QX_DURABILITY_NONE, NULL));
  qx_position flat = {0};
  snprintf(flat.account_id, sizeof flat.account_id, "acct01");
  snprintf(flat.instrument_id, sizeof flat.instrument_id, "%s", instruments[1].id);
  flat.close_profit = REALIZED_FLAT;
  flat.ts = TS0;
  CHECK_OK(qx_db_put_record(db, QX_TABLE_POSITIONS, &flat, QX_DURABILITY_GROUP, NULL));
}

/* The simulator's first INSTRUMENTS contracts, and a calendar spread whose settlement price
 * is negative (spreads can settle below zero): every decimal prints in its column's scale. */
static void write_instruments(qx_db *db) {
  for (int i = 0; i < INSTRUMENTS; i++) {
    qx_instrument r;
    qx_sim_instrument_record(&instruments[i], TS0, &r);
    CHECK_OK(qx_db_put_record(db, QX_TABLE_INSTRUMENTS, &r, QX_DURABILITY_NONE, NULL));
  }
  qx_instrument spread = {.instrument_id = "SP rb2501&2505",
                          .exchange = "SHFE",
                          .product = "rb",
                          .price_tick = 5000,
                          .multiplier = 10,
                          .margin_ratio = 70000,
                          .settlement_price = -5000,
                          .ts = TS0};
  CHECK_OK(qx_db_put_record(db, QX_TABLE_INSTRUMENTS, &spread, QX_DURABILITY_NONE, NULL));
}

/* ---- predefined queries ---- */

static void check_instruments(qx_sql *sql) {
  qx_sql_result *r = must_query(sql, "SELECT instrument_id, price_tick, margin_ratio, "
                                     "settlement_price, commission_per_lot, multiplier "
                                     "FROM instruments ORDER BY instrument_id");
  if (!r) return;
  CHECK_EQ_U64(qx_sql_result_row_count(r), INSTRUMENTS + 1);
  CHECK_STR(cell(r, 0, 0), "SP rb2501&2505");
  CHECK_STR(cell(r, 0, 1), "0.5000");
  CHECK_STR(cell(r, 0, 2), "0.070000");
  CHECK_STR(cell(r, 0, 3), "-0.5000");
  CHECK_STR(cell(r, 0, 4), "0.0000");
  CHECK_STR(cell(r, 0, 5), "10");
  qx_sql_result_destroy(r);
  r = must_query(sql, "SELECT multiplier, margin_ratio FROM instruments_by_key('rb2501')");
  if (r) {
    CHECK_EQ_U64(qx_sql_result_row_count(r), 1);
    CHECK_STR(cell(r, 0, 0), "10");
    CHECK_STR(cell(r, 0, 1), "0.100000");
  }
  qx_sql_result_destroy(r);
}

static void check_totals(qx_sql *sql, const expected *e, uint64_t trades) {
  qx_sql_result *r = must_query(sql, "SELECT count(*), sum(volume), count(DISTINCT trade_id) "
                                     "FROM trades");
  if (!r) return;
  char want[64];
  snprintf(want, sizeof want, "%llu", (unsigned long long)trades);
  CHECK_STR(cell(r, 0, 0), want);
  CHECK_STR(cell(r, 0, 2), want);
  snprintf(want, sizeof want, "%lld", (long long)e->volume_sum);
  CHECK_STR(cell(r, 0, 1), want);
  qx_sql_result_destroy(r);
}

/* One instrument's 1-minute bars, computed from the trades in LSN (= id) order. */
static void check_ohlcv(qx_sql *sql) {
  char q[256];
  snprintf(q, sizeof q, "SELECT open, high, low, close, volume FROM ohlcv('%s', INTERVAL 1 MINUTE)",
           instruments[1].id);
  qx_sql_result *r = must_query(sql, q);
  if (!r) return;
  uint64_t row = 0;
  int64_t bar = -1, o = 0, h = 0, l = 0, c = 0, v = 0;
  for (uint64_t id = 1; id <= TRADES + 1; id++) {
    qx_trade t = make_trade(id);
    int64_t minute = (t.ts / 1000000000LL) / 60;
    if (id == TRADES + 1 || (id % INSTRUMENTS == 1 && minute != bar && bar >= 0)) {
      char text[5][32];
      money_text(o, text[0], 32);
      money_text(h, text[1], 32);
      money_text(l, text[2], 32);
      money_text(c, text[3], 32);
      snprintf(text[4], 32, "%lld", (long long)v);
      for (uint32_t k = 0; k < 5; k++)
        CHECK_STR(cell(r, row, k), text[k]);
      row++;
      bar = -1;
    }
    if (id > TRADES || id % INSTRUMENTS != 1) continue;
    if (bar < 0) {
      bar = minute;
      o = h = l = t.price;
      v = 0;
    }
    h = t.price > h ? t.price : h;
    l = t.price < l ? t.price : l;
    c = t.price;
    v += t.volume;
  }
  CHECK(row >= 4); /* the trades span several minutes */
  CHECK_EQ_U64(qx_sql_result_row_count(r), row);
  qx_sql_result_destroy(r);
}

static void check_vwap(qx_sql *sql) {
  __int128 turnover = 0;
  int64_t volume = 0;
  for (uint64_t id = 1; id <= TRADES; id++) {
    qx_trade t = make_trade(id);
    if (id % INSTRUMENTS != 2) continue;
    turnover += (__int128)t.price * t.volume;
    volume += t.volume;
  }
  char q[256];
  snprintf(q, sizeof q,
           "SELECT vwap, volume FROM vwap('%s', TIMESTAMP '2026-03-01', TIMESTAMP '2026-03-03')",
           instruments[2].id);
  qx_sql_result *r = must_query(sql, q);
  if (!r) return;
  double want = (double)turnover / (double)volume / 10000.0;
  double got = atof(cell(r, 0, 0));
  CHECK(got > want - 0.00011 && got < want + 0.00011);
  char v[32];
  snprintf(v, sizeof v, "%lld", (long long)volume);
  CHECK_STR(cell(r, 0, 1), v);
  qx_sql_result_destroy(r);
}

static void check_account_daily(qx_sql *sql, const expected *e) {
  qx_sql_result *r = must_query(sql, "SELECT account_id, date, volume, trade_count, commission "
                                     "FROM account_daily()");
  if (!r) return;
  CHECK_EQ_U64(qx_sql_result_row_count(r), ACCOUNTS);
  for (int a = 0; a < ACCOUNTS && (uint64_t)a < qx_sql_result_row_count(r); a++) {
    char want[32];
    snprintf(want, sizeof want, "acct%02d", a);
    CHECK_STR(cell(r, (uint64_t)a, 0), want);
    CHECK_STR(cell(r, (uint64_t)a, 1), "2026-03-02");
    snprintf(want, sizeof want, "%lld", (long long)e->account_volume[a]);
    CHECK_STR(cell(r, (uint64_t)a, 2), want);
    snprintf(want, sizeof want, "%lld", (long long)e->account_trades[a]);
    CHECK_STR(cell(r, (uint64_t)a, 3), want);
    money_text(e->account_commission[a], want, sizeof want);
    CHECK_STR(cell(r, (uint64_t)a, 4), want);
  }
  qx_sql_result_destroy(r);
}

/* klines_1m holds the same bars as ohlcv() computes from every trade; account_daily_totals
 * splits each account's volume into its buy and sell sides. */
static void check_materialized(qx_sql *sql, const expected *e) {
  static const char *const differences[] = {
      "SELECT count(*) FROM (SELECT instrument_id, bar_start, open, high, low, close, volume, "
      "turnover, trades FROM klines_1m EXCEPT ALL SELECT instrument_id, bar_start, open, high, "
      "low, close, volume, turnover, trades FROM ohlcv(NULL, INTERVAL 1 MINUTE))",
      "SELECT count(*) FROM (SELECT instrument_id, bar_start, open, high, low, close, volume, "
      "turnover, trades FROM ohlcv(NULL, INTERVAL 1 MINUTE) EXCEPT ALL SELECT instrument_id, "
      "bar_start, open, high, low, close, volume, turnover, trades FROM klines_1m)",
  };
  for (int i = 0; i < 2; i++) {
    qx_sql_result *r = must_query(sql, differences[i]);
    if (!r) return;
    CHECK_STR(cell(r, 0, 0), "0");
    qx_sql_result_destroy(r);
  }
  qx_sql_result *r = must_query(sql, "SELECT count(*), sum(trades), max(lsn) FROM klines_1m");
  if (!r) return;
  CHECK(atoi(cell(r, 0, 0)) >= 4 * INSTRUMENTS);
  CHECK_STR(cell(r, 0, 1), "3000");
  qx_sql_result_destroy(r);
  r = must_query(sql, "SELECT sum(buy_volume), sum(sell_volume), sum(volume) "
                      "FROM account_daily_totals");
  if (!r) return;
  char want[32];
  snprintf(want, sizeof want, "%lld", (long long)e->volume_sum);
  CHECK_STR(cell(r, 0, 0), want);
  CHECK_STR(cell(r, 0, 1), want);
  snprintf(want, sizeof want, "%lld", 2 * (long long)e->volume_sum);
  CHECK_STR(cell(r, 0, 2), want);
  qx_sql_result_destroy(r);
}

static void check_position_pnl(qx_sql *sql, const expected *e, int64_t open_price) {
  qx_sql_result *r = must_query(sql, "SELECT account_id, last_price, unrealized_pnl, "
                                     "realized_pnl, total_pnl FROM position_pnl()");
  if (!r) return;
  CHECK_EQ_U64(qx_sql_result_row_count(r), 2);
  char want[64];
  int64_t unrealized = 3 * (e->last_price[0] - open_price) * instruments[0].multiplier;
  CHECK_STR(cell(r, 0, 0), "acct00");
  money_text(e->last_price[0], want, sizeof want);
  CHECK_STR(cell(r, 0, 1), want);
  money_text(unrealized, want, sizeof want);
  CHECK_STR(cell(r, 0, 2), want);
  money_text(REALIZED_OPEN, want, sizeof want);
  CHECK_STR(cell(r, 0, 3), want);
  money_text(REALIZED_OPEN + unrealized, want, sizeof want);
  CHECK_STR(cell(r, 0, 4), want);
  /* A flat position is listed for what it realized. */
  CHECK_STR(cell(r, 1, 0), "acct01");
  CHECK_STR(cell(r, 1, 2), "0.0000");
  money_text(REALIZED_FLAT, want, sizeof want);
  CHECK_STR(cell(r, 1, 3), want);
  CHECK_STR(cell(r, 1, 4), want);
  qx_sql_result_destroy(r);
}

static void check_functions(qx_sql *sql) {
  qx_sql_result *r = must_query(
      sql, "SELECT price_to_ticks(3850.25, 0.5), round_to_tick(3850.24, 0.5), "
           "price_to_ticks(-1.25, 0.5), trading_day(TIMESTAMP_NS '2026-03-06 13:30:00'), "
           "trading_day(TIMESTAMP_NS '2026-03-06 06:00:00'), "
           "(SELECT price FROM trades ORDER BY lsn LIMIT 1), "
           "(SELECT ts FROM trades ORDER BY lsn LIMIT 1)");
  if (!r) return;
  CHECK_STR(cell(r, 0, 0), "7701");
  CHECK_STR(cell(r, 0, 1), "3850.0000");
  CHECK_STR(cell(r, 0, 2), "-3");
  CHECK_STR(cell(r, 0, 3), "2026-03-09"); /* Friday night session: Monday's trading day */
  CHECK_STR(cell(r, 0, 4), "2026-03-06");
  char want[32];
  money_text(make_trade(1).price, want, sizeof want);
  CHECK_STR(cell(r, 0, 5), want);
  CHECK_STR(cell(r, 0, 6), "2026-03-02 01:30:00.097");
  qx_sql_result_destroy(r);
}

/* EXPLAIN passes through; window functions and joins run over the views; a repeated query is
 * served from the cache. */
static void check_sql_features(qx_sql *sql) {
  qx_sql_result *r = must_query(sql, "EXPLAIN SELECT count(*) FROM trades WHERE trade_id = 7");
  if (r) CHECK(qx_sql_result_row_count(r) >= 1);
  qx_sql_result_destroy(r);
  r = must_query(sql, "SELECT count(*) FROM (SELECT trade_id, sum(volume) OVER (PARTITION BY "
                      "instrument_id ORDER BY lsn) FROM trades) t JOIN accounts a "
                      "ON a.account_id = t.trade_id::VARCHAR");
  if (r) CHECK_STR(cell(r, 0, 0), "0");
  qx_sql_result_destroy(r);
  const char *q = "SELECT instrument_id, sum(volume) FROM trades GROUP BY 1 ORDER BY 1";
  qx_sql_result *first = must_query(sql, q), *second = must_query(sql, q);
  if (first && second) {
    CHECK(!qx_sql_result_cached(first));
    CHECK(qx_sql_result_cached(second));
    CHECK_STR(cell(second, 0, 1), cell(first, 0, 1));
  }
  qx_sql_result_destroy(first);
  qx_sql_result_destroy(second);
  /* Integers of every width and sign print exactly, extremes included. */
  static const char *const integers[][2] = {
      {"(-5)::TINYINT", "-5"},
      {"(-300)::SMALLINT", "-300"},
      {"(-2147483648)::INTEGER", "-2147483648"},
      {"(-9223372036854775808)::BIGINT", "-9223372036854775808"},
      {"(-170141183460469231731687303715884105728)::HUGEINT",
       "-170141183460469231731687303715884105728"},
      {"255::UTINYINT", "255"},
      {"65535::USMALLINT", "65535"},
      {"4294967295::UINTEGER", "4294967295"},
      {"18446744073709551615::UBIGINT", "18446744073709551615"},
      {"(-0.0001)::DECIMAL(18,4)", "-0.0001"},
  };
  for (size_t i = 0; i < sizeof integers / sizeof *integers; i++) {
    char text[128];
    snprintf(text, sizeof text, "SELECT %s", integers[i][0]);
    r = must_query(sql, text);
    if (r) CHECK_STR(cell(r, 0, 0), integers[i][1]);
    qx_sql_result_destroy(r);
  }
}

/* Whether text, run twice at one LSN, is answered from the cache the second time. */
static int cached_second_time(qx_sql *sql, const char *text) {
  qx_sql_result *first = must_query(sql, text), *second = NULL;
  if (first) CHECK_OK(qx_sql_query_at(sql, first, text, &second));
  int cached = second && qx_sql_result_cached(second);
  qx_sql_result_destroy(first);
  qx_sql_result_destroy(second);
  return cached;
}

/* A result that depends on more than the LSN (the clock, a random generator) is never served
 * from the cache; names are matched as whole words outside strings and comments. */
static void check_cache_volatile(qx_sql *sql) {
  static const char *const volatile_queries[] = {
      "SELECT random() AS r",
      "SELECT now()",
      "SELECT current_timestamp",
      "SELECT CURRENT_DATE, localtime",
      "SELECT gen_random_uuid()",
      "SELECT count(*) FROM trades WHERE trading_day(ts) < trading_day(NOW())",
      "SELECT \"random\"()",
      "SELECT 1 /* now() */, random()",
      "SELECT E'it\\'s', random()",
      "SELECT $$it's$$, random()",
      "SELECT 1; SELECT setseed(0.5)",
  };
  for (size_t i = 0; i < sizeof volatile_queries / sizeof *volatile_queries; i++) {
    int cached = cached_second_time(sql, volatile_queries[i]);
    if (cached) fprintf(stderr, "cached although volatile: %s\n", volatile_queries[i]);
    CHECK(!cached);
  }
  static const char *const stable_queries[] = {
      "SELECT 'random()' AS s",
      "SELECT 1 AS randomness, 2 AS nowhere",
      "SELECT 1 -- now()\n",
      "SELECT count(*) FROM trades WHERE ts < TIMESTAMP '2030-01-01'",
  };
  for (size_t i = 0; i < sizeof stable_queries / sizeof *stable_queries; i++) {
    int cached = cached_second_time(sql, stable_queries[i]);
    if (!cached) fprintf(stderr, "not cached: %s\n", stable_queries[i]);
    CHECK(cached);
  }
  CHECK(!cached_second_time(sql, "EXPLAIN ANALYZE SELECT count(*) FROM trades"));
}

static void test_predefined(void) {
  char dir[PATH_MAX];
  test_tmpdir(dir, "sql-predefined");
  qx_db_options o = test_options();
  qx_db *db;
  CHECK_OK(qx_db_open(dir, &o, &db, NULL));
  expected e = {0};
  write_instruments(db);
  write_accounts(db, &e);
  write_trades(db, 1, TRADES / 2 + 1, &e);
  write_position(db, instruments[0].start_price);
  /* Half the trades in Parquet, half still buffered: the views must join both. */
  CHECK_OK(qx_db_olap_flush(db));
  write_trades(db, TRADES / 2 + 1, TRADES + 1, &e);
  qx_db_stats st;
  CHECK_OK(qx_db_stats_get(db, &st));
  CHECK(st.parquet_files > 0 && st.parquet_rows >= TRADES / 2);
  qx_sql *sql;
  CHECK_OK(qx_sql_open(db, NULL, &sql));
  check_totals(sql, &e, TRADES);
  check_ohlcv(sql);
  check_vwap(sql);
  check_account_daily(sql, &e);
  check_materialized(sql, &e);
  check_instruments(sql);
  check_position_pnl(sql, &e, instruments[0].start_price);
  check_functions(sql);
  check_sql_features(sql);
  check_cache_volatile(sql);
  /* Both halves in Parquet: the views' partial files of the two flushes are merged. */
  CHECK_OK(qx_db_olap_flush(db));
  CHECK_OK(qx_db_stats_get(db, &st));
  CHECK(st.parquet_merges > 0);
  check_materialized(sql, &e);
  check_account_daily(sql, &e);
  qx_sql_close(sql);
  CHECK_OK(qx_db_close(db));
  /* After a restart everything is read from Parquet, with the same answers. */
  CHECK_OK(qx_db_open(dir, &o, &db, NULL));
  CHECK_OK(qx_sql_open(db, NULL, &sql));
  check_totals(sql, &e, TRADES);
  check_account_daily(sql, &e);
  check_materialized(sql, &e);
  qx_sql_close(sql);
  CHECK_OK(qx_db_close(db));
  test_rmtree(dir);
}

/* ---- consistency while a writer appends ---- */

#define LIVE_TRADES 20000
#define LIVE_QUERIES 40

typedef struct writer_state {
  qx_db *db;
  uint64_t lsn[LIVE_TRADES + 1]; /* of trade id i */
} writer_state;

static void *writer_main(void *arg) {
  writer_state *w = arg;
  for (uint64_t id = 1; id <= LIVE_TRADES; id++) {
    qx_trade t = make_trade(id);
    CHECK_OK(qx_db_put_record(w->db, QX_TABLE_TRADES, &t, QX_DURABILITY_NONE, &w->lsn[id]));
  }
  return NULL;
}

/* Trades with LSN <= lsn, and the sum of their volumes. */
static void trades_at(const writer_state *w, uint64_t lsn, uint64_t *count, int64_t *volume) {
  *count = 0;
  *volume = 0;
  for (uint64_t id = 1; id <= LIVE_TRADES && w->lsn[id] <= lsn; id++) {
    (*count)++;
    *volume += make_trade(id).volume;
  }
}

static void test_consistency(void) {
  char dir[PATH_MAX];
  test_tmpdir(dir, "sql-consistency");
  qx_db_options o = test_options();
  qx_db *db;
  CHECK_OK(qx_db_open(dir, &o, &db, NULL));
  qx_sql *sql;
  CHECK_OK(qx_sql_open(db, NULL, &sql));
  static writer_state w;
  w.db = db;
  pthread_t writer;
  CHECK(pthread_create(&writer, NULL, writer_main, &w) == 0);
  qx_sql_result *results[LIVE_QUERIES] = {0}, *pinned[LIVE_QUERIES] = {0};
  /* The materialized view is read at the same LSN as the table it aggregates. */
  const char *q = "SELECT (SELECT count(*) FROM trades), (SELECT sum(volume) FROM trades), "
                  "(SELECT sum(trades) FROM klines_1m), (SELECT sum(volume) FROM klines_1m)";
  for (int i = 0; i < LIVE_QUERIES; i++) {
    results[i] = must_query(sql, q);
    if (results[i] && i > 0 && results[0])
      CHECK_OK(qx_sql_query_at(sql, results[0], q, &pinned[i]));
    usleep(2000);
  }
  pthread_join(writer, NULL);
  CHECK_OK(qx_db_olap_flush(db)); /* the pinned snapshot's rows move to Parquet: still the same */
  for (int i = 0; i < LIVE_QUERIES; i++) {
    if (!results[i]) continue;
    uint64_t count;
    int64_t volume;
    trades_at(&w, qx_sql_result_lsn(results[i]), &count, &volume);
    char want[64];
    snprintf(want, sizeof want, "%llu", (unsigned long long)count);
    CHECK_STR(cell(results[i], 0, 0), want);
    if (count) {
      snprintf(want, sizeof want, "%lld", (long long)volume);
      CHECK_STR(cell(results[i], 0, 1), want);
      CHECK_STR(cell(results[i], 0, 2), cell(results[i], 0, 0));
      CHECK_STR(cell(results[i], 0, 3), want);
    }
    if (pinned[i]) CHECK_STR(cell(pinned[i], 0, 0), cell(results[0], 0, 0));
    qx_sql_result_destroy(pinned[i]);
  }
  qx_sql_result *after;
  if (results[0] && qx_sql_query_at(sql, results[0], q, &after) == QX_OK) {
    CHECK_STR(cell(after, 0, 0), cell(results[0], 0, 0));
    qx_sql_result_destroy(after);
  }
  for (int i = 0; i < LIVE_QUERIES; i++)
    qx_sql_result_destroy(results[i]);
  qx_sql_close(sql);
  CHECK_OK(qx_db_close(db));
  test_rmtree(dir);
}

static void check_lookup(qx_sql *sql, const qx_sql_result *at, const char *text, uint64_t rows,
                         const char *want);

/* ---- exactly once after SIGKILL ---- */

/* Writes trades 1, 2, ... durably, reporting each acknowledged id on fd, until killed. */
static void crash_child(const char *dir, uint64_t first_id, int fd) {
  qx_db_options o = test_options();
  qx_db *db;
  if (qx_db_open(dir, &o, &db, NULL) != QX_OK) _exit(3);
  for (uint64_t id = first_id;; id++) {
    qx_trade t = make_trade(id);
    if (qx_db_put_record(db, QX_TABLE_TRADES, &t, QX_DURABILITY_GROUP, NULL) != QX_OK) _exit(4);
    if (write(fd, &id, sizeof id) != sizeof id) _exit(5);
  }
}

/* Kills a writer after it acknowledged `after` trades; returns the last acknowledged id. */
static uint64_t run_and_kill(const char *dir, uint64_t first_id, int after) {
  int fds[2];
  CHECK(pipe(fds) == 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    crash_child(dir, first_id, fds[1]);
  }
  close(fds[1]);
  uint64_t acked = first_id - 1, id;
  for (int i = 0; i < after && read(fds[0], &id, sizeof id) == sizeof id; i++)
    acked = id;
  kill(pid, SIGKILL);
  while (read(fds[0], &id, sizeof id) == sizeof id) /* acknowledged before the kill landed */
    acked = id;
  close(fds[0]);
  int status;
  waitpid(pid, &status, 0);
  CHECK(WIFSIGNALED(status));
  return acked;
}

static void test_crash_exactly_once(void) {
  char dir[PATH_MAX];
  test_tmpdir(dir, "sql-crash");
  uint64_t next = 1;
  for (int round = 0; round < 3; round++) {
    uint64_t acked = run_and_kill(dir, next, 1500 + round * 700);
    qx_db_options o = test_options();
    qx_db *db;
    CHECK_OK(qx_db_open(dir, &o, &db, NULL));
    /* Right after the open the converter is still below the engine's state: a query that
     * reads the engine waits for it instead of failing. */
    qx_sql_options unsynced;
    qx_sql_options_init(&unsynced);
    unsynced.see_latest = 0;
    qx_sql *sql;
    CHECK_OK(qx_sql_open(db, &unsynced, &sql));
    check_lookup(sql, NULL, "SELECT trade_id FROM trades_by_key(1)", 1, "1");
    qx_sql_close(sql);
    CHECK_OK(qx_sql_open(db, NULL, &sql));
    qx_sql_result *r = must_query(sql, "SELECT count(*), count(DISTINCT trade_id), "
                                       "coalesce(max(trade_id), 0), "
                                       "(SELECT coalesce(sum(trades), 0) FROM klines_1m) "
                                       "FROM trades");
    if (r) {
      uint64_t count = strtoull(cell(r, 0, 0), NULL, 10);
      CHECK_STR(cell(r, 0, 1), cell(r, 0, 0)); /* no record twice */
      CHECK_STR(cell(r, 0, 2), cell(r, 0, 0)); /* ids 1..n: none missing */
      CHECK_STR(cell(r, 0, 3), cell(r, 0, 0)); /* the view agrees, also exactly once */
      CHECK(count >= acked);                   /* every acknowledged record */
      next = count + 1;
    }
    qx_sql_result_destroy(r);
    qx_sql_close(sql);
    CHECK_OK(qx_db_close(db));
  }
  test_rmtree(dir);
}

/* ---- safety ---- */

static void check_refused(qx_sql *sql, const char *text, const char *needle) {
  qx_sql_result *r = NULL;
  int rc = qx_sql_query(sql, text, &r);
  CHECK(rc == QX_ERR_SQL || rc == QX_ERR_DENIED);
  if (rc == QX_OK) qx_sql_result_destroy(r);
  if (!strstr(qx_last_error(), needle)) {
    fprintf(stderr, "%s: expected '%s' in: %s\n", text, needle, qx_last_error());
    check_failures++;
  }
}

/* DuckDB on the caller's thread (background 0) or on the engine's idle-priority thread. */
static qx_sql *open_sql(qx_db *db, int background) {
  qx_sql_options so;
  qx_sql_options_init(&so);
  so.background = background;
  qx_sql *sql = NULL;
  CHECK_OK(qx_sql_open(db, &so, &sql));
  return sql;
}

static void test_safety(void) {
  char dir[PATH_MAX];
  test_tmpdir(dir, "sql-safety");
  qx_db_options o = test_options();
  qx_db *db;
  CHECK_OK(qx_db_open(dir, &o, &db, NULL));
  /* The same on an engine running DuckDB on its idle-priority thread: the messages cross. */
  for (int background = 0; background <= 1; background++) {
    qx_sql *sql = open_sql(db, background);
    qx_sql_result *r = must_query(sql, "SELECT 6 * 7");
    if (r) CHECK_STR(cell(r, 0, 0), "42");
    qx_sql_result_destroy(r);
    check_refused(sql, "SELECT * FROM read_csv('/etc/passwd')", "disabled by configuration");
    check_refused(sql, "SELECT * FROM read_text('/etc/hostname')", "disabled by configuration");
    check_refused(sql, "COPY (SELECT 1) TO '/tmp/qaxdb-sql-test.csv'", "Permission");
    check_refused(sql, "INSTALL httpfs", "not allowed");
    check_refused(sql, "LOAD httpfs", "not allowed");
    check_refused(sql, "ATTACH '/tmp/qaxdb-sql-test.db' AS x", "not allowed");
    check_refused(sql, "SET enable_external_access = true", "not allowed");
    check_refused(sql, "CREATE TABLE x AS SELECT 1", "not allowed");
    check_refused(sql, "SELECT 1; COPY (SELECT 1) TO '/tmp/qaxdb-sql-test.csv'", "Permission");
    check_refused(sql, "SELEC 1", "syntax error");
    CHECK(access("/tmp/qaxdb-sql-test.csv", F_OK) != 0);
    qx_sql_close(sql);
  }
  CHECK_OK(qx_db_close(db));
  test_rmtree(dir);
}

/* ---- point lookups through the engine ---- */

static void write_order(qx_db *db, uint64_t id, uint8_t status) {
  qx_order o = {0};
  o.order_id = id;
  snprintf(o.account_id, sizeof o.account_id, "acct01");
  snprintf(o.instrument_id, sizeof o.instrument_id, "%s", instruments[0].id);
  o.status = status;
  o.price = instruments[0].start_price;
  o.volume = 5;
  o.filled_volume = status == QX_STATUS_FILLED ? 5 : 0;
  o.insert_ts = TS0;
  o.update_ts = TS0 + (int64_t)status * NS_PER_MS;
  CHECK_OK(qx_db_put_record(db, QX_TABLE_ORDERS, &o, QX_DURABILITY_GROUP, NULL));
}

/* The lookup returns the view's row, column for column. */
static void check_same_row(qx_sql *sql, const char *lookup, const char *view) {
  qx_sql_result *a = must_query(sql, lookup), *b = must_query(sql, view);
  if (a && b) {
    CHECK_EQ_U64(qx_sql_result_row_count(a), 1);
    CHECK_EQ_U64(qx_sql_result_row_count(b), 1);
    CHECK_EQ_U64(qx_sql_result_column_count(a), qx_sql_result_column_count(b));
    for (uint32_t c = 0; c < qx_sql_result_column_count(a); c++) {
      CHECK_STR(qx_sql_result_column_name(a, c), qx_sql_result_column_name(b, c));
      CHECK_STR(cell(a, 0, c), cell(b, 0, c));
    }
  }
  qx_sql_result_destroy(a);
  qx_sql_result_destroy(b);
}

/* Runs text at the LSN of at (NULL: now) and checks its rows, and the first cell if want. */
static void check_lookup(qx_sql *sql, const qx_sql_result *at, const char *text, uint64_t rows,
                         const char *want) {
  qx_sql_result *r = NULL;
  int rc = at ? qx_sql_query_at(sql, at, text, &r) : qx_sql_query(sql, text, &r);
  CHECK_OK(rc);
  if (rc != QX_OK) return;
  CHECK_EQ_U64(qx_sql_result_row_count(r), rows);
  if (want && qx_sql_result_row_count(r) == 1) CHECK_STR(cell(r, 0, 0), want);
  qx_sql_result_destroy(r);
}

/* The current-state view (read from the engine) holds exactly the newest version of each key
 * in the history (read from Parquet and buffers), at the LSN of at (NULL: now). */
static void check_current_state(qx_sql *sql, const qx_sql_result *at, const char *table,
                                const char *key, uint64_t keys) {
  char text[1024];
  snprintf(text, sizeof text,
           "WITH newest AS (SELECT * FROM %s_history QUALIFY row_number() OVER "
           "(PARTITION BY %s ORDER BY lsn DESC) = 1) "
           "SELECT (SELECT count(*) FROM %s), "
           "(SELECT count(*) FROM (SELECT * FROM %s EXCEPT ALL SELECT * FROM newest)), "
           "(SELECT count(*) FROM (SELECT * FROM newest EXCEPT ALL SELECT * FROM %s))",
           table, key, table, table, table);
  qx_sql_result *r = NULL;
  int rc = at ? qx_sql_query_at(sql, at, text, &r) : qx_sql_query(sql, text, &r);
  CHECK_OK(rc);
  if (rc != QX_OK) return;
  char want[32];
  snprintf(want, sizeof want, "%llu", (unsigned long long)keys);
  CHECK_STR(cell(r, 0, 0), want);
  CHECK_STR(cell(r, 0, 1), "0");
  CHECK_STR(cell(r, 0, 2), "0");
  qx_sql_result_destroy(r);
}

static void test_point_lookup(void) {
  char dir[PATH_MAX];
  test_tmpdir(dir, "sql-lookup");
  qx_db_options o = test_options();
  qx_db *db;
  CHECK_OK(qx_db_open(dir, &o, &db, NULL));
  expected e = {0};
  write_trades(db, 1, 200, &e);
  write_order(db, 7, QX_STATUS_NEW);
  write_order(db, 8, QX_STATUS_NEW);
  write_accounts(db, &e);
  write_position(db, instruments[0].start_price);
  qx_sql *sql;
  CHECK_OK(qx_sql_open(db, NULL, &sql));
  check_same_row(sql, "SELECT * FROM trades_by_key(123)",
                 "SELECT * FROM trades WHERE trade_id = 123");
  check_same_row(sql, "SELECT * FROM orders_by_key(7)", "SELECT * FROM orders WHERE order_id = 7");
  char position[128];
  snprintf(position, sizeof position, "SELECT * FROM positions_by_key('acct00', '%s')",
           instruments[0].id);
  check_lookup(sql, NULL, position, 1, NULL);
  check_current_state(sql, NULL, "accounts", "account_id", ACCOUNTS);

  /* Changes after a result's LSN, then a flush and a full compaction, which drop every version
   * no snapshot needs: a lookup at that LSN still reads the versions of that moment. */
  qx_sql_result *before = must_query(sql, "SELECT count(*) FROM trades");
  write_trades(db, 200, 201, &e);
  write_order(db, 7, QX_STATUS_FILLED);
  CHECK_OK(qx_db_flush(db));
  CHECK_OK(qx_db_compact(db));
  write_order(db, 9, QX_STATUS_NEW);
  if (before) {
    check_lookup(sql, before, "SELECT status FROM orders_by_key(7)", 1, "new");
    check_lookup(sql, before, "SELECT * FROM trades_by_key(200)", 0, NULL);
    check_lookup(sql, before, "SELECT status FROM orders WHERE order_id = 7", 1, "new");
    check_current_state(sql, before, "orders", "order_id", 2);
  }
  check_current_state(sql, NULL, "orders", "order_id", 3);
  check_lookup(sql, NULL, "SELECT status FROM orders_by_key(7)", 1, "filled");
  check_lookup(sql, NULL, "SELECT trade_id FROM trades_by_key(200)", 1, "200");
  check_lookup(sql, NULL, "SELECT * FROM trades_by_key(100000)", 0, NULL);
  qx_sql_result_destroy(before);

  /* A key deleted through the engine leaves the current state; its versions stay history. */
  qx_order deleted = {.order_id = 8};
  uint8_t key[QX_KEY_MAX];
  size_t key_len = qx_key_encode(qx_schema_by_id(QX_TABLE_ORDERS), &deleted, key);
  CHECK_OK(qx_db_delete(db, key, key_len, QX_DURABILITY_GROUP, NULL));
  check_lookup(sql, NULL, "SELECT * FROM orders_by_key(8)", 0, NULL);
  check_lookup(sql, NULL, "SELECT count(*) FROM orders WHERE order_id = 8", 1, "0");
  check_lookup(sql, NULL, "SELECT count(*) FROM orders_history WHERE order_id = 8", 1, "1");

  check_refused(sql, "SELECT * FROM trades_by_key(-1)", "column trade_id: '-1' is not an unsigned");
  check_refused(sql, "SELECT * FROM qx_lookup('nope', '1', NULL, NULL)", "no table named 'nope'");
  check_refused(sql, "SELECT * FROM qx_lookup('trades', '1', '2', NULL)", "more were given");
  check_refused(sql, "SELECT * FROM accounts_by_key(repeat('x', 100))", "the column holds 32");
  qx_sql_close(sql);
  qx_db_stats st;
  CHECK_OK(qx_db_stats_get(db, &st));
  CHECK_EQ_U64(st.live_snapshots, 1); /* only the converter's own pin is left */
  CHECK_OK(qx_db_close(db));
  test_rmtree(dir);
}

/* The orders view read by several threads over key ranges cut at the engine's file
 * boundaries: every order exactly once. */
static void test_current_state_in_parts(void) {
  char dir[PATH_MAX];
  test_tmpdir(dir, "sql-parts");
  qx_db_options o = test_options();
  o.sst_file_size = 256u << 10; /* many files per level, so many parts */
  qx_db *db;
  CHECK_OK(qx_db_open(dir, &o, &db, NULL));
  enum { ORDERS = 40000 };
  for (uint64_t id = 1; id <= ORDERS; id++) {
    qx_order ord = {.order_id = id, .volume = 1, .update_ts = TS0 + (int64_t)id};
    snprintf(ord.account_id, sizeof ord.account_id, "acct%02d", (int)(id % ACCOUNTS));
    qx_durability d = id == ORDERS ? QX_DURABILITY_GROUP : QX_DURABILITY_NONE;
    CHECK_OK(qx_db_put_record(db, QX_TABLE_ORDERS, &ord, d, NULL));
  }
  CHECK_OK(qx_db_compact(db));
  uint8_t prefix[QX_KEY_TABLE_PREFIX];
  qx_split_key cuts[7];
  CHECK(qx_db_split_keys(db, prefix, qx_key_table_prefix(QX_TABLE_ORDERS, prefix), 7, cuts) == 7);
  qx_sql *sql;
  CHECK_OK(qx_sql_open(db, NULL, &sql));
  check_current_state(sql, NULL, "orders", "order_id", ORDERS);
  check_lookup(sql, NULL, "SELECT count(DISTINCT order_id) FROM orders", 1, "40000");
  qx_sql_close(sql);
  CHECK_OK(qx_db_close(db));
  test_rmtree(dir);
}

/* ---- schema evolution ---- */

#define OLD_TICKS 100
#define NEW_TICKS 50

static void write_ticks(qx_db *db, int first, int count, uint16_t version) {
  const qx_schema *ticks = qx_schema_by_id(QX_TABLE_TICKS);
  for (int i = first; i < first + count; i++) {
    qx_tick t = {0};
    snprintf(t.instrument_id, sizeof t.instrument_id, "%s", instruments[0].id);
    t.ts = TS0 + i * NS_PER_MS;
    t.last_price = instruments[0].start_price;
    t.average_price = (int64_t)i * 10; /* beyond a version-1 record: never stored for those */
    qx_wal_record r = {QX_TABLE_TICKS, version, qx_schema_record_size(ticks, version), 0, &t};
    /* the converter reads only durable records */
    qx_durability d = i + 1 == first + count ? QX_DURABILITY_GROUP : QX_DURABILITY_NONE;
    CHECK_OK(qx_db_write_records(db, &r, 1, d, NULL));
  }
}

/* Old rows read the added column as NULL, whether in a Parquet file written before the column
 * existed, a file merged from old and new ones, or the WAL replayed at open. */
static void check_evolved_ticks(qx_sql *sql) {
  qx_sql_result *r = must_query(sql, "SELECT count(*) FILTER (WHERE average_price IS NULL), "
                                     "count(average_price), sum(average_price) FROM ticks");
  if (!r) return;
  int64_t sum = 0;
  for (int i = OLD_TICKS; i < OLD_TICKS + NEW_TICKS; i++)
    sum += (int64_t)i * 10;
  char want[64];
  CHECK_STR(cell(r, 0, 0), "100");
  CHECK_STR(cell(r, 0, 1), "50");
  money_text(sum, want, sizeof want);
  CHECK_STR(cell(r, 0, 2), want);
  qx_sql_result_destroy(r);
}

/* The engine returns each record at the size of the version it was written with. */
static void check_tick_sizes(qx_db *db) {
  const qx_schema *ticks = qx_schema_by_id(QX_TABLE_TICKS);
  for (int i = OLD_TICKS - 1; i <= OLD_TICKS; i++) {
    qx_tick t = {0};
    snprintf(t.instrument_id, sizeof t.instrument_id, "%s", instruments[0].id);
    t.ts = TS0 + i * NS_PER_MS;
    uint8_t key[QX_KEY_MAX];
    size_t len = qx_key_encode(ticks, &t, key);
    qx_db_value v;
    CHECK_OK(qx_db_get(db, NULL, key, len, &v));
    CHECK_EQ_U64(v.size, qx_schema_record_size(ticks, i < OLD_TICKS ? 1 : 2));
    CHECK_EQ_U64(qx_schema_version_of_size(ticks, (uint32_t)v.size), i < OLD_TICKS ? 1 : 2);
    qx_db_value_release(&v);
  }
}

/* Positions gained close_profit in version 2: an older record reads it as NULL from the engine
 * (the current state, lookups by key) as from the history. */
static void check_evolved_positions(qx_db *db) {
  const qx_schema *positions = qx_schema_by_id(QX_TABLE_POSITIONS);
  qx_position p[2] = {{.long_volume = 1, .close_profit = 70000},
                      {.long_volume = 2, .close_profit = 80000}};
  qx_wal_record r[2];
  for (int v = 0; v < 2; v++) {
    snprintf(p[v].account_id, sizeof p[v].account_id, "acct0%d", v + 1);
    snprintf(p[v].instrument_id, sizeof p[v].instrument_id, "%s", instruments[0].id);
    r[v] = (qx_wal_record){QX_TABLE_POSITIONS, (uint16_t)(v + 1),
                           qx_schema_record_size(positions, (unsigned)(v + 1)), 0, &p[v]};
  }
  CHECK_OK(qx_db_write_records(db, r, 2, QX_DURABILITY_GROUP, NULL));
  qx_sql *sql;
  CHECK_OK(qx_sql_open(db, NULL, &sql));
  qx_sql_result *res = must_query(sql, "SELECT c.long_volume, c.close_profit, h.close_profit "
                                       "FROM positions c JOIN positions_history h USING (lsn) "
                                       "ORDER BY c.account_id");
  if (res) {
    CHECK_EQ_U64(qx_sql_result_row_count(res), 2);
    CHECK_STR(cell(res, 0, 0), "1");
    CHECK_STR(cell(res, 0, 1), "NULL"); /* version 1 */
    CHECK_STR(cell(res, 0, 2), "NULL");
    CHECK_STR(cell(res, 1, 1), "8.0000"); /* version 2 */
    CHECK_STR(cell(res, 1, 2), "8.0000");
  }
  qx_sql_result_destroy(res);
  char lookup[128];
  snprintf(lookup, sizeof lookup, "SELECT close_profit FROM positions_by_key('acct01', '%s')",
           instruments[0].id);
  check_lookup(sql, NULL, lookup, 1, "NULL");
  qx_sql_close(sql);
}

static void test_schema_evolution(void) {
  char dir[PATH_MAX];
  test_tmpdir(dir, "sql-evolution");
  qx_db_options o = test_options();
  qx_db *db;
  CHECK_OK(qx_db_open(dir, &o, &db, NULL));
  write_ticks(db, 0, OLD_TICKS, 1);
  CHECK_OK(qx_db_olap_flush(db));
  write_ticks(db, OLD_TICKS, NEW_TICKS, 2);
  qx_sql *sql;
  CHECK_OK(qx_sql_open(db, NULL, &sql));
  check_evolved_ticks(sql); /* an old file plus buffered rows of both versions */
  qx_sql_close(sql);
  CHECK_OK(qx_db_olap_flush(db));
  qx_db_stats st;
  CHECK_OK(qx_db_stats_get(db, &st));
  CHECK_EQ_U64(st.parquet_files, 1); /* the old and the new file merged */
  CHECK_OK(qx_db_close(db));
  CHECK_OK(qx_db_open(dir, &o, &db, NULL));
  CHECK_OK(qx_sql_open(db, NULL, &sql));
  check_evolved_ticks(sql);
  qx_sql_close(sql);
  check_tick_sizes(db); /* replayed from the WAL or read from SSTables, each keeps its version */
  check_evolved_positions(db);
  CHECK_OK(qx_db_close(db));
  test_rmtree(dir);
}

/* ---- compacting Parquet ---- */

#define NS_PER_DAY (86400LL * 1000000000LL)

/* The part files in <dir>/olap/<table>/date=<date>. */
static int part_files(const char *dir, const char *table, const char *date) {
  char path[PATH_MAX + 64];
  snprintf(path, sizeof path, "%s/olap/%s/date=%s", dir, table, date);
  DIR *d = opendir(path);
  if (!d) return 0;
  int n = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;)
    if (strncmp(e->d_name, "part-", 5) == 0 && strstr(e->d_name, ".parquet")) n++;
  closedir(d);
  return n;
}

/* Trades ids [from, to) on trading day TS0 + day, written and flushed to one Parquet file. */
static void write_day_trades(qx_db *db, uint64_t from, uint64_t to, int day) {
  for (uint64_t id = from; id < to; id++) {
    qx_trade t = make_trade(id);
    t.ts = TS0 + day * NS_PER_DAY + (int64_t)(id - from) * NS_PER_MS;
    CHECK_OK(qx_db_put_record(db, QX_TABLE_TRADES, &t, QX_DURABILITY_GROUP, NULL));
  }
  CHECK_OK(qx_db_olap_flush(db));
}

static void check_trade_count(qx_db *db, const char *want) {
  qx_sql *sql;
  CHECK_OK(qx_sql_open(db, NULL, &sql));
  qx_sql_result *r = must_query(sql, "SELECT count(DISTINCT trade_id) || ' ' || count(*) || ' ' "
                                     "|| (SELECT sum(trades) FROM klines_1m) FROM trades");
  if (r) CHECK_STR(cell(r, 0, 0), want);
  qx_sql_result_destroy(r);
  qx_sql_close(sql);
}

/* A folder written before the instruments table (or without reference data) reads an empty
 * catalog, and the queries over it run. */
static void check_no_reference_data(qx_db *db) {
  qx_sql *sql;
  CHECK_OK(qx_sql_open(db, NULL, &sql));
  qx_sql_result *r = must_query(sql, "SELECT (SELECT count(*) FROM instruments) || ' ' || "
                                     "(SELECT count(*) FROM instruments_history) || ' ' || "
                                     "(SELECT count(*) FROM position_pnl())");
  if (r) CHECK_STR(cell(r, 0, 0), "0 0 0");
  qx_sql_result_destroy(r);
  qx_sql_close(sql);
}

/* The converter leaves the open trading day's small files until there are olap_merge_files of
 * them; compacting merges every table's files of each day into one, views included, and SQL
 * reads the same rows before and after, and after a reopen. */
static void test_olap_compact(void) {
  char dir[PATH_MAX];
  test_tmpdir(dir, "sql-compact");
  qx_db_options o = test_options();
  o.olap_merge_files = 16;
  o.olap_flush_interval_ms = 10000;
  qx_db *db;
  CHECK_OK(qx_db_open(dir, &o, &db, NULL));
  write_day_trades(db, 1, 101, 0);
  write_day_trades(db, 101, 201, 1);
  write_day_trades(db, 201, 301, 1);
  write_day_trades(db, 301, 401, 1);
  CHECK_EQ_U64(part_files(dir, "trades", "2026-03-02"), 1);
  CHECK_EQ_U64(part_files(dir, "trades", "2026-03-03"), 3); /* the open day: not yet merged */
  check_trade_count(db, "400 400 400");
  check_no_reference_data(db);
  CHECK_OK(qx_db_olap_compact(db));
  qx_db_stats st;
  CHECK_OK(qx_db_stats_get(db, &st));
  CHECK_EQ_U64(st.parquet_files, 6); /* 3 tables and views, 2 days */
  check_trade_count(db, "400 400 400");
  CHECK_OK(qx_db_close(db));
  /* The merged inputs are deleted once no reader holds them: by the close at the latest. */
  static const char *const tables[] = {"trades", "klines_1m", "account_daily_totals"};
  for (int t = 0; t < 3; t++) {
    CHECK_EQ_U64(part_files(dir, tables[t], "2026-03-02"), 1);
    CHECK_EQ_U64(part_files(dir, tables[t], "2026-03-03"), 1);
  }
  CHECK_OK(qx_db_open(dir, &o, &db, NULL));
  check_trade_count(db, "400 400 400");
  CHECK_OK(qx_db_close(db));
  test_rmtree(dir);
}

/* ---- the text of every type, statements one by one, interrupts ---- */

/* Scalars print as DuckDB's own VARCHAR cast prints them (DuckDB is the reference here). */
static const char *const as_duckdb_prints[] = {
    "INTERVAL 1 DAY",
    "INTERVAL '-1 year -2 months 3 days 04:05:06.5'",
    "INTERVAL 14 MONTH",
    "INTERVAL 0 SECOND",
    "INTERVAL '-00:00:01.000001'",
    "INTERVAL 100 HOUR",
    "INTERVAL 1 MONTH - INTERVAL 2 MONTH",
    "TIMESTAMP_NS '2026-03-02 09:30:00.5' - TIMESTAMP_NS '2026-03-01 09:29:58.25'",
    "DATE '2026-03-02'",
    "DATE '0044-03-15 (BC)'",
    "DATE 'infinity'",
    "DATE '-infinity'",
    "DATE '12345-01-01'",
    "TIME '09:30:00'",
    "TIME '12:00:00.000005'",
    "TIME '24:00:00'",
    "TIMETZ '12:00:00.5+05:30'",
    "TIMETZ '12:00:00-07'",
    "TIMESTAMP_S '2026-03-02 09:30:00'",
    "TIMESTAMP_MS '2026-03-02 09:30:00.12'",
    "TIMESTAMP '2026-03-02 09:30:00.000001'",
    "TIMESTAMP_NS '2026-03-02 09:30:00.123456789'",
    "TIMESTAMP_NS '1969-12-31 23:59:59.999999999'",
    "TIMESTAMP '0044-03-15 (BC) 12:00:00.5'",
    "TIMESTAMP 'infinity'",
    "TIMESTAMP '-infinity'",
    "'ab'::BLOB",
    "'\\x00\\xFFa''b\"\\x5C'::BLOB",
    "''::BLOB",
    "'00000000-0000-0000-0000-000000000001'::UUID",
    "'ffffffff-ffff-ffff-ffff-ffffffffffff'::UUID",
    "'7b0c2a3e-9f1d-4c55-8e0a-1234567890ab'::UUID",
    "'101'::BIT",
    "'000000001'::BIT",
    "'sad'::ENUM('sad', 'happy')",
    "0::VARINT",
    "255::VARINT",
    "(-256)::VARINT",
    "12345678901234567890123456789012345678901234567890::VARINT",
    "(-99999999999999999999999999999999999999)::VARINT",
    "170141183460469231731687303715884105727::HUGEINT",
    "340282366920938463463374607431768211455::UHUGEINT",
    "1.5::DECIMAL(4,1)",
    "(-1.5)::DECIMAL(9,3)",
    "(-0.05)::DECIMAL(18,4)",
    "0.00001::DECIMAL(38,10)",
    "(-99999999999999999999999999999.999999999)::DECIMAL(38,9)",
    "true",
    "'text, with a comma'",
};

/* What every other value prints as, and the kind of its column. */
static const struct {
  const char *expr, *text;
  qx_sql_value_kind kind;
} value_texts[] = {
    {"TIMESTAMPTZ '2026-03-02 09:30:00.5+08'", "2026-03-02 01:30:00.5+00", QX_SQL_VALUE_TEXT},
    {"0.1::FLOAT", "0.1", QX_SQL_VALUE_NUMBER},
    {"123456789::FLOAT", "1.2345679e+08", QX_SQL_VALUE_NUMBER},
    {"(1 / 3)::DOUBLE", "0.3333333333333333", QX_SQL_VALUE_NUMBER},
    {"1e20::DOUBLE", "1e+20", QX_SQL_VALUE_NUMBER},
    {"'-inf'::FLOAT", "-inf", QX_SQL_VALUE_NUMBER},
    {"'nan'::DOUBLE", "nan", QX_SQL_VALUE_NUMBER},
    {"(-5)::TINYINT", "-5", QX_SQL_VALUE_NUMBER},
    {"false", "false", QX_SQL_VALUE_BOOLEAN},
    {"INTERVAL 1 DAY", "1 day", QX_SQL_VALUE_TEXT},
    {"'ab'::BLOB", "ab", QX_SQL_VALUE_TEXT},
    {"[1, 2]", "[1,2]", QX_SQL_VALUE_JSON},
    {"[]::INTEGER[]", "[]", QX_SQL_VALUE_JSON},
    {"[NULL, 'a']", "[null,\"a\"]", QX_SQL_VALUE_JSON},
    {"[[1], [2, 3]]", "[[1],[2,3]]", QX_SQL_VALUE_JSON},
    {"[1, 2]::INTEGER[2]", "[1,2]", QX_SQL_VALUE_JSON},
    {"[['a', 'b']]::VARCHAR[2][]", "[[\"a\",\"b\"]]", QX_SQL_VALUE_JSON},
    {"{'a': 1, 'b': 'x\"y\\z'}", "{\"a\":1,\"b\":\"x\\\"y\\\\z\"}", QX_SQL_VALUE_JSON},
    {"{'a': NULL}", "{\"a\":null}", QX_SQL_VALUE_JSON},
    {"map([1, 2], ['a', 'b'])", "{\"1\":\"a\",\"2\":\"b\"}", QX_SQL_VALUE_JSON},
    {"map(['k'], [[1.5]])", "{\"k\":[1.5]}", QX_SQL_VALUE_JSON},
    {"union_value(num := 2)", "2", QX_SQL_VALUE_JSON},
    {"union_value(s := 'x')::UNION(n INTEGER, s VARCHAR)", "\"x\"", QX_SQL_VALUE_JSON},
    {"[INTERVAL 1 DAY, INTERVAL 90 MINUTE]", "[\"1 day\",\"01:30:00\"]", QX_SQL_VALUE_JSON},
    {"[TIMESTAMP_NS '2026-03-02 09:30:00.000000001']", "[\"2026-03-02 09:30:00.000000001\"]",
     QX_SQL_VALUE_JSON},
    {"['sad'::ENUM('sad', 'happy')]", "[\"sad\"]", QX_SQL_VALUE_JSON},
    {"[chr(10) || chr(1)]", "[\"\\u000a\\u0001\"]", QX_SQL_VALUE_JSON},
    {"{'t': true, 'd': 1.50::DECIMAL(4,2), 'h': "
     "(-170141183460469231731687303715884105728)::HUGEINT,"
     " 'f': 'inf'::DOUBLE, 'b': '\\xFF'::BLOB, 'u': '00000000-0000-0000-0000-000000000001'::UUID,"
     " 'v': (-256)::VARINT, 'bits': '01'::BIT}",
     "{\"t\":true,\"d\":1.50,\"h\":-170141183460469231731687303715884105728,\"f\":\"inf\","
     "\"b\":\"\\\\xFF\",\"u\":\"00000000-0000-0000-0000-000000000001\",\"v\":-256,\"bits\":\"01\"}",
     QX_SQL_VALUE_JSON},
    {"[{'k': map([1], [[2]])}]", "[{\"k\":{\"1\":[2]}}]", QX_SQL_VALUE_JSON},
    {"'{\"a\": [1]}'::JSON", "{\"a\": [1]}", QX_SQL_VALUE_JSON},
    {"[{'a': 1}::JSON]", "[{\"a\":1}]", QX_SQL_VALUE_JSON},
};

static void check_value_texts(qx_sql *sql) {
  for (size_t i = 0; i < sizeof as_duckdb_prints / sizeof *as_duckdb_prints; i++) {
    char text[512];
    snprintf(text, sizeof text, "SELECT %s, (%s)::VARCHAR", as_duckdb_prints[i],
             as_duckdb_prints[i]);
    qx_sql_result *r = must_query(sql, text);
    if (r) CHECK_STR(cell(r, 0, 0), cell(r, 0, 1));
    qx_sql_result_destroy(r);
  }
  for (size_t i = 0; i < sizeof value_texts / sizeof *value_texts; i++) {
    char text[512];
    snprintf(text, sizeof text, "SELECT %s, NULL::INTEGER[]", value_texts[i].expr);
    qx_sql_result *r = must_query(sql, text);
    if (!r) continue;
    CHECK_STR(cell(r, 0, 0), value_texts[i].text);
    CHECK_EQ_U64(qx_sql_result_column_kind(r, 0), value_texts[i].kind);
    CHECK(qx_sql_result_text(r, 0, 1) == NULL);
    qx_sql_result_destroy(r);
  }
  /* DuckDB's C API does not describe TIME_NS: an error says so rather than print a guess. */
  qx_sql_result *r = NULL;
  CHECK_RC(qx_sql_query(sql, "SELECT '12:00:00.5'::TIME_NS AS t", &r), QX_ERR_SQL);
  CHECK(strstr(qx_last_error(), "column t") && strstr(qx_last_error(), "cast it"));
  /* Nested values in every chunk of a long result (each chunk's list offsets start again). */
  r = must_query(sql, "SELECT [i, i + 1], {'i': i} FROM range(5000) t(i)");
  if (r) {
    CHECK_EQ_U64(qx_sql_result_row_count(r), 5000);
    CHECK_STR(cell(r, 4999, 0), "[4999,5000]");
    CHECK_STR(cell(r, 2048, 1), "{\"i\":2048}");
  }
  qx_sql_result_destroy(r);
}

typedef struct collected {
  qx_sql_result *results[4];
  int count;
  int refuse_after; /* each's answer is QX_ERR_CLOSED once this many came */
} collected;

static int collect(qx_sql_result *r, void *ctx) {
  collected *c = ctx;
  if (c->count == 4) {
    qx_sql_result_destroy(r);
    return QX_ERR_INVALID_ARG;
  }
  c->results[c->count++] = r;
  return c->refuse_after && c->count >= c->refuse_after ? QX_ERR_CLOSED : QX_OK;
}

static void collected_free(collected *c) {
  for (int i = 0; i < c->count; i++)
    qx_sql_result_destroy(c->results[i]);
  *c = (collected){0};
}

/* Each statement's result in order; a failing one stops the rest after handing out those
 * before it; one statement alone goes through the result cache. */
static void check_query_each(qx_sql *sql) {
  collected c = {0};
  CHECK_OK(qx_sql_query_each(sql, "SELECT 1 AS a; SELECT 'x' AS b, 2 AS c;", collect, &c));
  CHECK(c.count == 2);
  if (c.count == 2) {
    CHECK_STR(qx_sql_result_column_name(c.results[0], 0), "a");
    CHECK_STR(cell(c.results[1], 0, 1), "2");
    CHECK_EQ_U64(qx_sql_result_lsn(c.results[0]), qx_sql_result_lsn(c.results[1]));
  }
  collected_free(&c);
  CHECK_RC(qx_sql_query_each(sql, "SELECT 1; SELECT nosuch; SELECT 3", collect, &c), QX_ERR_SQL);
  CHECK(strstr(qx_last_error(), "nosuch") != NULL);
  CHECK(c.count == 1);
  collected_free(&c);
  c.refuse_after = 1;
  CHECK_RC(qx_sql_query_each(sql, "SELECT 1; SELECT 2", collect, &c), QX_ERR_CLOSED);
  CHECK(c.count == 1);
  collected_free(&c);
  CHECK(qx_sql_query_each(sql, "SELECT 1; COPY (SELECT 1) TO '/tmp/x.csv'", collect, &c) != QX_OK);
  CHECK(c.count == 1);
  collected_free(&c);
  CHECK_RC(qx_sql_query_each(sql, "-- nothing", collect, &c), QX_ERR_SQL);
  CHECK(c.count == 0);
  for (int i = 0; i < 2; i++)
    CHECK_OK(qx_sql_query_each(sql, "SELECT 41 + 1", collect, &c));
  CHECK(c.count == 2);
  if (c.count == 2) CHECK(qx_sql_result_cached(c.results[1]));
  collected_free(&c);
}

typedef struct slow_query {
  qx_sql *sql;
  atomic_int done;
  int rc;
  char error[256];
} slow_query;

static void *run_slow_query(void *arg) {
  slow_query *q = arg;
  qx_sql_result *r = NULL;
  q->rc =
      qx_sql_query(q->sql, "SELECT count(*) FROM range(10000000000000) t(x) WHERE x % 7 = 3", &r);
  snprintf(q->error, sizeof q->error, "%s", qx_last_error());
  qx_sql_result_destroy(r);
  atomic_store(&q->done, 1);
  return NULL;
}

/* qx_sql_interrupt from another thread cancels a query that would run for hours; the engine
 * goes on, and an interrupt while nothing runs does not touch the next query. */
static void check_interrupt(qx_sql *sql) {
  slow_query q = {.sql = sql};
  pthread_t t;
  CHECK(pthread_create(&t, NULL, run_slow_query, &q) == 0);
  /* Interrupts until the query ends: one that comes before it starts is not its to take. */
  for (int i = 0; i < 600000 && !atomic_load(&q.done); i++) {
    qx_sql_interrupt(sql);
    usleep(100);
  }
  if (!atomic_load(&q.done)) {
    fprintf(stderr, "the slow query was not interrupted\n");
    abort();
  }
  pthread_join(t, NULL);
  CHECK_RC(q.rc, QX_ERR_SQL);
  CHECK(strstr(q.error, "Interrupted") != NULL);
  qx_sql_interrupt(sql);
  qx_sql_result *r = must_query(sql, "SELECT count(*) FROM range(100000)");
  if (r) CHECK_STR(cell(r, 0, 0), "100000");
  qx_sql_result_destroy(r);
}

static void test_types_statements_interrupts(void) {
  char dir[PATH_MAX];
  test_tmpdir(dir, "sql-types");
  qx_db_options o = test_options();
  qx_db *db;
  CHECK_OK(qx_db_open(dir, &o, &db, NULL));
  for (int background = 0; background <= 1; background++) {
    qx_sql *sql = open_sql(db, background);
    if (!background) check_value_texts(sql);
    check_query_each(sql);
    check_interrupt(sql);
    qx_sql_close(sql);
  }
  CHECK_OK(qx_db_close(db));
  test_rmtree(dir);
}

int main(void) {
  qx_sim_instruments_init(instruments, SIM_MAX_INSTRUMENTS);
  test_predefined();
  test_consistency();
  test_crash_exactly_once();
  test_safety();
  test_point_lookup();
  test_current_state_in_parts();
  test_schema_evolution();
  test_olap_compact();
  test_types_statements_interrupts();
  return test_finish("test_sql");
}
