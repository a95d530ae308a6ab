/* The SQL catalog (see catalog.h): view definitions generated from the table schemas and the
 * Parquet set, and the predefined queries as DuckDB table macros. */
#include "query/catalog.h"

#include "olap/duck_exec.h"
#include "olap/materialized.h"
#include "qaxdb/records.h"
#include "qaxdb/schema.h"
#include "query/lookup.h"
#include "util/error.h"
#include "util/grow.h"

/* Runs t and empties it. */
static int run(duckdb_connection con, qx_buffer *t) {
  const char *sql = qx_buffer_text(t);
  int rc = sql ? qx_duck_exec(con, sql, "catalog", NULL)
               : qx_fail(QX_ERR_NOMEM, "out of memory building SQL");
  qx_buffer_free(t);
  return rc;
}

/* ---- table views ---- */

/* "SELECT * FROM read_parquet([...]) UNION ALL BY NAME " over the files of Parquet table id,
 * or nothing if it has none. Files are matched by column name only where they can differ: a
 * table past its first schema version may have files without the later columns. Otherwise
 * every file has the same columns and DuckDB is spared reading each footer to unify them
 * (it halves a point query over a month of files). */
static void add_files(qx_buffer *t, uint16_t id, const qx_parquet_set *files, int evolved) {
  qx_buffer read = {0};
  if (qx_parquet_put_read(&read, files->files, files->count, id,
                          evolved ? "hive_partitioning = true, hive_types = {'date': DATE}, "
                                    "union_by_name = true"
                                  : "hive_partitioning = true, hive_types = {'date': DATE}")) {
    qx_buffer_puts(t, "SELECT * FROM ");
    qx_buffer_puts(t, qx_buffer_text(&read));
    qx_buffer_puts(t, " UNION ALL BY NAME ");
  }
  qx_buffer_free(&read);
}

static void add_scan(qx_buffer *t, const qx_schema *s) {
  qx_buffer_puts(t, "SELECT * FROM qx_scan('");
  qx_buffer_puts(t, s->name);
  qx_buffer_puts(t, "')");
}

static void add_sources(qx_buffer *t, const qx_schema *s, const qx_parquet_set *files) {
  add_files(t, (uint16_t)s->table_id, files, s->version > 1);
  add_scan(t, s);
}

/* The current state comes from the engine, which keeps the newest version of each key: no
 * deduplication of the history per query. */
static void add_current_state(qx_buffer *t, const qx_schema *s) {
  qx_buffer_puts(t, "CREATE OR REPLACE VIEW ");
  qx_buffer_puts(t, s->name);
  qx_buffer_puts(t, " AS SELECT * FROM qx_current('");
  qx_buffer_puts(t, s->name);
  qx_buffer_puts(t, "')");
}

/* A materialized view: its stored partial rows plus a partial of the buffered source rows,
 * combined. */
static int define_materialized(duckdb_connection con, const qx_mv *v, const qx_parquet_set *files) {
  qx_buffer live = {0}, partials = {0}, t = {0};
  add_scan(&live, qx_schema_by_id(v->source_table));
  add_files(&partials, v->id, files, 0);
  qx_buffer_puts(&partials, "SELECT * FROM (");
  qx_buffer_put_template(&partials, v->partial, qx_buffer_text(&live));
  qx_buffer_puts(&partials, ")");
  qx_buffer_puts(&t, "CREATE OR REPLACE VIEW ");
  qx_buffer_puts(&t, v->name);
  qx_buffer_puts(&t, " AS SELECT ");
  qx_buffer_puts(&t, v->select);
  qx_buffer_puts(&t, " FROM (");
  qx_buffer_put_template(&t, v->combine, qx_buffer_text(&partials));
  qx_buffer_puts(&t, ")");
  qx_buffer_free(&live);
  qx_buffer_free(&partials);
  return run(con, &t);
}

int qx_catalog_define_views(duckdb_connection con, const qx_parquet_set *files) {
  int rc = QX_OK;
  int views;
  const qx_mv *v = qx_mv_all(&views);
  for (int i = 0; i < views && rc == QX_OK; i++)
    rc = define_materialized(con, &v[i], files);
  for (int id = QX_TABLE_MIN; id <= QX_TABLE_MAX && rc == QX_OK; id++) {
    const qx_schema *s = qx_schema_by_id(id);
    qx_buffer t = {0};
    qx_buffer_puts(&t, "CREATE OR REPLACE VIEW ");
    qx_buffer_puts(&t, s->name);
    qx_buffer_puts(&t, s->latest_state ? "_history AS " : " AS ");
    add_sources(&t, s, files);
    rc = run(con, &t);
    if (rc == QX_OK && s->latest_state) {
      add_current_state(&t, s);
      rc = run(con, &t);
    }
  }
  return rc;
}

/* ---- predefined queries ---- */

static const char *const predefined[] = {
    /* OHLCV bars of one instrument (NULL: all) at a bar length such as INTERVAL 1 MINUTE. */
    "CREATE OR REPLACE MACRO ohlcv(instrument, bar) AS TABLE "
    "SELECT instrument_id, time_bucket(bar, ts::TIMESTAMP) AS bar_start, "
    "arg_min(price, lsn) AS open, max(price) AS high, min(price) AS low, "
    "arg_max(price, lsn) AS close, sum(volume) AS volume, sum(price * volume) AS turnover, "
    "count(*) AS trades FROM trades "
    "WHERE instrument IS NULL OR instrument_id = instrument "
    "GROUP BY ALL ORDER BY instrument_id, bar_start",

    /* Volume-weighted average price per instrument over [from_ts, to_ts). */
    "CREATE OR REPLACE MACRO vwap(instrument, from_ts, to_ts) AS TABLE "
    "SELECT instrument_id, round(sum(price * volume) / sum(volume), 4)::DECIMAL(18,4) AS vwap, "
    "sum(volume) AS volume FROM trades "
    "WHERE (instrument IS NULL OR instrument_id = instrument) "
    "AND ts >= from_ts::TIMESTAMP_NS AND ts < to_ts::TIMESTAMP_NS "
    "GROUP BY instrument_id ORDER BY instrument_id",

    /* Quoted spread statistics per bar from the ticks with both sides present. */
    "CREATE OR REPLACE MACRO spread(instrument, bar) AS TABLE "
    "SELECT instrument_id, time_bucket(bar, ts::TIMESTAMP) AS bar_start, "
    "avg(ask_price - bid_price) AS avg_spread, min(ask_price - bid_price) AS min_spread, "
    "max(ask_price - bid_price) AS max_spread, count(*) AS ticks FROM ticks "
    "WHERE (instrument IS NULL OR instrument_id = instrument) "
    "AND bid_price > 0 AND ask_price > 0 GROUP BY ALL ORDER BY instrument_id, bar_start",

    /* Per account and trading day: traded volume, trades, turnover (from the materialized
     * account_daily_totals), commission and realized PnL (the day's change of the cumulative
     * ledger fields), and the closing balance. */
    "CREATE OR REPLACE MACRO account_daily() AS TABLE "
    "WITH traded AS (SELECT account_id, date, volume, trade_count, turnover "
    "  FROM account_daily_totals), "
    "eod AS (SELECT account_id, date, arg_max(commission, lsn) AS commission_total, "
    "  arg_max(close_profit, lsn) AS close_profit_total, arg_max(balance, lsn) AS balance "
    "  FROM accounts_history GROUP BY ALL), "
    "daily AS (SELECT account_id, date, balance, "
    "  commission_total - coalesce(lag(commission_total) OVER w, 0) AS commission, "
    "  close_profit_total - coalesce(lag(close_profit_total) OVER w, 0) AS realized_pnl "
    "  FROM eod WINDOW w AS (PARTITION BY account_id ORDER BY date)) "
    "SELECT coalesce(d.account_id, t.account_id) AS account_id, coalesce(d.date, t.date) AS date, "
    "coalesce(t.volume, 0) AS volume, coalesce(t.trade_count, 0) AS trade_count, "
    "coalesce(t.turnover, 0) AS turnover, coalesce(d.commission, 0) AS commission, "
    "coalesce(d.realized_pnl, 0) AS realized_pnl, d.balance "
    "FROM daily d FULL JOIN traded t ON d.account_id = t.account_id AND d.date = t.date "
    "ORDER BY account_id, date",

    /* Per account and instrument: the profit realized by closes so far (positions version 2;
     * 0 for records written before it) and the open position marked to market at the
     * instrument's last trade price, with the contract multiplier of the instruments table. */
    "CREATE OR REPLACE MACRO position_pnl() AS TABLE "
    "WITH last AS (SELECT instrument_id, arg_max(price, lsn) AS last_price FROM trades "
    "  GROUP BY instrument_id), "
    "marked AS (SELECT p.account_id, p.instrument_id, p.long_volume, p.short_volume, "
    "  l.last_price, coalesce(p.close_profit, 0) AS realized_pnl, "
    "  (p.long_volume * l.last_price * i.multiplier - p.long_open_cost) "
    "  + (p.short_open_cost - p.short_volume * l.last_price * i.multiplier) AS unrealized_pnl "
    "  FROM positions p JOIN instruments i USING (instrument_id) "
    "  JOIN last l USING (instrument_id)) "
    "SELECT *, realized_pnl + unrealized_pnl AS total_pnl FROM marked "
    "WHERE long_volume <> 0 OR short_volume <> 0 OR realized_pnl <> 0 "
    "ORDER BY account_id, instrument_id",

    /* Per account: realized PnL and commission so far, open positions marked to market. */
    "CREATE OR REPLACE MACRO account_pnl() AS TABLE "
    "WITH open AS (SELECT account_id, sum(unrealized_pnl) AS unrealized_pnl "
    "  FROM position_pnl() GROUP BY account_id) "
    "SELECT a.account_id, a.close_profit AS realized_pnl, a.commission, "
    "coalesce(o.unrealized_pnl, 0) AS unrealized_pnl, "
    "a.close_profit + coalesce(o.unrealized_pnl, 0) - a.commission AS net_pnl, a.balance "
    "FROM accounts a LEFT JOIN open o USING (account_id) ORDER BY account_id",
};

/* <table>_by_key(key columns...): the record with that primary key through qx_lookup, which
 * takes every key part as text and timestamps as nanoseconds. */
static int create_lookup(duckdb_connection con, const qx_schema *s) {
  if (s->key_column_count > QX_LOOKUP_KEY_PARTS)
    return qx_fail(QX_ERR_INVALID_ARG, "%s: more key columns than qx_lookup takes", s->name);
  qx_buffer t = {0};
  qx_buffer_puts(&t, "CREATE OR REPLACE MACRO ");
  qx_buffer_puts(&t, s->name);
  qx_buffer_puts(&t, "_by_key(");
  for (uint32_t k = 0; k < s->key_column_count; k++) {
    qx_buffer_puts(&t, k ? ", " : "");
    qx_buffer_puts(&t, s->columns[s->key_columns[k]].name);
  }
  qx_buffer_puts(&t, ") AS TABLE SELECT * FROM qx_lookup('");
  qx_buffer_puts(&t, s->name);
  qx_buffer_puts(&t, "'");
  for (uint32_t k = 0; k < QX_LOOKUP_KEY_PARTS; k++) {
    const qx_column *col = k < s->key_column_count ? &s->columns[s->key_columns[k]] : NULL;
    if (!col)
      qx_buffer_puts(&t, ", NULL");
    else if (col->type == QX_COL_TIMESTAMP) {
      qx_buffer_puts(&t, ", epoch_ns(");
      qx_buffer_puts(&t, col->name);
      qx_buffer_puts(&t, "::TIMESTAMP_NS)::VARCHAR");
    } else {
      qx_buffer_puts(&t, ", ");
      qx_buffer_puts(&t, col->name);
      qx_buffer_puts(&t, "::VARCHAR");
    }
  }
  qx_buffer_puts(&t, ")");
  return run(con, &t);
}

int qx_catalog_create(duckdb_connection con) {
  int rc = QX_OK;
  for (int id = QX_TABLE_MIN; id <= QX_TABLE_MAX && rc == QX_OK; id++)
    rc = create_lookup(con, qx_schema_by_id(id));
  for (size_t i = 0; i < sizeof predefined / sizeof *predefined && rc == QX_OK; i++) {
    qx_buffer t = {0};
    qx_buffer_puts(&t, predefined[i]);
    rc = run(con, &t);
  }
  return rc;
}
