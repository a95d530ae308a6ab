/* qaxdb-bench-sql: analytics over generated trades and orders, written through the engine
 * (WAL, converter, Parquet) and queried through qx_sql, against the same rows loaded into a
 * native DuckDB table in the same run. Reports the Parquet compression ratio, the queries of
 * issue #4 (a one-column sum, GROUP BY instrument, 1-minute OHLCV of one instrument over a
 * month from trades and from the klines_1m view, a point query by trade_id, trades joined
 * with orders), and the writer's append latency without and with a query running.
 *
 * Usage: qaxdb-bench-sql [--quick] [--trades N] [--dir PATH]. A --dir that a previous run
 * loaded (and kept) is measured again without loading. Ends with one JSON line per
 * measurement (bench_report.h). */
#include <duckdb.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench_report.h"
#include "market.h"
#include "qaxdb/db.h"
#include "qaxdb/key.h"
#include "qaxdb/records.h"
#include "qaxdb/schema.h"
#include "qaxdb/sql.h"
#include "sim/instruments.h"
#include "sim/rng.h"
#include "util/clock.h"

#define ACCOUNTS 1000
#define DAYS 30                   /* trading days (weekdays) the trades span */
#define TS0 1767574800000000000LL /* 2026-01-05 09:00 Beijing, a Monday */
#define NS_PER_DAY (86400LL * 1000000000)
#define NS_PER_SESSION (6LL * 3600 * 1000000000) /* trades run 09:00-15:00 each day */
#define TRADES_PER_ORDER 4
#define LOAD_BATCH 1024

typedef struct settings {
  uint64_t trades;
  int scan_runs, point_runs;
  int writer_rounds, writer_rate;
  const char *dir;
} settings;

/* ---- the generated market ---- */

/* Trades are spread evenly over the sessions of DAYS weekdays. */
static int64_t trade_ts(uint64_t id, uint64_t trades) {
  double at = (double)id / (double)trades * DAYS;
  int64_t day = (int64_t)at;
  int64_t calendar_day = day / 5 * 7 + day % 5;
  return TS0 + calendar_day * NS_PER_DAY + (int64_t)((at - (double)day) * NS_PER_SESSION);
}

/* Trade id (from 0) moves its instrument's price by at most one tick. Order ids: trades
 * 4k..4k+3 fill buy order 2k and sell order 2k+1. */
static void next_trade(bench_market *m, uint64_t id, uint64_t trades, qx_trade *t) {
  int ins = bench_market_next(m);
  memset(t, 0, sizeof *t);
  t->trade_id = id;
  memcpy(t->instrument_id, m->instruments[ins].id, sizeof t->instrument_id);
  t->buy_order_id = 2 * (id / TRADES_PER_ORDER);
  t->sell_order_id = t->buy_order_id + 1;
  snprintf(t->buy_account_id, sizeof t->buy_account_id, "acct%04u",
           (unsigned)sim_rng_below(&m->rng, ACCOUNTS));
  snprintf(t->sell_account_id, sizeof t->sell_account_id, "acct%04u",
           (unsigned)sim_rng_below(&m->rng, ACCOUNTS));
  t->price = m->price[ins];
  t->volume = (int64_t)sim_rng_below(&m->rng, 20) + 1;
  t->aggressor = (uint8_t)(id % 2);
  t->ts = trade_ts(id, trades);
}

static void order_of(const qx_trade *t, int sell, qx_order *o) {
  memset(o, 0, sizeof *o);
  o->order_id = sell ? t->sell_order_id : t->buy_order_id;
  memcpy(o->account_id, sell ? t->sell_account_id : t->buy_account_id, sizeof o->account_id);
  memcpy(o->instrument_id, t->instrument_id, sizeof o->instrument_id);
  o->side = (uint8_t)sell;
  o->status = QX_STATUS_FILLED;
  o->price = t->price;
  o->volume = o->filled_volume = 40;
  o->insert_ts = o->update_ts = t->ts;
}

/* ---- loading through the engine ---- */

typedef struct load_batch {
  qx_wal_record records[LOAD_BATCH];
  qx_trade trades[LOAD_BATCH];
  qx_order orders[LOAD_BATCH];
  size_t count, order_count;
} load_batch;

static int flush_batch(qx_db *db, load_batch *b, qx_durability d) {
  int rc = b->count ? qx_db_write_records(db, b->records, b->count, d, NULL) : QX_OK;
  b->count = b->order_count = 0;
  if (rc != QX_OK) fprintf(stderr, "bench-sql: write: %s\n", qx_last_error());
  return rc;
}

static void add_record(load_batch *b, int table, const void *data, uint32_t size) {
  const qx_schema *s = qx_schema_by_id(table);
  b->records[b->count++] = (qx_wal_record){(uint16_t)table, s->version, size, 0, data};
}

static int load(qx_db *db, uint64_t trades) {
  static load_batch b;
  bench_market m;
  bench_market_init(&m);
  int64_t start = qx_monotonic_ns();
  for (uint64_t id = 0; id < trades; id++) {
    if (b.count + 3 > LOAD_BATCH && flush_batch(db, &b, QX_DURABILITY_NONE) != QX_OK) return 0;
    qx_trade *t = &b.trades[b.count];
    next_trade(&m, id, trades, t);
    if (id % TRADES_PER_ORDER == 0)
      for (int side = 0; side < 2; side++) {
        order_of(t, side, &b.orders[b.order_count]);
        add_record(&b, QX_TABLE_ORDERS, &b.orders[b.order_count++], sizeof(qx_order));
      }
    add_record(&b, QX_TABLE_TRADES, t, sizeof *t);
    if ((id + 1) % (trades / 10 > 0 ? trades / 10 : 1) == 0)
      fprintf(stderr, "bench-sql: loaded %" PRIu64 " of %" PRIu64 " trades (%.0f/s)\n", id + 1,
              trades, (double)(id + 1) * 1e9 / (double)(qx_monotonic_ns() - start));
  }
  if (flush_batch(db, &b, QX_DURABILITY_GROUP) != QX_OK) return 0;
  fprintf(stderr, "bench-sql: writing the rest to Parquet and merging\n");
  if (qx_db_olap_flush(db) != QX_OK) {
    fprintf(stderr, "bench-sql: Parquet flush: %s\n", qx_last_error());
    return 0;
  }
  return 1;
}

/* ---- the native DuckDB peer ---- */

typedef struct native {
  duckdb_database db;
  duckdb_connection con;
  char path[PATH_MAX];
} native;

static int native_exec(native *n, const char *sql, duckdb_result *out) {
  duckdb_result res;
  if (duckdb_query(n->con, sql, &res) == DuckDBError) {
    fprintf(stderr, "bench-sql: DuckDB: %s\n  %s\n", duckdb_result_error(&res), sql);
    duckdb_destroy_result(&res);
    return 0;
  }
  if (out)
    *out = res;
  else
    duckdb_destroy_result(&res);
  return 1;
}

/* The same rows in DuckDB's own storage: every Parquet file of trades and orders, copied. */
static int native_open(native *n, const char *dir) {
  snprintf(n->path, sizeof n->path, "%s/native.duckdb", dir);
  int loaded = access(n->path, F_OK) == 0;
  if (duckdb_open(n->path, &n->db) == DuckDBError || duckdb_connect(n->db, &n->con) == DuckDBError)
    return 0;
  if (loaded) return 1;
  static const char *const tables[] = {"trades", "orders"};
  for (int i = 0; i < 2; i++) {
    char sql[PATH_MAX * 2];
    snprintf(sql, sizeof sql,
             "CREATE TABLE %s AS SELECT * FROM read_parquet('%s/data/olap/%s/*/*.parquet', "
             "hive_partitioning = true, hive_types = {'date': DATE}) ORDER BY lsn",
             tables[i], dir, tables[i]);
    if (!native_exec(n, sql, NULL)) return 0;
  }
  return native_exec(n, "CHECKPOINT", NULL);
}

static void native_close(native *n) {
  duckdb_disconnect(&n->con);
  duckdb_close(&n->db);
}

/* ---- query cases ---- */

typedef struct query_case {
  const char *name;
  const char *qaxdb_sql, *native_sql; /* native_sql NULL: the same text */
  int point;                          /* a point query: %llu takes a random trade id */
} query_case;

typedef struct sides {
  qx_sql *sql;
  native *peer;
} sides;

static int run_qaxdb(qx_sql *sql, const char *text, uint64_t *rows) {
  qx_sql_result *r;
  if (qx_sql_query(sql, text, &r) != QX_OK) {
    fprintf(stderr, "bench-sql: qaxdb: %s\n  %s\n", qx_last_error(), text);
    return 0;
  }
  *rows = qx_sql_result_row_count(r);
  qx_sql_result_destroy(r);
  return 1;
}

static int run_native(native *n, const char *text, uint64_t *rows) {
  duckdb_result res;
  if (!native_exec(n, text, &res)) return 0;
  *rows = duckdb_row_count(&res);
  duckdb_destroy_result(&res);
  return 1;
}

/* Runs the case once on one side (a point query takes the next id from rng) and records the
 * time. *rows is the row count every run must return (0: the first run's). */
static int time_run(const sides *s, const query_case *q, int native_side, sim_rng *rng,
                    uint64_t trades, uint64_t *rows, bench_side *out, int64_t *total) {
  char text[2048];
  const char *tmpl = native_side && q->native_sql ? q->native_sql : q->qaxdb_sql;
  if (q->point)
    snprintf(text, sizeof text, tmpl, (unsigned long long)sim_rng_below(rng, trades));
  else
    snprintf(text, sizeof text, "%s", tmpl);
  uint64_t n;
  int64_t t0 = qx_monotonic_ns();
  int ok = native_side ? run_native(s->peer, text, &n) : run_qaxdb(s->sql, text, &n);
  int64_t dt = qx_monotonic_ns() - t0;
  if (!ok) return 0;
  if (*rows == 0) *rows = n;
  if (n != *rows) {
    fprintf(stderr, "bench-sql: %s returned %" PRIu64 " rows, expected %" PRIu64 "\n", q->name, n,
            *rows);
    return 0;
  }
  qx_histogram_record(&out->latency, (uint64_t)dt);
  *total += dt;
  return 1;
}

/* Runs the case runs times on each side, alternating qaxdb and the native peer so that the
 * machine's background load (other tenants, the engine's compaction) hits both alike; the
 * same point query ids on both sides. Both must return as many rows; throughput counts
 * rows_per_run per run. */
static int measure(const sides *s, const query_case *q, int runs, uint64_t rows_per_run,
                   uint64_t trades, bench_case *out) {
  bench_side *side[2] = {&out->qaxdb, &out->peer};
  sim_rng rng[2];
  int64_t total[2] = {0, 0};
  uint64_t rows = q->point ? 1 : 0;
  out->name = q->name;
  for (int k = 0; k < 2; k++) {
    sim_rng_seed(&rng[k], 7);
    qx_histogram_reset(&side[k]->latency);
  }
  for (int i = 0; i < runs; i++)
    for (int k = 0; k < 2; k++)
      if (!time_run(s, q, k, &rng[k], trades, &rows, side[k], &total[k])) return 0;
  for (int k = 0; k < 2; k++)
    side[k]->records_per_s = (double)rows_per_run * runs * 1e9 / (double)total[k];
  return 1;
}

/* The point query through the engine's key index (qx_db_get), against the same query in
 * native DuckDB SQL. */
static int measure_point_get(qx_db *db, native *peer, const settings *s, bench_case *out) {
  const qx_schema *trades = qx_schema_by_id(QX_TABLE_TRADES);
  out->name = "point_trade_id_get";
  qx_histogram_reset(&out->qaxdb.latency);
  sim_rng rng;
  sim_rng_seed(&rng, 7);
  int64_t total = 0;
  for (int i = 0; i < s->point_runs; i++) {
    qx_trade t = {.trade_id = sim_rng_below(&rng, s->trades)};
    uint8_t key[QX_KEY_MAX];
    size_t len = qx_key_encode(trades, &t, key);
    qx_db_value v;
    int64_t t0 = qx_monotonic_ns();
    int rc = qx_db_get(db, NULL, key, len, &v);
    int64_t dt = qx_monotonic_ns() - t0;
    if (rc != QX_OK) {
      fprintf(stderr, "bench-sql: get trade %" PRIu64 ": %s\n", t.trade_id, qx_strerror(rc));
      return 0;
    }
    qx_db_value_release(&v);
    qx_histogram_record(&out->qaxdb.latency, (uint64_t)dt);
    total += dt;
  }
  out->qaxdb.records_per_s = (double)s->point_runs * 1e9 / (double)total;
  static const query_case point = {"point", "SELECT * FROM trades WHERE trade_id = %llu", NULL, 1};
  sides native_only = {NULL, peer};
  uint64_t rows = 1;
  sim_rng_seed(&rng, 7);
  qx_histogram_reset(&out->peer.latency);
  total = 0;
  for (int i = 0; i < s->point_runs; i++)
    if (!time_run(&native_only, &point, 1, &rng, s->trades, &rows, &out->peer, &total)) return 0;
  out->peer.records_per_s = (double)s->point_runs * 1e9 / (double)total;
  return 1;
}

/* ---- the writer's latency while queries run ---- */

typedef struct writer_run {
  qx_db *db;
  uint64_t first_id, trades;
  int seconds, rate;
  histogram latency;
  double records_per_s;
  int failed;
} writer_run;

/* Appends at a steady rate (a burst every millisecond, as order flow arrives), timing each
 * append. */
static void *writer_main(void *arg) {
  writer_run *w = arg;
  bench_market m;
  bench_market_init(&m);
  qx_histogram_reset(&w->latency);
  int per_ms = w->rate / 1000 > 0 ? w->rate / 1000 : 1;
  int64_t start = qx_monotonic_ns(), next = start;
  uint64_t id = w->first_id, written = 0;
  for (int ms = 0; ms < w->seconds * 1000; ms++) {
    for (int i = 0; i < per_ms; i++, id++) {
      qx_trade t;
      next_trade(&m, id, w->trades, &t);
      t.ts = trade_ts(w->trades - 1, w->trades); /* the last day: the open partition */
      int64_t t0 = qx_monotonic_ns();
      if (qx_db_put_record(w->db, QX_TABLE_TRADES, &t, QX_DURABILITY_NONE, NULL) != QX_OK)
        w->failed = 1;
      qx_histogram_record(&w->latency, (uint64_t)(qx_monotonic_ns() - t0));
      written++;
    }
    next += 1000000;
    struct timespec ts = {next / 1000000000, next % 1000000000};
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
  }
  w->records_per_s = (double)written * 1e9 / (double)(qx_monotonic_ns() - start);
  return NULL;
}

typedef struct query_loop {
  qx_sql *sql;
  const char *text;
  atomic_int stop;
  uint64_t queries;
} query_loop;

static void *query_main(void *arg) {
  query_loop *q = arg;
  while (!atomic_load(&q->stop)) {
    uint64_t rows;
    if (!run_qaxdb(q->sql, q->text, &rows)) break;
    q->queries++;
  }
  return NULL;
}

/* One second of appends; with a query running back to back on sql if it is given. The round's
 * p99 goes to *round_p99_us. */
static int writer_phase(writer_run *w, qx_sql *sql, const char *query, histogram *into,
                        double *records_per_s, uint64_t *queries, double *round_p99_us) {
  query_loop q = {sql, query, 0, 0};
  pthread_t reader;
  if (sql && pthread_create(&reader, NULL, query_main, &q) != 0) return 0;
  writer_main(w);
  atomic_store(&q.stop, 1);
  if (sql) pthread_join(reader, NULL);
  qx_histogram_merge(into, &w->latency);
  *round_p99_us = qx_histogram_quantile_us(&w->latency, 0.99);
  *records_per_s += w->records_per_s;
  *queries += q.queries;
  w->first_id += (uint64_t)w->rate * (uint64_t)w->seconds;
  return !w->failed && (!sql || q.queries > 0);
}

#define MAX_WRITER_ROUNDS 32

static int compare_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, compare_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Rounds of: the writer alone, the writer while a query runs at idle priority
 * (qx_sql_options.background), and while it runs at normal priority; alternating so that the
 * machine's drift hits all three alike. round_p99_us: the median over rounds of each
 * condition's p99, which one disturbed second moves less than the p99 of all rounds. */
static int measure_writer(qx_db *db, const settings *s, const char *query, bench_case *out,
                          double round_p99_us[3]) {
  qx_sql *sql[2];
  for (int b = 0; b < 2; b++) {
    qx_sql_options so;
    qx_sql_options_init(&so);
    so.cache_entries = 0;
    so.background = 1 - b;
    if (qx_sql_open(db, &so, &sql[b]) != QX_OK) return 0;
  }
  static writer_run w;
  /* Ids above every trade so far: the LSN counts every record, a kept folder's included. */
  w = (writer_run){.db = db,
                   .first_id = s->trades + qx_db_last_lsn(db),
                   .trades = s->trades,
                   .seconds = 1,
                   .rate = s->writer_rate};
  static bench_side alone, background, normal;
  qx_histogram_reset(&alone.latency);
  qx_histogram_reset(&background.latency);
  qx_histogram_reset(&normal.latency);
  uint64_t queries[2] = {0, 0};
  static double p99[3][MAX_WRITER_ROUNDS];
  int ok = s->writer_rounds <= MAX_WRITER_ROUNDS;
  for (int round = 0; round < s->writer_rounds && ok; round++) {
    ok = writer_phase(&w, NULL, NULL, &alone.latency, &alone.records_per_s, &queries[0],
                      &p99[0][round]) &&
         writer_phase(&w, sql[0], query, &background.latency, &background.records_per_s,
                      &queries[0], &p99[1][round]) &&
         writer_phase(&w, sql[1], query, &normal.latency, &normal.records_per_s, &queries[1],
                      &p99[2][round]);
  }
  for (int c = 0; c < 3; c++)
    round_p99_us[c] = median(p99[c], s->writer_rounds);
  for (int b = 0; b < 2; b++)
    qx_sql_close(sql[b]);
  fprintf(stderr,
          "bench-sql: %" PRIu64 " background and %" PRIu64 " normal queries ran while the "
          "writer appended\n",
          queries[0], queries[1]);
  alone.records_per_s /= s->writer_rounds;
  background.records_per_s /= s->writer_rounds;
  normal.records_per_s /= s->writer_rounds;
  out[0] = (bench_case){"writer_bg_queries", background, alone};
  out[1] = (bench_case){"writer_queries", normal, alone};
  return ok;
}

/* ---- storage ---- */

static uint64_t tree_bytes;

static int add_file(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)ftw;
  if (type == FTW_F && strstr(path, ".parquet")) tree_bytes += (uint64_t)st->st_size;
  return 0;
}

/* Bytes of the Parquet files under dir (one table's folder). */
static uint64_t parquet_bytes(const char *dir) {
  tree_bytes = 0;
  nftw(dir, add_file, 16, FTW_PHYS);
  return tree_bytes;
}

static uint64_t file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* The writer's p99 under queries relative to alone, as the median of the rounds' p99s. */
static void print_round_p99(const settings *s, const double p99_us[3]) {
  printf("writer p99, median of %d one-second rounds: alone %.2f us, queries at idle priority "
         "%.2f us (%+.1f%%), at normal priority %.2f us (%+.1f%%)\n",
         s->writer_rounds, p99_us[0], p99_us[1], 100 * (p99_us[1] / p99_us[0] - 1), p99_us[2],
         100 * (p99_us[2] / p99_us[0] - 1));
  bench_print_metric(stdout, "sql", "writer_bg_queries", "round_p99_median_us", p99_us[1], "alone",
                     p99_us[0], p99_us[0] / p99_us[1]);
  bench_print_metric(stdout, "sql", "writer_queries", "round_p99_median_us", p99_us[2], "alone",
                     p99_us[0], p99_us[0] / p99_us[2]);
}

/* ---- the run ---- */

static int parse_args(int argc, char **argv, settings *s) {
  *s = (settings){100000000, 5, 200, 9, 100000, NULL};
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) {
      s->trades = 2000000;
      s->scan_runs = 3;
      s->point_runs = 50;
      s->writer_rounds = 3;
    } else if (strcmp(argv[i], "--trades") == 0 && i + 1 < argc) {
      s->trades = strtoull(argv[++i], NULL, 10);
    } else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
      s->dir = argv[++i];
    } else {
      fprintf(stderr, "usage: qaxdb-bench-sql [--quick] [--trades N] [--dir PATH]\n");
      return 0;
    }
  }
  return s->trades >= 10000;
}

static int open_engine(const settings *s, qx_db **db, qx_sql **sql) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/data", s->dir);
  qx_db_options o;
  qx_db_options_init(&o);
  qx_sql_options so;
  qx_sql_options_init(&so);
  so.cache_entries = 0; /* every run executes */
  /* A folder a previous run loaded (--dir) is measured again as it is. */
  char current[PATH_MAX + 16];
  snprintf(current, sizeof current, "%s/CURRENT", path);
  int loaded = access(current, F_OK) == 0;
  if (loaded) fprintf(stderr, "bench-sql: reusing the data in %s\n", path);
  if (qx_db_open(path, &o, db, NULL) != QX_OK || (!loaded && !load(*db, s->trades)) ||
      qx_sql_open(*db, &so, sql) != QX_OK) {
    fprintf(stderr, "bench-sql: %s\n", qx_last_error());
    return 0;
  }
  return 1;
}

#define OHLCV_FROM_TRADES                                                                          \
  "SELECT time_bucket(INTERVAL 1 MINUTE, ts::TIMESTAMP) AS bar_start, "                            \
  "arg_min(price, lsn) AS open, max(price) AS high, min(price) AS low, "                           \
  "arg_max(price, lsn) AS close, sum(volume) AS volume FROM trades "                               \
  "WHERE instrument_id = '%s' AND date BETWEEN DATE '2026-01-05' AND DATE '2026-02-04' "           \
  "GROUP BY bar_start ORDER BY bar_start"
#define OHLCV_FROM_VIEW                                                                            \
  "SELECT bar_start, open, high, low, close, volume FROM klines_1m "                               \
  "WHERE instrument_id = '%s' AND date BETWEEN DATE '2026-01-05' AND DATE '2026-02-04' "           \
  "ORDER BY bar_start"

#define LOOKUP_CASES 6 /* the SQL ones below, then the engine's qx_db_get */

static int run_queries(const settings *s, qx_db *db, const sides *both, bench_case *scans,
                       bench_case *lookups) {
  sim_instrument ins[SIM_MAX_INSTRUMENTS];
  qx_sim_instruments_init(ins, SIM_MAX_INSTRUMENTS);
  static char ohlcv[512], ohlcv_view[512];
  snprintf(ohlcv, sizeof ohlcv, OHLCV_FROM_TRADES, ins[0].id);
  snprintf(ohlcv_view, sizeof ohlcv_view, OHLCV_FROM_VIEW, ins[0].id);
  const query_case scan_cases[] = {
      {"sum_volume", "SELECT sum(volume) FROM trades", NULL, 0},
      {"group_by_instrument",
       "SELECT instrument_id, count(*), sum(volume), sum(price * volume) FROM trades "
       "GROUP BY instrument_id",
       NULL, 0},
  };
  const query_case lookup_cases[] = {
      {"ohlcv_1m_month", ohlcv, NULL, 0},
      {"ohlcv_1m_month_mv", ohlcv_view, ohlcv, 0},
      {"point_trade_id", "SELECT * FROM trades WHERE trade_id = %llu", NULL, 1},
      {"point_trade_id_by_key", "SELECT * FROM trades_by_key(%llu)",
       "SELECT * FROM trades WHERE trade_id = %llu", 1},
      {"join_orders_day",
       "SELECT o.account_id, count(*) AS trades, sum(t.volume) AS volume FROM trades t "
       "JOIN orders o ON o.order_id = t.buy_order_id WHERE t.date = DATE '2026-01-14' "
       "GROUP BY o.account_id ORDER BY volume DESC, o.account_id LIMIT 20",
       NULL, 0},
  };
  for (int i = 0; i < 2; i++)
    if (!measure(both, &scan_cases[i], s->scan_runs, s->trades, s->trades, &scans[i])) return 0;
  enum { LOOKUP_QUERIES = sizeof lookup_cases / sizeof *lookup_cases };
  _Static_assert(LOOKUP_QUERIES + 1 == LOOKUP_CASES, "LOOKUP_CASES counts the queries and the get");
  for (int i = 0; i < LOOKUP_QUERIES; i++) {
    int runs = lookup_cases[i].point ? s->point_runs : s->scan_runs;
    if (!measure(both, &lookup_cases[i], runs, 1, s->trades, &lookups[i])) return 0;
  }
  return measure_point_get(db, both->peer, s, &lookups[LOOKUP_QUERIES]);
}

static void print_storage(const settings *s, const native *peer, double sum_seconds_q,
                          double sum_seconds_p) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/data/olap/trades", s->dir);
  uint64_t trades_bytes = parquet_bytes(path);
  snprintf(path, sizeof path, "%s/data/olap/orders", s->dir);
  uint64_t orders_bytes = parquet_bytes(path);
  uint64_t raw_trades = s->trades * sizeof(qx_trade);
  uint64_t raw = raw_trades + (s->trades / TRADES_PER_ORDER) * 2 * sizeof(qx_order);
  uint64_t native_bytes = file_size(peer->path);
  double ratio = (double)raw / (double)(trades_bytes + orders_bytes);
  double native_ratio = (double)raw / (double)native_bytes;
  printf("\nstorage: %.1f MB of trade and order records; Parquet %.1f MB (trades %.1f MB), "
         "compression %.2fx; native DuckDB file %.1f MB, %.2fx\n",
         (double)raw / 1e6, (double)(trades_bytes + orders_bytes) / 1e6, (double)trades_bytes / 1e6,
         ratio, (double)native_bytes / 1e6, native_ratio);
  double gbps_q = (double)raw_trades / 1e9 / sum_seconds_q;
  double gbps_p = (double)raw_trades / 1e9 / sum_seconds_p;
  printf("sum_volume scans %.2f GB/s of raw trade records (native %.2f GB/s)\n\n", gbps_q, gbps_p);
  bench_print_metric(stdout, "sql", "storage", "compression_ratio", ratio, "duckdb", native_ratio,
                     ratio / native_ratio);
  bench_print_metric(stdout, "sql", "sum_volume", "raw_gb_per_s", gbps_q, "duckdb", gbps_p,
                     gbps_q / gbps_p);
}

int main(int argc, char **argv) {
  settings s;
  if (!parse_args(argc, argv, &s)) return 2;
  char tmp[PATH_MAX];
  if (!s.dir) s.dir = bench_make_tmpdir(tmp, "sql");
  qx_db *db;
  qx_sql *sql;
  static native peer;
  if (!open_engine(&s, &db, &sql)) return 1;
  fprintf(stderr, "bench-sql: copying the rows into a native DuckDB table\n");
  if (!native_open(&peer, s.dir)) return 1;
  sides both = {sql, &peer};
  static bench_case scans[2], lookups[LOOKUP_CASES], writer[2];
  fprintf(stderr, "bench-sql: queries\n");
  if (!run_queries(&s, db, &both, scans, lookups)) return 1;
  native_close(&peer);
  fprintf(stderr, "bench-sql: writer latency, alone and under queries\n");
  qx_sql_close(sql);
  double round_p99_us[3];
  if (!measure_writer(db, &s, "SELECT instrument_id, count(*), sum(volume) FROM trades GROUP BY 1",
                      writer, round_p99_us))
    return 1;
  qx_db_close(db);
  bench_print(stdout, "sql", "duckdb", "rows", scans, 2);
  bench_print(stdout, "sql", "duckdb", "queries", lookups, LOOKUP_CASES);
  bench_print(stdout, "sql", "alone", "records", writer, 2);
  /* Medians: one slow run on this shared machine moves a mean by half. */
  print_storage(&s, &peer, qx_histogram_quantile_us(&scans[0].qaxdb.latency, 0.5) / 1e6,
                qx_histogram_quantile_us(&scans[0].peer.latency, 0.5) / 1e6);
  print_round_p99(&s, round_p99_us);
  if (s.dir == tmp) bench_remove_tree(tmp);
  return 0;
}
