/* qaxdb-bench-server: qaxdbd (in process, through qx_server_start) against PostgreSQL 15
 * (started by the bench in a temporary folder), both over libpq on loopback with the same
 * trades table and rows: synced COPY and multi-row INSERT ingest, point SELECTs by key over
 * the extended protocol from 1 and 8 connections, and a VWAP aggregate (issue #14).
 *
 * Usage: qaxdb-bench-server [--quick] [--rows N] [--pg-bin DIR]. Ends with one JSON line
 * per measurement (bench_report.h). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_report.h"
#include "market.h"
#include "qaxdb/db.h"
#include "qaxdb/server.h"
#include "util/clock.h"
#include "util/grow.h"

#define PG_BIN_DEFAULT "/usr/lib/postgresql/15/bin"
#define ACCOUNTS 1000
#define PRICE_UNIT 10000          /* 10^QX_PRICE_SCALE */
#define TS0_US 1767574800000000LL /* 2026-01-05 01:00 UTC (09:00 in Beijing) */
#define BULK_ROWS 100000          /* rows per COPY of the bulk load (copy_bulk_100k) */
#define POINT_ROUNDS 4            /* point cases alternate qaxdb and PostgreSQL this often */
#define POINT_STRIDE 2654435761u  /* a prime: i * stride mod rows visits distinct keys */
#define MAX_THREADS 8
#define SIDES 2 /* 0 qaxdb, 1 PostgreSQL */

static const char *const COLUMNS = "trade_id, instrument_id, buy_order_id, sell_order_id, "
                                   "buy_account_id, sell_account_id, price, volume, aggressor, ts";

typedef struct settings {
  uint64_t rows; /* trades in the table for the point and aggregate cases */
  int copy_statements, copy_rows;
  int insert_statements, insert_rows;
  int point_queries, aggregate_runs;
  const char *pg_bin;
} settings;

/* ---- text buffers and the generated trades ---- */

/* Stops the bench if a text outgrew memory (qx_buffer's failure is sticky). */
static const char *text_of(const qx_buffer *b) {
  if (b->failed || !qx_buffer_text(b)) {
    fprintf(stderr, "qaxdb-bench-server: out of memory\n");
    exit(1);
  }
  return qx_buffer_text(b);
}

typedef struct market {
  bench_market prices;
  uint64_t next_id;
} market;

/* The next trade's values as SQL text, quoted (INSERT) or bare (CSV); the price moves by at
 * most one tick, timestamps are whole microseconds (PostgreSQL's precision). */
static void next_trade(market *m, qx_buffer *out, int quoted) {
  uint64_t id = m->next_id++;
  bench_market *p = &m->prices;
  int ins = bench_market_next(p);
  int64_t us = TS0_US + (int64_t)id * 100;
  time_t secs = (time_t)(us / 1000000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  const char *q = quoted ? "'" : "";
  qx_buffer_printf(out,
                   "%" PRIu64 ",%s%s%s,%" PRIu64 ",%" PRIu64 ",%sacct%04u%s,%sacct%04u%s,%" PRId64
                   ".%04" PRId64 ",%u,%s%s%s,%s%04d-%02d-%02d %02d:%02d:%02d.%06d%s",
                   id, q, p->instruments[ins].id, q, 2 * (id / 4), 2 * (id / 4) + 1, q,
                   (unsigned)sim_rng_below(&p->rng, ACCOUNTS), q, q,
                   (unsigned)sim_rng_below(&p->rng, ACCOUNTS), q, p->price[ins] / PRICE_UNIT,
                   p->price[ins] % PRICE_UNIT, (unsigned)sim_rng_below(&p->rng, 20) + 1, q,
                   id % 2 ? "sell" : "buy", q, q, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                   tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(us % 1000000), q);
}

static void csv_batch(market *m, int rows, qx_buffer *out) {
  out->len = 0;
  for (int i = 0; i < rows; i++) {
    next_trade(m, out, 0);
    qx_buffer_printf(out, "\n");
  }
}

static void insert_batch(market *m, int rows, qx_buffer *out) {
  out->len = 0;
  qx_buffer_printf(out, "INSERT INTO trades (%s) VALUES ", COLUMNS);
  for (int i = 0; i < rows; i++) {
    qx_buffer_printf(out, i ? ",(" : "(");
    next_trade(m, out, 1);
    qx_buffer_printf(out, ")");
  }
}

/* ---- libpq ---- */

static PGconn *connect_to(const char *conninfo) {
  PGconn *c = PQconnectdb(conninfo);
  if (PQstatus(c) != CONNECTION_OK) {
    fprintf(stderr, "qaxdb-bench-server: connect %s: %s", conninfo, PQerrorMessage(c));
    exit(1);
  }
  return c;
}

static int result_ok(PGresult *r, ExecStatusType want, const char *what) {
  int ok = PQresultStatus(r) == want;
  if (!ok) fprintf(stderr, "qaxdb-bench-server: %.120s: %s", what, PQresultErrorMessage(r));
  PQclear(r);
  return ok;
}

static int command(PGconn *c, const char *sql) {
  return result_ok(PQexec(c, sql), PGRES_COMMAND_OK, sql);
}

/* COPY trades FROM STDIN with the CSV rows of csv. */
static int copy_rows(PGconn *c, const qx_buffer *csv) {
  char sql[256];
  snprintf(sql, sizeof sql, "COPY trades (%s) FROM STDIN WITH (FORMAT csv)", COLUMNS);
  if (!result_ok(PQexec(c, sql), PGRES_COPY_IN, sql)) return 0;
  if (PQputCopyData(c, text_of(csv), (int)csv->len) != 1 || PQputCopyEnd(c, NULL) != 1) {
    fprintf(stderr, "qaxdb-bench-server: COPY: %s", PQerrorMessage(c));
    return 0;
  }
  int ok = 1;
  for (PGresult *r; (r = PQgetResult(c));)
    ok &= result_ok(r, PGRES_COMMAND_OK, "COPY");
  return ok;
}

/* ---- PostgreSQL 15 in a temporary folder ---- */

typedef struct postgres {
  char root[PATH_MAX]; /* data/, the socket and the logs */
  pid_t pid;
  int port;
  int drop; /* running as root: initdb and postgres run as uid/gid */
  uid_t uid;
  gid_t gid;
} postgres;

static postgres *running_postgres; /* stopped at exit, also when the bench fails */

/* PostgreSQL refuses to run as root: as root, it runs as the user postgres (or nobody), who
 * is given the temporary folder. */
static int choose_user(postgres *pg) {
  if (geteuid() != 0) return 1;
  struct passwd *pw = getpwnam("postgres");
  if (!pw) pw = getpwnam("nobody");
  if (!pw) {
    fprintf(stderr, "qaxdb-bench-server: running as root, and PostgreSQL refuses root; neither "
                    "the user postgres nor nobody exists to run it as\n");
    return 0;
  }
  pg->drop = 1;
  pg->uid = pw->pw_uid;
  pg->gid = pw->pw_gid;
  if (chown(pg->root, pg->uid, pg->gid) != 0) {
    fprintf(stderr, "qaxdb-bench-server: chown %s to %s: %s\n", pg->root, pw->pw_name,
            strerror(errno));
    return 0;
  }
  return 1;
}

/* Starts argv with its output appended to log, as PostgreSQL's user; the child's pid. */
static pid_t spawn(const postgres *pg, char *const argv[], const char *log) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) _exit(126);
  if (pg->drop && (fchown(fd, pg->uid, pg->gid) != 0 || setgroups(0, NULL) != 0 ||
                   setgid(pg->gid) != 0 || setuid(pg->uid) != 0)) {
    fprintf(stderr, "cannot switch to uid %u: %s\n", (unsigned)pg->uid, strerror(errno));
    _exit(126);
  }
  if (chdir(pg->root) != 0) _exit(126);
  execv(argv[0], argv);
  fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
  _exit(127);
}

/* Copies a log of the temporary folder (removed at exit) to stderr. */
static void print_log(const char *log) {
  FILE *f = fopen(log, "r");
  char line[512];
  fprintf(stderr, "--- its output ---\n");
  while (f && fgets(line, sizeof line, f))
    fputs(line, stderr);
  fprintf(stderr, "---\n");
  if (f) fclose(f);
}

static int run_initdb(postgres *pg, const char *bin) {
  char exe[PATH_MAX], data[PATH_MAX + 8], log[PATH_MAX + 16];
  snprintf(exe, sizeof exe, "%s/initdb", bin);
  snprintf(data, sizeof data, "%s/data", pg->root);
  snprintf(log, sizeof log, "%s/initdb.log", pg->root);
  char *argv[] = {exe, "-D", data, "-U", "bench", "-A", "trust", "-E", "UTF8", "--no-locale", NULL};
  int status = 0;
  pid_t pid = spawn(pg, argv, log);
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    fprintf(stderr, "qaxdb-bench-server: PostgreSQL's initdb failed (exit %d):\n",
            pid > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    print_log(log);
    return 0;
  }
  return 1;
}

/* Synced durability, as qaxdb's `group`: fsync and synchronous_commit on (the defaults, set
 * here so that no local configuration changes them); a shared_buffers and max_wal_size a
 * production server on this 24 GiB machine would have, so that the bulk load is not a
 * series of checkpoints. Appended to the postgresql.conf initdb wrote. */
static const char *const PG_SETTINGS = "fsync = on\n"
                                       "synchronous_commit = on\n"
                                       "full_page_writes = on\n"
                                       "shared_buffers = 2GB\n"
                                       "max_wal_size = 8GB\n"
                                       "timezone = 'UTC'\n";

static int configure_postgres(const postgres *pg) {
  char conf[PATH_MAX + 32];
  snprintf(conf, sizeof conf, "%s/data/postgresql.conf", pg->root);
  FILE *f = fopen(conf, "a");
  int ok = f && fputs(PG_SETTINGS, f) >= 0;
  if (f && fclose(f) != 0) ok = 0;
  if (!ok) fprintf(stderr, "qaxdb-bench-server: appending to %s: %s\n", conf, strerror(errno));
  return ok;
}

static pid_t run_postgres(postgres *pg, const char *bin) {
  char exe[PATH_MAX], data[PATH_MAX + 8], log[PATH_MAX + 16], port[16];
  snprintf(exe, sizeof exe, "%s/postgres", bin);
  snprintf(data, sizeof data, "%s/data", pg->root);
  snprintf(log, sizeof log, "%s/postgres.log", pg->root);
  snprintf(port, sizeof port, "%d", pg->port);
  char *argv[] = {exe, "-D", data, "-p", port, "-k", pg->root, "-h", "127.0.0.1", NULL};
  return spawn(pg, argv, log);
}

static void conninfo_postgres(const postgres *pg, char *out, size_t cap) {
  snprintf(out, cap, "host=127.0.0.1 port=%d user=bench dbname=postgres", pg->port);
}

/* Waits up to 60 s for postgres to take connections; 0 if it exited or never did. */
static int wait_ready(postgres *pg) {
  char conninfo[128];
  conninfo_postgres(pg, conninfo, sizeof conninfo);
  int status = 0;
  for (int i = 0; i < 1200 && pg->pid > 0; i++) {
    if (PQping(conninfo) == PQPING_OK) return 1;
    if (waitpid(pg->pid, &status, WNOHANG) == pg->pid) pg->pid = 0;
    usleep(50000);
  }
  char log[PATH_MAX + 16];
  snprintf(log, sizeof log, "%s/postgres.log", pg->root);
  if (pg->pid > 0)
    fprintf(stderr, "qaxdb-bench-server: PostgreSQL took no connections on port %d in 60 s\n",
            pg->port);
  else
    fprintf(stderr, "qaxdb-bench-server: PostgreSQL exited (status %d) before taking connections\n",
            WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  print_log(log);
  return 0;
}

static void stop_postgres(void) {
  postgres *pg = running_postgres;
  if (!pg) return;
  running_postgres = NULL;
  if (pg->pid > 0 && kill(pg->pid, SIGINT) == 0) /* fast shutdown */
    waitpid(pg->pid, NULL, 0);
  bench_remove_tree(pg->root);
}

static int start_postgres(postgres *pg, const char *bin) {
  char exe[PATH_MAX];
  snprintf(exe, sizeof exe, "%s/postgres", bin);
  if (access(exe, X_OK) != 0) {
    fprintf(stderr,
            "qaxdb-bench-server: PostgreSQL 15 not found: %s: %s (install the Debian package "
            "postgresql-15, as scripts/bootstrap.sh does, or pass --pg-bin DIR)\n",
            exe, strerror(errno));
    return 0;
  }
  bench_make_tmpdir(pg->root, "postgres");
  running_postgres = pg;
  atexit(stop_postgres);
  if (!choose_user(pg) || !run_initdb(pg, bin) || !configure_postgres(pg)) return 0;
  pg->port = bench_free_port();
  pg->pid = run_postgres(pg, bin);
  return pg->port > 0 && pg->pid > 0 && wait_ready(pg);
}

static const char *const PG_SCHEMA =
    "CREATE TYPE side AS ENUM ('buy', 'sell');"
    "CREATE TABLE trades (trade_id bigint PRIMARY KEY, instrument_id varchar(16) NOT NULL,"
    " buy_order_id bigint NOT NULL, sell_order_id bigint NOT NULL,"
    " buy_account_id varchar(32) NOT NULL, sell_account_id varchar(32) NOT NULL,"
    " price numeric(18,4) NOT NULL, volume bigint NOT NULL, aggressor side NOT NULL,"
    " ts timestamptz NOT NULL)";

/* ---- qaxdbd in this process ---- */

typedef struct qaxdb_side {
  char dir[PATH_MAX];
  qx_db *db;
  qx_server *server;
} qaxdb_side;

static int start_qaxdb(qaxdb_side *q) {
  bench_make_tmpdir(q->dir, "server");
  qx_server_options o;
  qx_server_options_init(&o);
  o.pg_port = 0;
  o.http_port = -1;
  if (qx_db_open(q->dir, NULL, &q->db, NULL) != QX_OK ||
      qx_server_start(q->db, &o, &q->server) != QX_OK) {
    fprintf(stderr, "qaxdb-bench-server: qaxdb: %s\n", qx_last_error());
    return 0;
  }
  return 1;
}

static void stop_qaxdb(qaxdb_side *q) {
  qx_server_stop(q->server);
  qx_db_close(q->db);
  bench_remove_tree(q->dir);
}

/* ---- ingest ---- */

typedef struct ingest {
  const char *name;
  int statements, rows;
  int copy; /* COPY FROM STDIN, else a multi-row INSERT */
} ingest;

/* Runs the statements of the case against both sides, each batch's text sent to both, the
 * side that goes first alternating so that the machine's background load hits both alike.
 * Latency is per statement, from sending it to its acknowledgement. */
static int measure_ingest(PGconn *const c[SIDES], market *m, const ingest *in, bench_case *out) {
  bench_side *side[SIDES] = {&out->qaxdb, &out->peer};
  int64_t total[SIDES] = {0, 0};
  qx_buffer batch = {0};
  out->name = in->name;
  for (int k = 0; k < SIDES; k++)
    qx_histogram_reset(&side[k]->latency);
  int ok = 1;
  for (int i = 0; ok && i < in->statements; i++) {
    if (in->copy)
      csv_batch(m, in->rows, &batch);
    else
      insert_batch(m, in->rows, &batch);
    for (int j = 0; ok && j < SIDES; j++) {
      int k = (i + j) % SIDES;
      int64_t t0 = qx_monotonic_ns();
      ok = in->copy ? copy_rows(c[k], &batch)
                    : result_ok(PQexec(c[k], text_of(&batch)), PGRES_COMMAND_OK, "INSERT");
      int64_t dt = qx_monotonic_ns() - t0;
      qx_histogram_record(&side[k]->latency, (uint64_t)dt);
      total[k] += dt;
    }
  }
  qx_buffer_free(&batch);
  for (int k = 0; k < SIDES; k++)
    side[k]->records_per_s = (double)in->rows * in->statements * 1e9 / (double)total[k];
  return ok;
}

/* ---- point SELECTs ---- */

typedef struct point_thread {
  PGconn *conn;
  uint64_t first, count, rows; /* query numbers first..first+count-1, keys below rows */
  histogram latency;
  int failed;
} point_thread;

static void *point_main(void *arg) {
  point_thread *t = arg;
  for (uint64_t i = t->first; i < t->first + t->count && !t->failed; i++) {
    char key[24];
    snprintf(key, sizeof key, "%" PRIu64, i * POINT_STRIDE % t->rows);
    const char *params[1] = {key};
    int64_t t0 = qx_monotonic_ns();
    PGresult *r = PQexecPrepared(t->conn, "point", 1, params, NULL, NULL, 0);
    qx_histogram_record(&t->latency, (uint64_t)(qx_monotonic_ns() - t0));
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
      fprintf(stderr, "qaxdb-bench-server: point %s: %s (%d rows)\n", key, PQresultErrorMessage(r),
              PQntuples(r));
      t->failed = 1;
    }
    PQclear(r);
  }
  return NULL;
}

/* One round on one side: threads connections, count queries among them; the wall time. */
static int64_t point_round(const char *conninfo, const char *sql, int threads, uint64_t first,
                           uint64_t count, uint64_t rows, histogram *into) {
  static point_thread t[MAX_THREADS];
  pthread_t tid[MAX_THREADS];
  for (int i = 0; i < threads; i++) {
    t[i] = (point_thread){.conn = connect_to(conninfo), .rows = rows};
    t[i].first = first + count * (uint64_t)i / (uint64_t)threads;
    t[i].count = first + count * (uint64_t)(i + 1) / (uint64_t)threads - t[i].first;
    qx_histogram_reset(&t[i].latency);
    if (!result_ok(PQprepare(t[i].conn, "point", sql, 1, NULL), PGRES_COMMAND_OK, sql)) return -1;
  }
  int64_t t0 = qx_monotonic_ns();
  for (int i = 0; i < threads; i++)
    pthread_create(&tid[i], NULL, point_main, &t[i]);
  int failed = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(tid[i], NULL);
    failed |= t[i].failed;
  }
  int64_t wall = qx_monotonic_ns() - t0;
  for (int i = 0; i < threads; i++) {
    qx_histogram_merge(into, &t[i].latency);
    PQfinish(t[i].conn);
  }
  return failed ? -1 : wall;
}

/* qaxdb answers a point query through its key index with trades_by_key (docs/sql.md; a
 * WHERE trade_id = $1 scans Parquet), PostgreSQL through its primary key index. */
static int measure_point(const char *const conninfo[SIDES], int threads, const settings *s,
                         bench_case *out) {
  static const char *const sql[SIDES] = {"SELECT * FROM trades_by_key($1)",
                                         "SELECT * FROM trades WHERE trade_id = $1"};
  bench_side *side[SIDES] = {&out->qaxdb, &out->peer};
  int64_t wall[SIDES] = {0, 0};
  uint64_t per_round = (uint64_t)s->point_queries / POINT_ROUNDS;
  for (int k = 0; k < SIDES; k++)
    qx_histogram_reset(&side[k]->latency);
  for (int round = 0; round < POINT_ROUNDS; round++)
    for (int k = 0; k < SIDES; k++) {
      int64_t w = point_round(conninfo[k], sql[k], threads, per_round * (uint64_t)round, per_round,
                              s->rows, &side[k]->latency);
      if (w < 0) return 0;
      wall[k] += w;
    }
  for (int k = 0; k < SIDES; k++)
    side[k]->records_per_s = (double)per_round * POINT_ROUNDS * 1e9 / (double)wall[k];
  return 1;
}

/* ---- the aggregate ---- */

/* VWAP, volume and trade count per instrument over every trade. Each run's text differs by a
 * comment, so that qaxdb's result cache (keyed by text and LSN) cannot answer it. */
static int aggregate_once(PGconn *c, int run, qx_buffer *answer, int64_t *ns) {
  char sql[512];
  snprintf(sql, sizeof sql,
           "/* run %d */ SELECT instrument_id, sum(price * volume) / sum(volume) AS vwap, "
           "sum(volume) AS volume, count(*) AS trades FROM trades GROUP BY instrument_id "
           "ORDER BY instrument_id",
           run);
  int64_t t0 = qx_monotonic_ns();
  PGresult *r = PQexec(c, sql);
  *ns = qx_monotonic_ns() - t0;
  if (PQresultStatus(r) != PGRES_TUPLES_OK) return result_ok(r, PGRES_TUPLES_OK, sql);
  answer->len = 0;
  for (int i = 0; i < PQntuples(r); i++)
    qx_buffer_printf(answer, "%s %s %s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 2),
                     PQgetvalue(r, i, 3));
  PQclear(r);
  return 1;
}

/* Runs the aggregate alternately on both sides; the instruments, volumes and counts must be
 * the same (the VWAP's digits differ: DuckDB and PostgreSQL pick different scales). */
static int measure_aggregate(PGconn *const c[SIDES], const settings *s, bench_case *out) {
  bench_side *side[SIDES] = {&out->qaxdb, &out->peer};
  int64_t total[SIDES] = {0, 0};
  qx_buffer answer[SIDES] = {{0}, {0}};
  int ok = 1;
  out->name = "aggregate_vwap";
  for (int k = 0; k < SIDES; k++)
    qx_histogram_reset(&side[k]->latency);
  for (int run = 0; ok && run < s->aggregate_runs; run++)
    for (int k = 0; ok && k < SIDES; k++) {
      int64_t ns;
      ok = aggregate_once(c[k], run, &answer[k], &ns);
      qx_histogram_record(&side[k]->latency, (uint64_t)ns);
      total[k] += ns;
    }
  if (ok && (answer[0].len != answer[1].len ||
             memcmp(text_of(&answer[0]), text_of(&answer[1]), answer[0].len) != 0)) {
    fprintf(stderr, "qaxdb-bench-server: the aggregates differ:\n%s---\n%s", text_of(&answer[0]),
            text_of(&answer[1]));
    ok = 0;
  }
  for (int k = 0; k < SIDES; k++) {
    side[k]->records_per_s = (double)s->aggregate_runs * 1e9 / (double)total[k];
    qx_buffer_free(&answer[k]);
  }
  return ok;
}

/* ---- the run ---- */

/* Loads both sides up to s->rows trades (or a little more) with COPYs of BULK_ROWS rows, then
 * brings each to its steady state for reading: qaxdb's converter writes what it buffers to Parquet
 * (as it does on its own within 10 s), PostgreSQL's VACUUM ANALYZE sets the visibility map and the
 * statistics (as autovacuum does after a load). */
static int bulk_load(PGconn *const c[SIDES], qx_db *db, market *m, const settings *s,
                     bench_case *out) {
  ingest bulk = {"copy_bulk_100k", 0, BULK_ROWS, 1};
  if (m->next_id < s->rows)
    bulk.statements = (int)((s->rows - m->next_id + BULK_ROWS - 1) / BULK_ROWS);
  fprintf(stderr, "qaxdb-bench-server: loading %d x %d more trades into both\n", bulk.statements,
          BULK_ROWS);
  if (bulk.statements && !measure_ingest(c, m, &bulk, out)) return 0;
  fprintf(stderr, "qaxdb-bench-server: Parquet flush, VACUUM ANALYZE\n");
  if (qx_db_olap_flush(db) != QX_OK) {
    fprintf(stderr, "qaxdb-bench-server: Parquet flush: %s\n", qx_last_error());
    return 0;
  }
  return command(c[1], "VACUUM ANALYZE trades");
}

/* The peer must run at synced durability: a setting that did not take would flatter it. */
static int check_setting(PGconn *c, const char *name, const char *want) {
  char sql[64];
  snprintf(sql, sizeof sql, "SHOW %s", name);
  PGresult *r = PQexec(c, sql);
  int ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
           strcmp(PQgetvalue(r, 0, 0), want) == 0;
  if (!ok)
    fprintf(stderr, "qaxdb-bench-server: PostgreSQL's %s is not %s: %s\n", name, want,
            PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : PQresultErrorMessage(r));
  PQclear(r);
  return ok;
}

static int run_cases(const char *const conninfo[SIDES], qx_db *db, settings *s) {
  PGconn *c[SIDES] = {connect_to(conninfo[0]), connect_to(conninfo[1])};
  market m = {.next_id = 0};
  bench_market_init(&m.prices);
  const ingest cases[] = {{"copy_10k", s->copy_statements, s->copy_rows, 1},
                          {"insert_1k", s->insert_statements, s->insert_rows, 0}};
  bench_case ingest_cases[3], point_cases[2], aggregate;
  int ok = check_setting(c[1], "fsync", "on") && check_setting(c[1], "synchronous_commit", "on") &&
           check_setting(c[1], "shared_buffers", "2GB") && command(c[1], PG_SCHEMA);
  for (int i = 0; ok && i < 2; i++) {
    fprintf(stderr, "qaxdb-bench-server: %s\n", cases[i].name);
    ok = measure_ingest(c, &m, &cases[i], &ingest_cases[i]);
  }
  size_t ingest_count = 2 + (m.next_id < s->rows); /* with the bulk load */
  ok = ok && bulk_load(c, db, &m, s, &ingest_cases[2]);
  s->rows = m.next_id; /* keys below it exist on both sides */
  for (int i = 0; ok && i < 2; i++) {
    int threads = i ? 8 : 1;
    fprintf(stderr, "qaxdb-bench-server: point SELECTs from %d connection(s)\n", threads);
    point_cases[i].name = i ? "point_8conn" : "point_1conn";
    ok = measure_point(conninfo, threads, s, &point_cases[i]);
  }
  fprintf(stderr, "qaxdb-bench-server: aggregate over %" PRIu64 " trades\n", s->rows);
  ok = ok && measure_aggregate(c, s, &aggregate);
  if (ok) {
    bench_print(stdout, "server", "postgres", "rows", ingest_cases, ingest_count);
    bench_print(stdout, "server", "postgres", "queries", point_cases, 2);
    bench_print(stdout, "server", "postgres", "queries", &aggregate, 1);
  }
  PQfinish(c[0]);
  PQfinish(c[1]);
  return ok;
}

static const settings FULL = {.rows = 10000000,
                              .copy_statements = 50,
                              .copy_rows = 10000,
                              .insert_statements = 50,
                              .insert_rows = 1000,
                              .point_queries = 20000,
                              .aggregate_runs = 5,
                              .pg_bin = PG_BIN_DEFAULT};
static const settings QUICK = {.rows = 1000000,
                               .copy_statements = 20,
                               .copy_rows = 10000,
                               .insert_statements = 20,
                               .insert_rows = 1000,
                               .point_queries = 4000,
                               .aggregate_runs = 3,
                               .pg_bin = PG_BIN_DEFAULT};

/* --quick picks the defaults, whatever its position; the other flags change them. */
static int parse_args(int argc, char **argv, settings *s) {
  *s = FULL;
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--quick") == 0) *s = QUICK;
  for (int i = 1; i < argc; i++) {
    char *end = NULL;
    if (strcmp(argv[i], "--quick") == 0) continue;
    if (strcmp(argv[i], "--rows") == 0 && i + 1 < argc) {
      s->rows = strtoull(argv[++i], &end, 10);
      if (*end == '\0' && s->rows > 0) continue;
    } else if (strcmp(argv[i], "--pg-bin") == 0 && i + 1 < argc) {
      s->pg_bin = argv[++i];
      continue;
    }
    fprintf(stderr, "usage: qaxdb-bench-server [--quick] [--rows N] [--pg-bin DIR]\n");
    return 0;
  }
  return 1;
}

int main(int argc, char **argv) {
  settings s;
  if (!parse_args(argc, argv, &s)) return 2;
  static postgres pg;
  qaxdb_side q;
  if (!start_postgres(&pg, s.pg_bin)) return 1;
  if (!start_qaxdb(&q)) return 1;
  char qaxdb_info[128], pg_info[128];
  snprintf(qaxdb_info, sizeof qaxdb_info, "host=127.0.0.1 port=%d user=bench dbname=qaxdb",
           qx_server_pg_port(q.server));
  conninfo_postgres(&pg, pg_info, sizeof pg_info);
  const char *conninfo[SIDES] = {qaxdb_info, pg_info};
  int ok = run_cases(conninfo, q.db, &s);
  stop_qaxdb(&q);
  stop_postgres();
  return ok ? 0 : 1;
}
