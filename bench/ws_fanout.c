/* qaxdb-bench-dist's WebSocket fan-out part (ws_fanout.h): for qaxdb (a database in a scratch
 * folder, qaxdbd's listeners started in process) and then for the libwebsockets peer, the same
 * writer loop writes trades and ticks at each rate, first with no WebSocket client and then with
 * every client subscribed to trades; the clients measure each record's delivery latency. */
#include "ws_fanout.h"

#include <libwebsockets.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench_report.h"
#include "market.h"
#include "qaxdb/db.h"
#include "qaxdb/records.h"
#include "qaxdb/schema.h"
#include "qaxdb/server.h"
#include "util/clock.h"
#include "ws_broadcast_peer.h"
#include "ws_clients.h"

#define SEC 1000000000ll
#define WRITER_TICK_NS 100000    /* the writer sleeps this long between bursts of due records */
#define DRAIN_IDLE_NS (10 * SEC) /* after the writer: this long with no record ends a phase */
#define DRAIN_MAX_NS (30 * SEC)  /* ... and so does this long: what is left counts as missing */
#define CONNECT_TIMEOUT_S 120
#define PEER_NAME "lws"

typedef enum system_id { SYS_QAXDB = 0, SYS_PEER = 1, SYS_COUNT = 2 } system_id;
static const char *const system_names[SYS_COUNT] = {"qaxdb", PEER_NAME};

/* Where the writer writes: qaxdb's database (its server fans out) or the peer's window. */
typedef struct target {
  char dir[PATH_MAX];
  qx_db *db;
  qx_server *server;
  ws_peer *peer;
  int port;
} target;

/* The market the writer writes: a trade, then the tick it moved, over and over. */
typedef struct generator {
  bench_market market;
  uint64_t count;
  int instrument;
  int64_t day_volume[BENCH_INSTRUMENTS];
} generator;

typedef union record {
  qx_trade trade;
  qx_tick tick;
} record;

/* One phase of writing: the writer's view and, with clients, theirs. */
typedef struct phase {
  histogram write_latency; /* per record written, ns */
  uint64_t records, trades;
  int64_t start_wall, end_wall;
  uint64_t expected; /* trades written times subscribed clients */
  ws_client_stats seen;
  uint64_t peer_skips;
  double others_percent; /* of the machine's CPU time, taken by other processes meanwhile */
  int ran;
} phase;

typedef struct results {
  phase alone[WS_MAX_RATES], with_clients[WS_MAX_RATES];
} results;

static results sys_results[SYS_COUNT], json_results; /* histograms are large: not on the stack */

/* ---- the writer ----------------------------------------------------------------------------- */

static void sleep_ns(int64_t ns) {
  struct timespec ts = {(time_t)(ns / SEC), (long)(ns % SEC)};
  nanosleep(&ts, NULL);
}

static void generator_init(generator *g) {
  memset(g, 0, sizeof *g);
  bench_market_init(&g->market);
}

static void make_trade(generator *g, int64_t ts, qx_trade *t) {
  int ins = g->instrument = bench_market_next(&g->market);
  memset(t, 0, sizeof *t);
  t->trade_id = g->count / 2 + 1;
  memcpy(t->instrument_id, g->market.instruments[ins].id, QX_INSTRUMENT_ID_LEN);
  t->buy_order_id = 2 * t->trade_id, t->sell_order_id = 2 * t->trade_id + 1;
  snprintf(t->buy_account_id, sizeof t->buy_account_id, "acct-%04d", (int)(g->count % 997));
  snprintf(t->sell_account_id, sizeof t->sell_account_id, "acct-%04d", (int)(g->count % 991));
  t->price = g->market.price[ins];
  t->volume = 1 + (int64_t)(g->count % 7);
  t->aggressor = (uint8_t)(g->count / 2 % 2);
  t->ts = ts;
  g->day_volume[ins] += t->volume;
}

static void make_tick(const generator *g, int64_t ts, qx_tick *k) {
  int ins = g->instrument;
  int64_t price = g->market.price[ins], tick = g->market.instruments[ins].tick;
  memset(k, 0, sizeof *k);
  memcpy(k->instrument_id, g->market.instruments[ins].id, QX_INSTRUMENT_ID_LEN);
  k->ts = ts;
  k->last_price = k->average_price = price;
  k->bid_price = price - tick, k->ask_price = price + tick;
  k->bid_volume = k->ask_volume = 10;
  k->volume = g->day_volume[ins];
}

/* The next record, stamped ts; returns its table. */
static int next_record(generator *g, int64_t ts, record *r) {
  int trade = g->count % 2 == 0;
  if (trade)
    make_trade(g, ts, &r->trade);
  else
    make_tick(g, ts, &r->tick);
  g->count++;
  return trade ? QX_TABLE_TRADES : QX_TABLE_TICKS;
}

/* Writes one record stamped with the wall clock now and times the write alone. */
static void write_one(const target *t, generator *g, phase *p) {
  record rec;
  int64_t ts = qx_wall_ns();
  int table = next_record(g, ts, &rec);
  const qx_schema *schema = qx_schema_by_id(table);
  int64_t start = qx_monotonic_ns();
  if (t->db) {
    if (qx_db_put_record(t->db, table, &rec, QX_DURABILITY_NONE, NULL) != QX_OK) {
      fprintf(stderr, "qaxdb-bench-dist: write: %s\n", qx_last_error());
      exit(1);
    }
  } else {
    ws_peer_publish(t->peer, table, schema->version, ts, &rec, schema->record_size);
  }
  qx_histogram_record(&p->write_latency, (uint64_t)(qx_monotonic_ns() - start));
  p->records++;
  p->trades += table == QX_TABLE_TRADES;
}

/* Writes at rate records/s for seconds: every WRITER_TICK_NS, the records due by then. */
static void write_phase(const target *t, generator *g, int rate, int seconds, phase *p) {
  qx_histogram_reset(&p->write_latency);
  p->records = p->trades = 0;
  int64_t start = qx_monotonic_ns(), end = start + (int64_t)seconds * SEC;
  p->start_wall = qx_wall_ns();
  uint64_t done = 0;
  for (int64_t now = start; now < end; now = qx_monotonic_ns()) {
    uint64_t due = (uint64_t)((now - start) * (int64_t)rate / SEC);
    int wrote = due > done;
    for (; done < due; done++)
      write_one(t, g, p);
    if (t->peer && wrote) ws_peer_wake(t->peer); /* once per burst, only with news */
    sleep_ns(WRITER_TICK_NS);
  }
  p->end_wall = qx_wall_ns();
  p->ran = 1;
}

/* ---- a phase with clients ------------------------------------------------------------------- */

/* Waits until the clients have every record, none came for DRAIN_IDLE_NS, or DRAIN_MAX_NS. */
static void drain(ws_clients *c, uint64_t expected, ws_client_stats *out) {
  uint64_t last = 0;
  int64_t give_up = qx_monotonic_ns() + DRAIN_MAX_NS;
  for (int64_t idle_since = qx_monotonic_ns();; sleep_ns(10000000)) {
    ws_clients_stats(c, out);
    if (out->records >= expected || qx_monotonic_ns() > give_up) return;
    if (out->records != last) {
      last = out->records;
      idle_since = qx_monotonic_ns();
    } else if (qx_monotonic_ns() - idle_since > DRAIN_IDLE_NS) {
      return;
    }
  }
}

static void clients_phase(const target *t, ws_clients *c, int clients, generator *g, int rate,
                          int seconds, phase *p) {
  uint64_t skips = t->peer ? ws_peer_skips(t->peer) : 0;
  ws_clients_reset(c, qx_wall_ns());
  bench_cpu before = bench_sample_cpu(RUSAGE_SELF);
  write_phase(t, g, rate, seconds, p);
  if (t->peer) ws_peer_wake(t->peer);
  p->expected = p->trades * (uint64_t)clients;
  drain(c, p->expected, &p->seen);
  p->others_percent = bench_others_percent(before, bench_sample_cpu(RUSAGE_SELF));
  p->peer_skips = t->peer ? ws_peer_skips(t->peer) - skips : 0;
}

/* ---- the systems ---------------------------------------------------------------------------- */

static int start_target(target *t, system_id sys, int clients) {
  memset(t, 0, sizeof *t);
  if (sys == SYS_PEER) {
    t->peer = ws_peer_start(clients);
    t->port = t->peer ? ws_peer_port(t->peer) : -1;
    return t->peer != NULL;
  }
  bench_make_tmpdir(t->dir, "ws");
  qx_server_options o;
  qx_server_options_init(&o);
  o.pg_port = 0;
  o.http_port = 0;
  o.max_connections = clients + 64; /* in case WebSockets count against it */
  if (qx_db_open(t->dir, NULL, &t->db, NULL) != QX_OK ||
      qx_server_start(t->db, &o, &t->server) != QX_OK) {
    fprintf(stderr, "qaxdb-bench-dist: qaxdb: %s\n", qx_last_error());
    return 0;
  }
  t->port = qx_server_http_port(t->server);
  return 1;
}

static void stop_target(target *t) {
  if (t->peer) ws_peer_stop(t->peer);
  if (t->server) qx_server_stop(t->server);
  if (t->db) qx_db_close(t->db);
  if (t->dir[0]) bench_remove_tree(t->dir);
}

/* Every rate alone first, then every rate with clients: connected afresh for each rate, so
 * that no backlog of one rate is still being sent during the next. */
static int run_system(system_id sys, const ws_fanout_settings *s, int binary, results *r) {
  target t;
  generator g;
  generator_init(&g);
  fprintf(stderr, "ws fan-out: %s (%s) ...\n", system_names[sys], binary ? "binary" : "json");
  int ok = start_target(&t, sys, s->clients);
  for (int i = 0; ok && binary && i < WS_MAX_RATES && s->rates[i]; i++)
    write_phase(&t, &g, s->rates[i], s->seconds, &r->alone[i]);
  for (int i = 0; ok && i < WS_MAX_RATES && s->rates[i]; i++) {
    ws_clients *c = ws_clients_start(t.port, s->clients, binary, CONNECT_TIMEOUT_S);
    if (c) clients_phase(&t, c, s->clients, &g, s->rates[i], s->seconds, &r->with_clients[i]);
    if (c) ws_clients_stop(c);
    ok = c != NULL;
  }
  stop_target(&t);
  return ok;
}

/* ---- the report ----------------------------------------------------------------------------- */

static void rate_name(char *out, size_t cap, const char *prefix, int clients, int rate) {
  if (rate % 1000 == 0)
    snprintf(out, cap, "%s%dc_%dk", prefix, clients, rate / 1000);
  else
    snprintf(out, cap, "%s%dc_%d", prefix, clients, rate);
}

static double per_s(uint64_t n, int64_t from_ns, int64_t to_ns) {
  return to_ns > from_ns ? (double)n * 1e9 / (double)(to_ns - from_ns) : 0;
}

/* Delivered records/s: from the writer's start to the last receipt. */
static bench_side delivery_side(const phase *p) {
  bench_side side = {.latency = p->seen.latency};
  side.records_per_s = per_s(p->seen.records, p->start_wall, p->seen.last_ns);
  return side;
}

static bench_side writer_side(const phase *p) {
  bench_side side = {.latency = p->write_latency};
  side.records_per_s = per_s(p->records, p->start_wall, p->end_wall);
  return side;
}

static void print_check(const char *system, const char *format, int rate, const phase *p) {
  if (!p->ran) {
    printf("%-6s %-6s %8d   (did not run)\n", system, format, rate);
    return;
  }
  const ws_client_stats *s = &p->seen;
  uint64_t missing = p->expected > s->records ? p->expected - s->records : 0;
  printf("%-6s %-6s %8d %9.0f %11llu %11llu %9llu %6llu %7llu %6llu %6llu %6llu %6llu %8llu "
         "%6.1f%% %s\n",
         system, format, rate, per_s(p->records, p->start_wall, p->end_wall),
         (unsigned long long)p->expected, (unsigned long long)s->records,
         (unsigned long long)missing, (unsigned long long)s->out_of_order,
         (unsigned long long)s->catchups, (unsigned long long)s->lives,
         (unsigned long long)s->errors, (unsigned long long)s->closes,
         (unsigned long long)p->peer_skips, (unsigned long long)s->earlier, p->others_percent,
         s->problem);
}

static void print_checks(const ws_fanout_settings *s) {
  printf("Checks per run with clients: records/s written (half trades, half ticks); trades\n"
         "expected by all clients together and received; missing (expected - received, when the\n"
         "clients had nothing new for 10 s or 30 s after the writer stopped); LSNs not\n"
         "above the previous one; catchup and live messages; errors; connections closed; the\n"
         "peer's skips (a client more than half its window behind); records received that\n"
         "were written before the phase (none expected: clients connect afresh per rate); the\n"
         "machine's CPU time taken by other processes meanwhile; the first problem seen.\n");
  printf("%-6s %-6s %8s %9s %11s %11s %9s %6s %7s %6s %6s %6s %6s %8s %7s %s\n", "system", "format",
         "rate", "written/s", "expected", "received", "missing", "order", "catchup", "live",
         "errors", "closes", "skips", "earlier", "others", "problem");
  for (int i = 0; i < WS_MAX_RATES && s->rates[i]; i++) {
    for (int sys = 0; sys < SYS_COUNT; sys++)
      print_check(system_names[sys], "binary", s->rates[i], &sys_results[sys].with_clients[i]);
    if (s->json) print_check("qaxdb", "json", s->rates[i], &json_results.with_clients[i]);
  }
  printf("\n");
}

static void print_legend(const ws_fanout_settings *s) {
  printf("qaxdb-bench-dist, WebSocket fan-out: qaxdbd's /ws (in process, qx_server_start) against\n"
         "a plain libwebsockets %s broadcast (same framing, no database), %d loopback clients in\n"
         "one lws client context and thread, each subscribed to trades (binary frames). The\n"
         "writer writes trades and ticks alternately at the rate, %d s per phase, each stamped\n"
         "with the wall clock (qaxdb: qx_db_put_record at `none`; peer: into its window).\n"
         "  ws<N>c_<rate>  delivery latency (receipt - ts_ns) of every trade at every client;\n"
         "                records/s delivered to all clients together\n"
         "  wr0c_<rate>    the writer's latency per record with no WebSocket client\n"
         "  wr<N>c_<rate>  the same with the N clients subscribed\n\n",
         lws_get_library_version(), s->clients, s->seconds);
}

static void print_writer_ratios(const ws_fanout_settings *s) {
  for (int i = 0; i < WS_MAX_RATES && s->rates[i]; i++) {
    double ratio[SYS_COUNT];
    for (int sys = 0; sys < SYS_COUNT; sys++) {
      double without = qx_histogram_quantile_us(&sys_results[sys].alone[i].write_latency, 0.99);
      double with = qx_histogram_quantile_us(&sys_results[sys].with_clients[i].write_latency, 0.99);
      ratio[sys] = without > 0 ? with / without : 0;
    }
    char name[40];
    rate_name(name, sizeof name, "wr", s->clients, s->rates[i]);
    printf("writer p99 with %d clients / without, at %d records/s: qaxdb %.2fx, %s %.2fx\n",
           s->clients, s->rates[i], ratio[SYS_QAXDB], PEER_NAME, ratio[SYS_PEER]);
    bench_print_metric(stdout, "dist", name, "writer_p99_with_over_without", ratio[SYS_QAXDB],
                       PEER_NAME, ratio[SYS_PEER],
                       ratio[SYS_QAXDB] > 0 ? ratio[SYS_PEER] / ratio[SYS_QAXDB] : 0);
  }
}

static void print_json_delivery(const ws_fanout_settings *s) {
  for (int i = 0; s->json && i < WS_MAX_RATES && s->rates[i]; i++) {
    const phase *j = &json_results.with_clients[i], *b = &sys_results[SYS_QAXDB].with_clients[i];
    char name[40];
    rate_name(name, sizeof name, "ws", s->clients, s->rates[i]);
    strncat(name, "_json", sizeof name - strlen(name) - 1);
    double pj = qx_histogram_quantile_us(&j->seen.latency, 0.99);
    double pb = qx_histogram_quantile_us(&b->seen.latency, 0.99);
    printf("qaxdb JSON delivery at %d records/s: p50 %.1f us, p99 %.1f us (binary p99 %.1f us)\n",
           s->rates[i], qx_histogram_quantile_us(&j->seen.latency, 0.5), pj, pb);
    bench_print_metric(stdout, "dist", name, "p99_us", pj, "qaxdb-binary", pb,
                       pj > 0 ? pb / pj : 0);
  }
}

static void print_report(const ws_fanout_settings *s) {
  static bench_case cases[3 * WS_MAX_RATES];
  size_t n = 0;
  static char names[3 * WS_MAX_RATES][40];
  for (int i = 0; i < WS_MAX_RATES && s->rates[i]; i++) {
    const char *prefixes[3] = {"ws", "wr", "wr"};
    for (int k = 0; k < 3; k++, n++) {
      rate_name(names[n], sizeof names[n], prefixes[k], k == 1 ? 0 : s->clients, s->rates[i]);
      cases[n].name = names[n];
      bench_side *sides[SYS_COUNT] = {&cases[n].qaxdb, &cases[n].peer};
      for (int sys = 0; sys < SYS_COUNT; sys++) {
        const results *r = &sys_results[sys];
        *sides[sys] = k == 0   ? delivery_side(&r->with_clients[i])
                      : k == 1 ? writer_side(&r->alone[i])
                               : writer_side(&r->with_clients[i]);
      }
    }
  }
  print_legend(s);
  print_checks(s);
  bench_print(stdout, "dist", PEER_NAME, "records", cases, n);
  print_writer_ratios(s);
  print_json_delivery(s);
}

/* ---- settings and the run ------------------------------------------------------------------- */

void ws_fanout_settings_init(ws_fanout_settings *s, int quick) {
  *s = quick ? (ws_fanout_settings){100, {10000, 0}, 2, 0}
             : (ws_fanout_settings){1000, {100000, 10000, 1000, 0}, 5, 0};
}

/* Each client and each of the server's connections takes a descriptor. */
static void raise_fd_limit(int clients) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  rlim_t want = (rlim_t)clients * 2 + 1024;
  if (rl.rlim_cur >= want) return;
  rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
  setrlimit(RLIMIT_NOFILE, &rl);
}

int ws_fanout_run(const ws_fanout_settings *s) {
  raise_fd_limit(s->clients);
  memset(sys_results, 0, sizeof sys_results);
  memset(&json_results, 0, sizeof json_results);
  int ok = 1;
  for (int sys = 0; sys < SYS_COUNT; sys++)
    ok &= run_system((system_id)sys, s, 1, &sys_results[sys]);
  if (s->json) ok &= run_system(SYS_QAXDB, s, 0, &json_results);
  print_report(s);
  return ok ? 0 : 1;
}
