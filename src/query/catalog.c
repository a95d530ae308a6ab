/* The SQL catalog (see catalog.h): view definitions generated from the table schemas and the
 * Parquet set, and the predefined queries as DuckDB table macros. */
#include "query/catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "olap/materialized.h"
#include "qaxdb/records.h"
#include "qaxdb/schema.h"
#include "sim/instruments.h"
#include "util/error.h"

/* A growing SQL text. */
typedef struct sql_text {
  char *p;
  size_t len, cap;
  int failed;
} sql_text;

static void add(sql_text *t, const char *s) {
  size_t n = strlen(s);
  if (t->failed) return;
  if (t->len + n + 1 > t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 1024;
    while (cap < t->len + n + 1)
      cap *= 2;
    char *q = realloc(t->p, cap);
    if (!q) {
      t->failed = 1;
      return;
    }
    t->p = q;
    t->cap = cap;
  }
  memcpy(t->p + t->len, s, n + 1);
  t->len += n;
}

static void add_quoted(sql_text *t, const char *s) {
  add(t, "'");
  for (const char *q; (q = strchr(s, '\'')) != NULL; s = q + 1) {
    char part[PATH_MAX];
    snprintf(part, sizeof part, "%.*s''", (int)(q - s), s);
    add(t, part);
  }
  add(t, s);
  add(t, "'");
}

static int run(duckdb_connection con, sql_text *t) {
  if (t->failed) {
    free(t->p);
    return qx_fail(QX_ERR_NOMEM, "out of memory building SQL");
  }
  duckdb_result res;
  int rc = QX_OK;
  if (duckdb_query(con, t->p, &res) == DuckDBError)
    rc = qx_fail(QX_ERR_SQL, "catalog: %s", duckdb_result_error(&res));
  duckdb_destroy_result(&res);
  free(t->p);
  *t = (sql_text){0};
  return rc;
}

/* ---- table views ---- */

/* "SELECT * FROM read_parquet([...]) UNION ALL BY NAME " over the files of Parquet table id,
 * or nothing if it has none. Files are matched by column name only where they can differ: a
 * table past its first schema version may have files without the later columns. Otherwise
 * every file has the same columns and DuckDB is spared reading each footer to unify them
 * (it halves a point query over a month of files). */
static void add_files(sql_text *t, uint16_t id, const qx_parquet_set *files, int evolved) {
  int any = 0;
  for (size_t i = 0; i < files->count; i++) {
    if (files->files[i]->meta.table_id != id) continue;
    add(t, any ? ", " : "SELECT * FROM read_parquet([");
    add_quoted(t, files->files[i]->path);
    any = 1;
  }
  if (!any) return;
  add(t, "], hive_partitioning = true, hive_types = {'date': DATE}");
  add(t, evolved ? ", union_by_name = true) " : ") ");
  add(t, "UNION ALL BY NAME ");
}

static void add_scan(sql_text *t, const qx_schema *s) {
  add(t, "SELECT * FROM qx_scan('");
  add(t, s->name);
  add(t, "')");
}

static void add_sources(sql_text *t, const qx_schema *s, const qx_parquet_set *files) {
  add_files(t, (uint16_t)s->table_id, files, s->version > 1);
  add_scan(t, s);
}

static void add_current_state(sql_text *t, const qx_schema *s) {
  add(t, "CREATE OR REPLACE VIEW ");
  add(t, s->name);
  add(t, " AS SELECT * FROM ");
  add(t, s->name);
  add(t, "_history QUALIFY row_number() OVER (PARTITION BY ");
  for (uint32_t k = 0; k < s->key_column_count; k++) {
    if (k) add(t, ", ");
    add(t, s->columns[s->key_columns[k]].name);
  }
  add(t, " ORDER BY lsn DESC) = 1");
}

/* A materialized view: its stored partial rows plus a partial of the buffered source rows,
 * combined. */
static int define_materialized(duckdb_connection con, const qx_mv *v, const qx_parquet_set *files) {
  sql_text live = {0};
  add_scan(&live, qx_schema_by_id(v->source_table));
  char *partial = live.failed ? NULL : qx_mv_sql(v->partial, live.p);
  free(live.p);
  sql_text t = {0};
  if (!partial) t.failed = 1;
  add_files(&t, v->id, files, 0);
  add(&t, "SELECT * FROM (");
  add(&t, partial ? partial : "");
  add(&t, ")");
  free(partial);
  char *combined = t.failed ? NULL : qx_mv_sql(v->combine, t.p);
  free(t.p);
  t = (sql_text){0};
  if (!combined) t.failed = 1;
  add(&t, "CREATE OR REPLACE VIEW ");
  add(&t, v->name);
  add(&t, " AS SELECT ");
  add(&t, v->select);
  add(&t, " FROM (");
  add(&t, combined ? combined : "");
  add(&t, ")");
  free(combined);
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
    sql_text t = {0};
    add(&t, "CREATE OR REPLACE VIEW ");
    add(&t, s->name);
    add(&t, s->latest_state ? "_history AS " : " AS ");
    add_sources(&t, s, files);
    rc = run(con, &t);
    if (rc == QX_OK && s->latest_state) {
      add_current_state(&t, s);
      rc = run(con, &t);
    }
  }
  return rc;
}

/* ---- the contract catalog ---- */

static void add_decimal(sql_text *t, int64_t raw) {
  char v[64];
  snprintf(v, sizeof v, "%lld.%04lld::DECIMAL(18,4)", (long long)(raw / 10000),
           (long long)(raw % 10000));
  add(t, v);
}

static int create_instruments(duckdb_connection con) {
  sim_instrument ins[SIM_MAX_INSTRUMENTS];
  sim_instruments_init(ins, SIM_MAX_INSTRUMENTS);
  sql_text t = {0};
  add(&t, "CREATE OR REPLACE VIEW instruments AS SELECT * FROM (VALUES ");
  for (int i = 0; i < SIM_MAX_INSTRUMENTS; i++) {
    char row[128];
    snprintf(row, sizeof row, "%s('%.*s', ", i ? ", " : "", QX_INSTRUMENT_ID_LEN, ins[i].id);
    add(&t, row);
    add_decimal(&t, ins[i].tick);
    snprintf(row, sizeof row, ", %lld, %lld, ", (long long)ins[i].multiplier,
             (long long)ins[i].margin_percent);
    add(&t, row);
    add_decimal(&t, ins[i].commission_lot);
    add(&t, ")");
  }
  add(&t, ") AS t(instrument_id, tick, multiplier, margin_percent, commission_per_lot)");
  return run(con, &t);
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

    /* Mark-to-market of every open position at the instrument's last trade price. */
    "CREATE OR REPLACE MACRO position_pnl() AS TABLE "
    "WITH last AS (SELECT instrument_id, arg_max(price, lsn) AS last_price FROM trades "
    "  GROUP BY instrument_id) "
    "SELECT p.account_id, p.instrument_id, p.long_volume, p.short_volume, l.last_price, "
    "(p.long_volume * l.last_price * i.multiplier - p.long_open_cost) "
    "+ (p.short_open_cost - p.short_volume * l.last_price * i.multiplier) AS unrealized_pnl "
    "FROM positions p JOIN instruments i USING (instrument_id) "
    "JOIN last l USING (instrument_id) "
    "WHERE p.long_volume <> 0 OR p.short_volume <> 0 ORDER BY account_id, instrument_id",

    /* Per account: realized PnL and commission so far, open positions marked to market. */
    "CREATE OR REPLACE MACRO account_pnl() AS TABLE "
    "WITH open AS (SELECT account_id, sum(unrealized_pnl) AS unrealized_pnl "
    "  FROM position_pnl() GROUP BY account_id) "
    "SELECT a.account_id, a.close_profit AS realized_pnl, a.commission, "
    "coalesce(o.unrealized_pnl, 0) AS unrealized_pnl, "
    "a.close_profit + coalesce(o.unrealized_pnl, 0) - a.commission AS net_pnl, a.balance "
    "FROM accounts a LEFT JOIN open o USING (account_id) ORDER BY account_id",
};

int qx_catalog_create(duckdb_connection con) {
  int rc = create_instruments(con);
  for (size_t i = 0; i < sizeof predefined / sizeof *predefined && rc == QX_OK; i++) {
    sql_text t = {0};
    add(&t, predefined[i]);
    rc = run(con, &t);
  }
  return rc;
}
