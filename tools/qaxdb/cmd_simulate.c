/* qaxdb simulate: the main job for now. Runs the seeded exchange workload (src/sim/) and logs
 * every record through the WAL, one batch per event, printing progress, throughput and the
 * latency of each append. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "qaxdb/schema.h"
#include "sim/batch.h"
#include "sim/sim.h"
#include "util/clock.h"
#include "util/fileio.h"
#include "util/histogram.h"

#define DEFAULT_EVENTS 3000000
#define GROUP_WAIT_EVENTS 4096 /* with durability group: wait for the durable LSN this often */

typedef struct simulate_options {
  const char *data;
  uint64_t events;
  sim_config sim;
  qx_durability durability;
} simulate_options;

static int usage(void) {
  printf("usage: qaxdb simulate [--data DIR] [--events N] [--seed S] [--durability none|group]\n"
         "                      [--instruments K] [--accounts A]\n\n"
         "Generates a deterministic exchange workload and logs it through the WAL: accounts open\n"
         "with deposits, then limit orders, market orders and cancels on K instruments (default\n"
         "50) from A accounts (default 1000), matched by price-time priority, with the trades,\n"
         "order, account and position updates, ticks and order book snapshots they cause.\n"
         "Each event's records are appended as one batch, after one batch of the instruments'\n"
         "contract terms (table instruments). --events defaults to %d (65-82 s on 2 cores;\n"
         "914 MiB in the data folder: 573 MiB of table files, 213 MiB of Parquet, 128 MiB of\n"
         "WAL); the same seed (default 1) gives the same records.\n"
         "--durability group (default) makes everything durable: the run waits for the synced\n"
         "LSN every %d events and at the end, and only then reports. none leaves the records\n"
         "in the page cache. See docs/simulate.md.\n",
         DEFAULT_EVENTS, GROUP_WAIT_EVENTS);
  return CLI_EXIT_OK;
}

static int parse_durability(const char *text, qx_durability *out) {
  if (strcmp(text, "none") == 0)
    *out = QX_DURABILITY_NONE;
  else if (strcmp(text, "group") == 0)
    *out = QX_DURABILITY_GROUP;
  else
    return 0;
  return 1;
}

static int parse_options(int argc, char **argv, simulate_options *o) {
  o->data = CLI_DEFAULT_DATA;
  o->events = DEFAULT_EVENTS;
  o->durability = QX_DURABILITY_GROUP;
  qx_sim_config_init(&o->sim);
  for (int i = 1; i < argc; i++) {
    if (cli_is_help(argv[i])) return usage(), -1;
    const char *v = NULL;
    uint64_t n;
    int f;
    if ((f = cli_flag_value(argc, argv, &i, "--data", &o->data)) != 0) {
      if (f < 0) return CLI_EXIT_USAGE;
    } else if ((f = cli_flag_value(argc, argv, &i, "--events", &v)) != 0) {
      if (f < 0 || !cli_parse_u64(v, "--events", &o->events)) return CLI_EXIT_USAGE;
    } else if ((f = cli_flag_value(argc, argv, &i, "--seed", &v)) != 0) {
      if (f < 0 || !cli_parse_u64(v, "--seed", &o->sim.seed)) return CLI_EXIT_USAGE;
    } else if ((f = cli_flag_value(argc, argv, &i, "--instruments", &v)) != 0) {
      if (f < 0 || !cli_parse_u64(v, "--instruments", &n)) return CLI_EXIT_USAGE;
      if (n < 1 || n > 64) return cli_usage_error("simulate", "--instruments must be 1..64");
      o->sim.instruments = (int)n;
    } else if ((f = cli_flag_value(argc, argv, &i, "--accounts", &v)) != 0) {
      if (f < 0 || !cli_parse_u64(v, "--accounts", &n)) return CLI_EXIT_USAGE;
      if (n < 1 || n > 1000000) return cli_usage_error("simulate", "--accounts must be 1..1000000");
      o->sim.accounts = (uint32_t)n;
    } else if ((f = cli_flag_value(argc, argv, &i, "--durability", &v)) != 0) {
      if (f < 0) return CLI_EXIT_USAGE;
      if (!parse_durability(v, &o->durability))
        return cli_usage_error("simulate", "--durability is none or group, not '%s'", v);
    } else {
      return cli_usage_error("simulate", "unexpected argument '%s'", argv[i]);
    }
  }
  return CLI_EXIT_OK;
}

typedef struct run_stats {
  uint64_t events, records, bytes;
  uint64_t per_table[QX_TABLE_MAX + 1];
  histogram append_latency;
  int64_t start_ns, elapsed_ns;
} run_stats;

static void print_progress(const run_stats *st, int64_t now) {
  double secs = (double)(now - st->start_ns) / 1e9;
  fprintf(stderr, "simulate: %" PRIu64 " events, %" PRIu64 " records, %.0f events/s\n", st->events,
          st->records, (double)st->events / secs);
}

static void print_summary(const run_stats *st, qx_db *db, qx_durability durability) {
  double secs = (double)st->elapsed_ns / 1e9;
  printf("events      %" PRIu64 " in %.2f s: %.0f events/s\n", st->events, secs,
         (double)st->events / secs);
  printf("records     %" PRIu64 ": %.0f records/s, %.1f MB/s of records\n", st->records,
         (double)st->records / secs, (double)st->bytes / secs / 1e6);
  printf("by table   ");
  for (int id = QX_TABLE_MIN; id <= QX_TABLE_MAX; id++)
    printf(" %s=%" PRIu64, qx_schema_by_id(id)->name, st->per_table[id]);
  printf(
      "\nappend      p50 %.2f us, p99 %.2f us, p999 %.2f us, max %.2f us (one batch per event)\n",
      qx_histogram_quantile_us(&st->append_latency, 0.5),
      qx_histogram_quantile_us(&st->append_latency, 0.99),
      qx_histogram_quantile_us(&st->append_latency, 0.999),
      qx_histogram_max_us(&st->append_latency));
  printf("wal         last LSN %" PRIu64 " (durability %s)\n", qx_db_last_lsn(db),
         durability == QX_DURABILITY_GROUP ? "group: all synced" : "none");
  cli_print_db_stats(db);
}

/* The instruments' contract terms, one batch ahead of the first event, so that the venue's
 * reference data is in the log before any order names an instrument. */
static int write_reference_data(sim *s, qx_db *db, sim_batch *batch, run_stats *st) {
  batch->count = 0;
  qx_sim_reference_data(s, qx_sim_batch_collect, batch);
  int rc = qx_db_write_records(db, batch->records, batch->count, QX_DURABILITY_NONE, NULL);
  if (rc != QX_OK) return cli_fail("simulate", "writing the instruments", rc);
  st->records += batch->count;
  return CLI_EXIT_OK;
}

static int run(const simulate_options *o, sim *s, qx_db *db, run_stats *st) {
  static sim_batch batch;
  int64_t next_progress = st->start_ns + 1000000000;
  if (write_reference_data(s, db, &batch, st) != CLI_EXIT_OK) return CLI_EXIT_FAILURE;
  for (uint64_t e = 0; e < o->events; e++) {
    batch.count = 0;
    qx_sim_next(s, qx_sim_batch_collect, &batch);
    int64_t t0 = qx_monotonic_ns();
    uint64_t last = 0;
    int rc = qx_db_write_records(db, batch.records, batch.count, QX_DURABILITY_NONE, &last);
    int64_t t1 = qx_monotonic_ns();
    if (rc != QX_OK) return cli_fail("simulate", "append", rc);
    qx_histogram_record(&st->append_latency, (uint64_t)(t1 - t0));
    st->events++;
    st->records += batch.count;
    if (o->durability == QX_DURABILITY_GROUP && e % GROUP_WAIT_EVENTS == GROUP_WAIT_EVENTS - 1 &&
        (rc = qx_db_wait_durable(db, last, -1)) != QX_OK)
      return cli_fail("simulate", "waiting for durability", rc);
    if ((e & 1023) == 0 && t1 >= next_progress) {
      print_progress(st, t1);
      next_progress += 1000000000;
    }
  }
  int rc = o->durability == QX_DURABILITY_GROUP && qx_db_last_lsn(db)
               ? qx_db_wait_durable(db, qx_db_last_lsn(db), -1)
               : QX_OK;
  if (rc != QX_OK) return cli_fail("simulate", "waiting for durability", rc);
  st->elapsed_ns = qx_monotonic_ns() - st->start_ns;
  memcpy(st->per_table, batch.total_per_table, sizeof st->per_table);
  st->bytes = batch.total_bytes;
  return CLI_EXIT_OK;
}

int cmd_simulate(int argc, char **argv) {
  simulate_options o;
  int rc = parse_options(argc, argv, &o);
  if (rc != CLI_EXIT_OK) return rc < 0 ? CLI_EXIT_OK : rc;
  qx_db *db;
  if (cli_open_db("simulate", o.data, NULL, &db) != CLI_EXIT_OK) return CLI_EXIT_FAILURE;
  /* Each order and trade consumes at least one LSN, so ids above the last LSN are new. */
  o.sim.first_id = qx_db_last_lsn(db) + 1;
  sim *s;
  if ((rc = qx_sim_create(&o.sim, &s)) != QX_OK) {
    qx_db_close(db);
    return cli_fail("simulate", "setting up", rc);
  }
  fprintf(stderr,
          "simulate: %" PRIu64 " events, seed %" PRIu64 ", %d instruments, %u accounts, "
          "durability %s, WAL in %s/wal (from LSN %" PRIu64 ")\n",
          o.events, o.sim.seed, o.sim.instruments, o.sim.accounts,
          o.durability == QX_DURABILITY_GROUP ? "group" : "none", o.data, qx_db_last_lsn(db) + 1);
  static run_stats st;
  qx_histogram_reset(&st.append_latency);
  st.start_ns = qx_monotonic_ns();
  int result = run(&o, s, db, &st);
  if (result == CLI_EXIT_OK) print_summary(&st, db, o.durability);
  rc = qx_db_close(db);
  qx_sim_destroy(s);
  if (rc != QX_OK && result == CLI_EXIT_OK)
    result = cli_fail("simulate", "closing the database", rc);
  return result;
}
