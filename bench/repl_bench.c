/* qaxdb-bench-repl: qaxdb's replication and failover against PostgreSQL 15 + Patroni, on the
 * same loopback machine and the same etcd, in one run (issue #15):
 *   lag      - rows written at a steady rate over libpq, from the commit to the row applied
 *              on a replica (qaxdb: rows at `none`, the primary's and the replica's last LSN
 *              watched in process; PostgreSQL: async, from the client's acknowledgement,
 *              which comes after the commit, to the row seen by polling a replica);
 *   commit   - single-row INSERT commits over libpq with one replica that must flush them
 *              (qaxdb `replicated`, k=1) against synchronous_commit remote_write and
 *              remote_apply, and each one's overhead over its local commit;
 *   failover - kill -9 of the primary under a writer: time to the first write a new primary
 *              acknowledged, and acknowledged writes lost; qaxdb (3 qaxdbd processes) at its
 *              lease TTL against Patroni at the same TTL and at its defaults. qaxdb also with
 *              the primary frozen (SIGSTOP), where only its lease running out tells the others
 *              (a killed one's port refuses connections, which they act on at once).
 * The qaxdb nodes of lag and commit run in this process (a primary and two replicas over TCP);
 * those of failover are qaxdbd processes.
 *
 * Usage: qaxdb-bench-repl [--quick] [--ttl S] [--trials N]. Ends with one JSON line per
 * measurement (bench_report.h). As root, PostgreSQL and Patroni run as the user postgres. */
#include <inttypes.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>

#include "bench_report.h"
#include "etcd_proc.h"
#include "patroni_peer.h"
#include "qaxdb/db.h"
#include "qaxdb/repl.h"
#include "qaxdb/server.h"
#include "repl_cluster.h"
#include "util/clock.h"

#define REPLICAS 2
#define PATRONI_DEFAULT_TTL 30 /* with loop_wait 10, retry_timeout 10 */

typedef struct settings {
  int quick, ttl_s, trials;
  int lag_rate, lag_seconds, commits;
} settings;

static void die(const char *what) {
  fprintf(stderr, "qaxdb-bench-repl: %s: %s\n", what, qx_last_error());
  exit(1);
}

static void sleep_us(int64_t us) {
  struct timespec ts = {us / 1000000, (long)(us % 1000000) * 1000};
  nanosleep(&ts, NULL);
}

/* ---- an in-process qaxdb primary with two replicas ------------------------------------------ */

typedef struct node {
  qx_db *db;
  qx_repl *repl;
} node;

typedef struct local_cluster {
  node primary, replicas[REPLICAS];
  qx_server *srv;
  int port;
} local_cluster;

static void open_node(const char *root, const char *name, const char *primary, node *n) {
  char dir[PATH_MAX + 32];
  snprintf(dir, sizeof dir, "%s/%s", root, name);
  qx_repl_options o;
  qx_repl_options_init(&o);
  o.node_name = name;
  o.primary = primary;
  if (qx_db_open(dir, NULL, &n->db, NULL) != QX_OK) die(dir);
  if (qx_repl_start(n->db, &o, &n->repl) != QX_OK) die("replication");
}

static int streaming(const node *n) {
  qx_repl_status st;
  qx_repl_status_get(n->repl, &st);
  return st.streaming;
}

static void start_local(const char *root, local_cluster *c) {
  open_node(root, "primary", NULL, &c->primary);
  qx_server_options so;
  qx_server_options_init(&so);
  so.pg_port = 0;
  so.http_port = -1;
  so.repl = c->primary.repl;
  if (qx_server_start(c->primary.db, &so, &c->srv) != QX_OK) die("server");
  c->port = qx_server_pg_port(c->srv);
  char address[32];
  snprintf(address, sizeof address, "127.0.0.1:%d", c->port);
  for (int i = 0; i < REPLICAS; i++) {
    char name[16];
    snprintf(name, sizeof name, "replica%d", i + 1);
    open_node(root, name, address, &c->replicas[i]);
  }
  for (int i = 0; i < 300 && !(streaming(&c->replicas[0]) && streaming(&c->replicas[1])); i++)
    sleep_us(100000);
  if (!streaming(&c->replicas[0]) || !streaming(&c->replicas[1])) {
    fprintf(stderr, "qaxdb-bench-repl: the replicas did not start streaming\n");
    exit(1);
  }
}

static void stop_local(local_cluster *c) {
  qx_server_stop(c->srv);
  node *all[REPLICAS + 1] = {&c->replicas[0], &c->replicas[1], &c->primary};
  for (int i = 0; i < REPLICAS + 1; i++) {
    qx_repl_stop(all[i]->repl);
    qx_db_close(all[i]->db);
  }
}

static PGconn *connect_local(const local_cluster *c, const char *durability) {
  char info[96], set[64];
  snprintf(info, sizeof info, "host=127.0.0.1 port=%d user=bench dbname=qaxdb", c->port);
  PGconn *conn = PQconnectdb(info);
  snprintf(set, sizeof set, "SET qaxdb.durability = %s", durability);
  PGresult *r = PQexec(conn, set);
  if (PQresultStatus(r) != PGRES_COMMAND_OK) {
    fprintf(stderr, "qaxdb-bench-repl: %s", PQerrorMessage(conn));
    exit(1);
  }
  PQclear(r);
  return conn;
}

/* One single-row INSERT; its LSN (the server's qaxdb.write_lsn). */
static uint64_t insert_row(PGconn *conn, const char *tag, uint64_t i) {
  char sql[200];
  snprintf(sql, sizeof sql,
           "INSERT INTO instruments (instrument_id, exchange, price_tick, multiplier, ts) "
           "VALUES ('%s%" PRIu64 "', 'BENCH', 1, 1, TIMESTAMP '2026-11-30 00:00:00')",
           tag, i);
  PGresult *r = PQexec(conn, sql);
  if (PQresultStatus(r) != PGRES_COMMAND_OK) {
    fprintf(stderr, "qaxdb-bench-repl: INSERT: %s", PQerrorMessage(conn));
    exit(1);
  }
  PQclear(r);
  const char *lsn = PQparameterStatus(conn, "qaxdb.write_lsn");
  return lsn ? strtoull(lsn, NULL, 10) : 0;
}

/* ---- lag ----------------------------------------------------------------------------------- */

/* When each LSN of the run became visible on the primary and on the replica, as one thread
 * polling both every few microseconds (timer slack 1 ns) saw it. */
typedef struct lag_watch {
  const node *primary, *replica;
  uint64_t first, count; /* the LSNs watched */
  int64_t *on_primary, *on_replica;
  atomic_int stop;
} lag_watch;

static void note_new(uint64_t last, uint64_t *seen, const lag_watch *w, int64_t *at, int64_t now) {
  for (; *seen < last; ++*seen)
    if (*seen + 1 >= w->first && *seen + 1 < w->first + w->count) at[*seen + 1 - w->first] = now;
}

static void *watch_main(void *arg) {
  lag_watch *w = arg;
  prctl(PR_SET_TIMERSLACK, 1);
  uint64_t seen_primary = w->first - 1, seen_replica = w->first - 1;
  while (!atomic_load(&w->stop) || seen_replica < w->first + w->count - 1) {
    uint64_t primary = qx_db_last_lsn(w->primary->db), replica = qx_db_last_lsn(w->replica->db);
    int64_t now = qx_monotonic_ns();
    note_new(primary, &seen_primary, w, w->on_primary, now);
    note_new(replica, &seen_replica, w, w->on_replica, now);
    sleep_us(5);
  }
  return NULL;
}

/* Rows at `none` at a steady rate; the lag of each is the time between its commit on the
 * primary and its apply on the first replica. Returns the rate achieved. */
static double qaxdb_lag(const local_cluster *c, const settings *s, histogram *out) {
  uint64_t rows = (uint64_t)s->lag_rate * (uint64_t)s->lag_seconds;
  lag_watch w = {.primary = &c->primary, .replica = &c->replicas[0], .count = rows};
  w.first = qx_db_last_lsn(c->primary.db) + 1;
  w.on_primary = calloc(rows, sizeof *w.on_primary);
  w.on_replica = calloc(rows, sizeof *w.on_replica);
  if (!w.on_primary || !w.on_replica) die("out of memory");
  pthread_t t;
  pthread_create(&t, NULL, watch_main, &w);
  PGconn *conn = connect_local(c, "none");
  int64_t period_ns = 1000000000ll / s->lag_rate, start = qx_monotonic_ns(), next = start;
  for (uint64_t i = 0; i < rows; i++) {
    while (qx_monotonic_ns() < next)
      sleep_us(20);
    next += period_ns;
    insert_row(conn, "lag", i);
  }
  double rate = (double)rows * 1e9 / (double)(qx_monotonic_ns() - start);
  PQfinish(conn);
  atomic_store(&w.stop, 1);
  pthread_join(t, NULL);
  for (uint64_t i = 0; i < rows; i++)
    qx_histogram_record(
        out, w.on_replica[i] > w.on_primary[i] ? (uint64_t)(w.on_replica[i] - w.on_primary[i]) : 0);
  free(w.on_primary);
  free(w.on_replica);
  return rate;
}

/* ---- commit latency -------------------------------------------------------------------------- */

static void qaxdb_commits(const local_cluster *c, const char *durability, int n, histogram *out) {
  PGconn *conn = connect_local(c, durability);
  for (int i = 0; i < n; i++) {
    int64_t start = qx_monotonic_ns();
    insert_row(conn, durability, (uint64_t)i);
    qx_histogram_record(out, (uint64_t)(qx_monotonic_ns() - start));
  }
  PQfinish(conn);
}

static double p99_of(const histogram *h) {
  return qx_histogram_quantile_us(h, 0.99);
}

/* ---- the run --------------------------------------------------------------------------------- */

typedef struct results {
  histogram lag[2]; /* qaxdb, PostgreSQL */
  double lag_rate;  /* rows/s qaxdb's writer achieved */
  histogram local[2], remote_write_pg, remote_apply_pg, replicated;
  double failover_qaxdb, failover_qaxdb_frozen, failover_patroni_same, failover_patroni_default;
  uint64_t lost_qaxdb, lost_patroni;
} results;

static void run_qaxdb_local(const char *root, const settings *s, results *r) {
  local_cluster c;
  start_local(root, &c);
  printf("qaxdb: a primary and %d replicas in this process, over loopback TCP\n", REPLICAS);
  fflush(stdout);
  r->lag_rate = qaxdb_lag(&c, s, &r->lag[0]);
  qaxdb_commits(&c, "group", s->commits, &r->local[0]);
  qaxdb_commits(&c, "replicated", s->commits, &r->replicated);
  stop_local(&c);
  printf("qaxdb: lag p50 %.1f us p99 %.1f us; commit p99 group %.1f us, replicated %.1f us\n",
         qx_histogram_quantile_us(&r->lag[0], 0.5), p99_of(&r->lag[0]), p99_of(&r->local[0]),
         p99_of(&r->replicated));
  fflush(stdout);
}

static double median(double *t, int n) {
  for (int i = 1; i < n; i++)
    for (int j = i; j > 0 && t[j] < t[j - 1]; j--) {
      double x = t[j];
      t[j] = t[j - 1];
      t[j - 1] = x;
    }
  return t[n / 2];
}

/* trials failovers of c under fault: the median time in *seconds, the writes lost added to
 * *lost. */
static int qaxdb_failovers(qx_cluster *c, qx_cluster_fault fault, int trials, double *seconds,
                           uint64_t *lost) {
  double t[16];
  int done = 0;
  for (; done < trials; done++) {
    uint64_t l = 0;
    if (qx_cluster_failover(c, fault, &t[done], &l) != 0) break;
    *lost += l;
    printf("qaxdb failover (%s) %d: %.3f s, %" PRIu64 " acknowledged writes lost\n",
           fault == QX_FAULT_KILL ? "kill -9" : "frozen", done + 1, t[done], l);
    fflush(stdout);
  }
  if (done < trials) return -1;
  *seconds = median(t, done);
  return 0;
}

static void run_qaxdb_cluster(const char *root, const char *etcd, const settings *s, results *r) {
  qx_cluster *c;
  int rc = qx_cluster_start(root, etcd, s->ttl_s, &c);
  if (rc == 0)
    rc = qaxdb_failovers(c, QX_FAULT_KILL, s->trials, &r->failover_qaxdb, &r->lost_qaxdb);
  if (rc == 0)
    rc = qaxdb_failovers(c, QX_FAULT_FREEZE, s->trials, &r->failover_qaxdb_frozen, &r->lost_qaxdb);
  qx_cluster_stop(c);
  if (rc != 0) exit(1);
}

/* Patroni's tightest timing at a TTL: its loop runs every second, and a DCS request may take
 * up to half the rest (Patroni 3.0.2 needs retry_timeout >= 2: at 1 a cluster stays without a
 * leader after its first lease loss). */
static void patroni_timing(int ttl, int *loop_wait, int *retry_timeout) {
  *loop_wait = 1;
  *retry_timeout = (ttl - 1) / 2 > 2 ? (ttl - 1) / 2 : 2;
}

static int patroni_failovers(patroni_cluster *pc, int trials, double *seconds, uint64_t *lost,
                             const char *label) {
  double t[16];
  int done = 0;
  for (; done < trials; done++) {
    uint64_t l = 0;
    if (patroni_failover(pc, &t[done], &l) != 0) break;
    *lost += l;
    printf("patroni failover (%s) %d: %.3f s, %" PRIu64 " acknowledged writes lost\n", label,
           done + 1, t[done], l);
    fflush(stdout);
  }
  if (done == 0) return -1;
  *seconds = median(t, done);
  return 0;
}

static void run_patroni(const char *root, const char *etcd, const settings *s, results *r) {
  int loop_wait, retry;
  patroni_timing(s->ttl_s, &loop_wait, &retry);
  patroni_cluster *pc;
  if (patroni_cluster_start(root, etcd, s->ttl_s, loop_wait, retry, &pc) != 0) exit(1);
  printf("PostgreSQL 15 + Patroni: 3 nodes, ttl %d s, loop_wait %d s, retry_timeout %d s\n",
         s->ttl_s, loop_wait, retry);
  fflush(stdout);
  if (patroni_replication_lag(pc, s->lag_rate, s->lag_seconds, &r->lag[1]) != 0 ||
      patroni_commit_latency(pc, "local", s->commits, &r->local[1]) != 0 ||
      patroni_commit_latency(pc, "remote_write", s->commits, &r->remote_write_pg) != 0 ||
      patroni_commit_latency(pc, "remote_apply", s->commits, &r->remote_apply_pg) != 0 ||
      patroni_failovers(pc, s->trials, &r->failover_patroni_same, &r->lost_patroni, "same ttl") ||
      patroni_cluster_set_timing(pc, PATRONI_DEFAULT_TTL, 10, 10) != 0 ||
      patroni_failovers(pc, s->quick ? 1 : s->trials, &r->failover_patroni_default,
                        &r->lost_patroni, "defaults") != 0) {
    patroni_cluster_stop(pc);
    exit(1);
  }
  patroni_cluster_stop(pc);
}

/* One client commits one row at a time: its rate is 1 / the mean latency. */
static bench_side sequential(const histogram *h) {
  double mean = qx_histogram_mean_us(h);
  return (bench_side){mean > 0 ? 1e6 / mean : 0, *h};
}

static void report(const settings *s, results *r) {
  static bench_case lag, commits[3];
  lag = (bench_case){"lag", {r->lag_rate, r->lag[0]}, {(double)s->lag_rate, r->lag[1]}};
  commits[0] = (bench_case){"commit_local", sequential(&r->local[0]), sequential(&r->local[1])};
  commits[1] =
      (bench_case){"commit_rwrite", sequential(&r->replicated), sequential(&r->remote_write_pg)};
  commits[2] =
      (bench_case){"commit_rapply", sequential(&r->replicated), sequential(&r->remote_apply_pg)};
  double over_q = p99_of(&r->replicated) - p99_of(&r->local[0]);
  double over_w = p99_of(&r->remote_write_pg) - p99_of(&r->local[1]);
  double over_a = p99_of(&r->remote_apply_pg) - p99_of(&r->local[1]);
  printf("\noverhead over a local commit, p99: qaxdb %.1f us, remote_write %.1f us, "
         "remote_apply %.1f us\n",
         over_q, over_w, over_a);
  printf("failover (kill -9 to the first acknowledged write; medians of %d): qaxdb %.3f s at "
         "ttl %d s (%.3f s with the primary frozen, on its lease alone); Patroni %.3f s at ttl "
         "%d s, %.3f s at its defaults (ttl 30 s)\n",
         s->trials, r->failover_qaxdb, s->ttl_s, r->failover_qaxdb_frozen, r->failover_patroni_same,
         s->ttl_s, r->failover_patroni_default);
  printf("acknowledged writes lost: qaxdb %" PRIu64 " (replicated), Patroni %" PRIu64
         " (async)\n\n",
         r->lost_qaxdb, r->lost_patroni);
  printf("replication lag at %d rows/s (qaxdb none, PostgreSQL async):\n", s->lag_rate);
  bench_print(stdout, "repl", "postgres", "rows", &lag, 1);
  printf("commits with one replica flushing (qaxdb replicated k=1 against remote_write and "
         "remote_apply):\n");
  bench_print(stdout, "repl", "postgres", "commits", commits, 3);
  bench_print_metric(stdout, "repl", "commit", "overhead_p99_us_vs_remote_write", over_q,
                     "postgres", over_w, over_q > 0 ? over_w / over_q : 0);
  bench_print_metric(stdout, "repl", "commit", "overhead_p99_us_vs_remote_apply", over_q,
                     "postgres", over_a, over_q > 0 ? over_a / over_q : 0);
  double q = r->failover_qaxdb;
  bench_print_metric(stdout, "repl", "failover", "failover_s", q, "patroni",
                     r->failover_patroni_same, q > 0 ? r->failover_patroni_same / q : 0);
  double f = r->failover_qaxdb_frozen;
  bench_print_metric(stdout, "repl", "failover_frozen", "failover_s", f, "patroni",
                     r->failover_patroni_same, f > 0 ? r->failover_patroni_same / f : 0);
  bench_print_metric(stdout, "repl", "failover_vs_defaults", "failover_s", q, "patroni",
                     r->failover_patroni_default, q > 0 ? r->failover_patroni_default / q : 0);
  bench_print_metric(stdout, "repl", "failover", "acked_lost", (double)r->lost_qaxdb, "patroni",
                     (double)r->lost_patroni, 0);
}

static settings parse(int argc, char **argv) {
  settings s = {0, QX_REPL_DEFAULT_TTL_S, 3, 1000, 10, 5000};
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) {
      s.quick = 1;
      s.trials = 1;
      s.lag_seconds = 3;
      s.commits = 1000;
    } else if (strcmp(argv[i], "--ttl") == 0 && i + 1 < argc) {
      s.ttl_s = atoi(argv[++i]);
    } else if (strcmp(argv[i], "--trials") == 0 && i + 1 < argc) {
      s.trials = atoi(argv[++i]);
    } else {
      fprintf(stderr, "usage: qaxdb-bench-repl [--quick] [--ttl SECONDS] [--trials N]\n");
      exit(2);
    }
  }
  if (s.ttl_s < 1 || s.trials < 1 || s.trials > 16) {
    fprintf(stderr, "qaxdb-bench-repl: --ttl must be >= 1 and --trials 1 to 16\n");
    exit(2);
  }
  return s;
}

int main(int argc, char **argv) {
  settings s = parse(argc, argv);
  static results r;
  char root[PATH_MAX], dir[PATH_MAX + 16];
  bench_make_tmpdir(root, "repl");
  chmod(root, 0755); /* PostgreSQL and Patroni run as the user postgres under it */
  etcd_proc etcd;
  if (etcd_proc_start(root, true, &etcd) != QX_OK) die("etcd");
  printf("etcd %s; qaxdb lease TTL %d s\n", etcd.endpoint, s.ttl_s);
  snprintf(dir, sizeof dir, "%s/local", root);
  run_qaxdb_local(dir, &s, &r);
  snprintf(dir, sizeof dir, "%s/cluster", root);
  run_qaxdb_cluster(dir, etcd.endpoint, &s, &r);
  snprintf(dir, sizeof dir, "%s/patroni", root);
  run_patroni(dir, etcd.endpoint, &s, &r);
  etcd_proc_stop(&etcd);
  report(&s, &r);
  bench_remove_tree(root);
  return 0;
}
