/* qaxdb-bench-repl's three-node qaxdb cluster (repl_cluster.h): qaxdbd processes spawned from
 * the folder the bench runs from, watched over libpq (`QAXDB REPLICATION`), written to with
 * single-row INSERTs at durability `replicated`. */
#include "repl_cluster.h"

#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <libpq-fe.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_report.h"
#include "util/clock.h"
#include "util/grow.h"

#define NODES 3
#define ACKS_BEFORE_KILL 300
#define ACKS_AFTER_FAILOVER 300
#define WAIT_S 120 /* every wait of the cluster is bounded by this */
#define WRITE_TIMEOUT_MS 500
#define HUNG_MS 200 /* a try that took this long was a node not answering */

typedef struct node {
  char name[8], dir[PATH_MAX];
  int port;
  pid_t pid;
  PGconn *conn;          /* the writer's, or NULL */
  int64_t skip_until_ns; /* the writer passes over a node that hung on its last try */
} node;

struct qx_cluster {
  char root[PATH_MAX], etcd[128], qaxdbd[PATH_MAX];
  int ttl_s, trial;
  node nodes[NODES];
};

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
  nanosleep(&ts, NULL);
}

static int spawn(qx_cluster *c, node *n) {
  char port[16], advertise[64], ttl[16], log[PATH_MAX + 8];
  snprintf(port, sizeof port, "%d", n->port);
  snprintf(advertise, sizeof advertise, "127.0.0.1:%d", n->port);
  snprintf(ttl, sizeof ttl, "%d", c->ttl_s);
  snprintf(log, sizeof log, "%s.log", n->dir);
  n->pid = fork();
  if (n->pid < 0) return -1;
  if (n->pid == 0) {
    FILE *f = freopen(log, "a", stderr);
    if (!f || !freopen("/dev/null", "w", stdout)) _exit(127);
    execl(c->qaxdbd, "qaxdbd", "--data", n->dir, "--pg-port", port, "--http-port", "0", "--node",
          n->name, "--advertise", advertise, "--etcd", c->etcd, "--ttl", ttl, "--durability",
          "replicated", "--snapshot-interval", "0", "--log-level", "warn", (char *)NULL);
    _exit(127);
  }
  return 0;
}

static PGconn *connect_node(const node *n) {
  char info[128];
  snprintf(info, sizeof info, "host=127.0.0.1 port=%d user=bench dbname=qaxdb connect_timeout=1",
           n->port);
  PGconn *conn = PQconnectdb(info);
  if (PQstatus(conn) == CONNECTION_OK) return conn;
  PQfinish(conn);
  return NULL;
}

/* A node's role and last applied LSN from `QAXDB REPLICATION` ("" if it does not answer). */
static void node_state(const node *n, char role[16], uint64_t *applied) {
  role[0] = '\0';
  *applied = 0;
  PGconn *conn = connect_node(n);
  if (!conn) return;
  PGresult *r = PQexec(conn, "QAXDB REPLICATION");
  if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) {
    snprintf(role, 16, "%s", PQgetvalue(r, 0, 1));
    *applied = strtoull(PQgetvalue(r, 0, 4), NULL, 10);
  }
  PQclear(r);
  PQfinish(conn);
}

/* Waits until one node is the primary and the others have applied all it has; its index. */
static int wait_settled(qx_cluster *c) {
  for (int64_t end = qx_monotonic_ns() + WAIT_S * 1000000000ll; qx_monotonic_ns() < end;) {
    char role[NODES][16];
    uint64_t lsn[NODES];
    int primary = -1, primaries = 0, caught_up = 1;
    for (int i = 0; i < NODES; i++) {
      node_state(&c->nodes[i], role[i], &lsn[i]);
      if (strcmp(role[i], "primary") == 0) primary = i, primaries++;
    }
    for (int i = 0; primaries == 1 && i < NODES; i++)
      caught_up &= i == primary || (strcmp(role[i], "replica") == 0 && lsn[i] == lsn[primary]);
    if (primaries == 1 && caught_up) return primary;
    sleep_ms(100);
  }
  fprintf(stderr, "qaxdb-bench-repl: the qaxdb cluster did not settle in %d s (logs in %s)\n",
          WAIT_S, c->root);
  return -1;
}

int qx_cluster_start(const char *root_dir, const char *etcd_endpoint, int ttl_s, qx_cluster **out) {
  qx_cluster *c = calloc(1, sizeof *c);
  if (!c || (mkdir(root_dir, 0755) != 0 && errno != EEXIST)) {
    fprintf(stderr, "qaxdb-bench-repl: cannot create %s\n", root_dir);
    free(c);
    return -1;
  }
  snprintf(c->root, sizeof c->root, "%s", root_dir);
  snprintf(c->etcd, sizeof c->etcd, "%s", etcd_endpoint);
  c->ttl_s = ttl_s;
  char self[PATH_MAX];
  ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  self[len > 0 ? len : 0] = '\0';
  snprintf(c->qaxdbd, sizeof c->qaxdbd, "%s/qaxdbd", dirname(self));
  for (int i = 0; i < NODES; i++) {
    node *n = &c->nodes[i];
    snprintf(n->name, sizeof n->name, "n%d", i + 1);
    snprintf(n->dir, sizeof n->dir, "%s/n%d", root_dir, i + 1);
    n->port = bench_free_port();
    if (n->port < 0 || spawn(c, n) != 0) {
      qx_cluster_stop(c);
      return -1;
    }
  }
  *out = c;
  return wait_settled(c) < 0 ? -1 : 0;
}

/* ---- the writer ---------------------------------------------------------------------------- */

typedef struct acked {
  uint64_t *ids;
  size_t count, cap;
} acked;

/* Runs sql, giving up after WRITE_TIMEOUT_MS (a frozen node answers nothing): 1 if it was
 * acknowledged. */
static int exec_bounded(PGconn *conn, const char *sql) {
  if (!PQsendQuery(conn, sql)) return 0;
  int64_t end = qx_monotonic_ns() + WRITE_TIMEOUT_MS * 1000000ll;
  while (PQisBusy(conn)) {
    struct pollfd p = {PQsocket(conn), POLLIN, 0};
    int64_t left_ms = (end - qx_monotonic_ns()) / 1000000;
    if (left_ms <= 0 || poll(&p, 1, (int)left_ms) < 0 || !PQconsumeInput(conn)) return 0;
  }
  int ok = 0, results = 0;
  for (PGresult *r; (r = PQgetResult(conn)); PQclear(r))
    ok = ++results == 1 && PQresultStatus(r) == PGRES_COMMAND_OK;
  return ok;
}

/* One INSERT of row id to the node after *turn that takes it: the node's index, or -1. A node
 * that kept the writer waiting (frozen) is passed over for a second, as a client with several
 * addresses would, so that the time measured is the cluster's, not the wait on it. */
static int write_row(qx_cluster *c, int trial, uint64_t id, int *turn) {
  node *n = &c->nodes[*turn % NODES];
  int64_t start = qx_monotonic_ns();
  if (n->pid <= 0 || start < n->skip_until_ns) {
    ++*turn;
    return -1;
  }
  if (!n->conn) n->conn = connect_node(n);
  char sql[256];
  snprintf(sql, sizeof sql,
           "INSERT INTO instruments (instrument_id, exchange, price_tick, multiplier, ts) "
           "VALUES ('t%d-%" PRIu64 "', 'BENCH', 1, 1, TIMESTAMP '2026-11-30 00:00:00')",
           trial, id);
  if (n->conn && exec_bounded(n->conn, sql)) return *turn % NODES;
  PQfinish(n->conn);
  n->conn = NULL;
  if (qx_monotonic_ns() - start > HUNG_MS * 1000000ll)
    n->skip_until_ns = qx_monotonic_ns() + 1000000000ll;
  ++*turn;
  return -1;
}

static int record_ack(acked *a, uint64_t id) {
  if (qx_grow((void **)&a->ids, &a->cap, a->count + 1, sizeof *a->ids, "acks") != 0) return -1;
  a->ids[a->count++] = id;
  return 0;
}

static int compare_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Acknowledged rows of the trial that node has not. */
static uint64_t count_lost(qx_cluster *c, const node *n, const acked *a) {
  PGconn *conn = connect_node(n);
  char sql[160];
  snprintf(sql, sizeof sql,
           "SELECT split_part(instrument_id, '-', 2)::UBIGINT FROM instruments "
           "WHERE instrument_id LIKE 't%d-%%'",
           c->trial);
  PGresult *r = conn ? PQexec(conn, sql) : NULL;
  int rows = PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r) : -1;
  uint64_t *have = calloc(rows > 0 ? (size_t)rows : 1, sizeof *have);
  for (int i = 0; i < rows; i++)
    have[i] = strtoull(PQgetvalue(r, i, 0), NULL, 10);
  qsort(have, rows > 0 ? (size_t)rows : 0, sizeof *have, compare_u64);
  uint64_t lost = rows < 0 ? a->count : 0;
  for (size_t i = 0; rows >= 0 && i < a->count; i++)
    lost += !bsearch(&a->ids[i], have, (size_t)rows, sizeof *have, compare_u64);
  free(have);
  PQclear(r);
  PQfinish(conn);
  return lost;
}

static void close_writer(qx_cluster *c) {
  for (int i = 0; i < NODES; i++) {
    PQfinish(c->nodes[i].conn);
    c->nodes[i].conn = NULL;
  }
}

/* Takes node i down as fault says: gone for good (SIGKILL, reaped), or frozen (SIGSTOP). */
static void strike(qx_cluster *c, int i, qx_cluster_fault fault) {
  node *n = &c->nodes[i];
  PQfinish(n->conn);
  n->conn = NULL;
  if (fault == QX_FAULT_FREEZE) {
    kill(n->pid, SIGSTOP);
    return;
  }
  kill(n->pid, SIGKILL);
  waitpid(n->pid, NULL, 0);
  n->pid = 0;
}

/* Brings node i back: a killed one restarted, a frozen one continued. */
static int revive(qx_cluster *c, int i, qx_cluster_fault fault) {
  if (fault == QX_FAULT_FREEZE) return kill(c->nodes[i].pid, SIGCONT);
  return spawn(c, &c->nodes[i]);
}

int qx_cluster_failover(qx_cluster *c, qx_cluster_fault fault, double *failover_s,
                        uint64_t *acked_lost) {
  int primary = wait_settled(c);
  if (primary < 0) return -1;
  c->trial++;
  acked a = {0};
  int turn = primary, killed = -1, new_primary = -1;
  int64_t kill_ns = 0, first_ack_ns = 0, end = qx_monotonic_ns() + WAIT_S * 1000000000ll;
  uint64_t after = 0;
  for (uint64_t id = 1; after < ACKS_AFTER_FAILOVER && qx_monotonic_ns() < end; id++) {
    int by = write_row(c, c->trial, id, &turn);
    if (by < 0) {
      sleep_ms(5);
      continue;
    }
    if (record_ack(&a, id) != 0) break;
    if (killed >= 0 && by != killed && !first_ack_ns) {
      first_ack_ns = qx_monotonic_ns();
      new_primary = by;
    }
    after += first_ack_ns != 0;
    if (killed < 0 && a.count == ACKS_BEFORE_KILL) {
      killed = by;
      kill_ns = qx_monotonic_ns();
      strike(c, killed, fault);
    }
  }
  close_writer(c);
  int ok = first_ack_ns != 0 && after >= ACKS_AFTER_FAILOVER;
  if (ok) {
    *failover_s = (double)(first_ack_ns - kill_ns) / 1e9;
    *acked_lost = count_lost(c, &c->nodes[new_primary], &a);
  } else {
    fprintf(stderr, "qaxdb-bench-repl: no new primary took writes in %d s (logs in %s)\n", WAIT_S,
            c->root);
  }
  free(a.ids);
  if (killed >= 0 && revive(c, killed, fault) != 0) ok = 0;
  return ok && wait_settled(c) >= 0 ? 0 : -1;
}

void qx_cluster_stop(qx_cluster *c) {
  if (!c) return;
  close_writer(c);
  for (int i = 0; i < NODES; i++)
    if (c->nodes[i].pid > 0) kill(c->nodes[i].pid, SIGCONT), kill(c->nodes[i].pid, SIGTERM);
  for (int i = 0; i < NODES; i++)
    if (c->nodes[i].pid > 0) waitpid(c->nodes[i].pid, NULL, 0);
  free(c);
}
