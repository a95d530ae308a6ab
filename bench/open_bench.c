/* qaxdb-bench-open: how long qx_db_open takes against the size of the data folder, after a
 * clean close and after a SIGKILL of the writing process (issue #14: < 1 s and < 10 s for
 * 10 GB). Grows a folder's data (table and Parquet files) to each size, closes it and times an
 * open; then a child process reopens it, writes more than a MemTable holds and is killed
 * mid-write, and the open that recovers is timed. Two workloads: `kv` writes 1000-byte values
 * under ascending keys (fast to fill; no Parquet), `venue` the seeded exchange of `qaxdb
 * simulate` (every table, Parquet files and their merges, overwritten positions). The "peer" is the
 * goal, so ratio > 1 means under it. Open times are with the folder in the page cache (a fresh boot
 * reads the table files' indexes and blooms from disk as well). */
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_report.h"
#include "qaxdb/db.h"
#include "sim/batch.h"
#include "sim/sim.h"

#define VALUE_SIZE 1000

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t walked_bytes;
static int add_size(const char *path, const struct stat *st, int flag, struct FTW *f) {
  (void)path;
  (void)f;
  if (flag == FTW_F) walked_bytes += (uint64_t)st->st_blocks * 512;
  return 0;
}

/* Bytes the folder takes on disk (du). */
static uint64_t folder_bytes(const char *dir) {
  walked_bytes = 0;
  nftw(dir, add_size, 16, FTW_PHYS);
  return walked_bytes;
}

static void die(const char *what, int rc) {
  fprintf(stderr, "qaxdb-bench-open: %s: %s: %s\n", what, qx_strerror(rc), qx_last_error());
  exit(1);
}

/* What writes into the folder: the kv keys' next number, or the simulated venue. */
typedef struct workload {
  int venue;
  uint64_t next;
  sim *sim;
  sim_batch *batch;
} workload;

/* Writes n records from w->next on; keys ascend, so compactions mostly move files down. */
static void put_kv(qx_db *db, workload *w, uint64_t n) {
  uint64_t value[VALUE_SIZE / 8];
  for (uint64_t end = w->next + n; w->next < end; w->next++) {
    char key[24];
    int len = snprintf(key, sizeof key, "open%016" PRIu64, w->next);
    for (size_t i = 0; i < VALUE_SIZE / 8; i++)
      value[i] = w->next * 0x9E3779B97F4A7C15ull + i;
    int rc = qx_db_put(db, key, (size_t)len, value, sizeof value, QX_DURABILITY_NONE, NULL);
    if (rc != QX_OK) die("put", rc);
  }
}

/* Writes n / 4 simulated events (about n records), each one batch, as qaxdb simulate does. */
static void put_venue(qx_db *db, workload *w, uint64_t n) {
  for (uint64_t i = 0; i < n / 4; i++) {
    w->batch->count = 0;
    qx_sim_next(w->sim, qx_sim_batch_collect, w->batch);
    int rc = qx_db_write_records(db, w->batch->records, w->batch->count, QX_DURABILITY_NONE, NULL);
    if (rc != QX_OK) die("write records", rc);
  }
}

static void put_some(qx_db *db, workload *w, uint64_t n) {
  if (w->venue)
    put_venue(db, w, n);
  else
    put_kv(db, w, n);
}

/* Opens dir to write; a venue continues its ids above the folder's last LSN, as qaxdbd does. */
static qx_db *open_to_write(const char *dir, workload *w) {
  qx_db *db;
  int rc = qx_db_open(dir, NULL, &db, NULL);
  if (rc != QX_OK) die("open to write", rc);
  if (!w->venue) return db;
  sim_config config;
  qx_sim_config_init(&config);
  config.first_id = qx_db_last_lsn(db) + 1;
  if (!w->batch && !(w->batch = malloc(sizeof *w->batch))) die("batch", QX_ERR_NOMEM);
  if ((rc = qx_sim_create(&config, &w->sim)) != QX_OK) die("simulator", rc);
  w->batch->count = 0;
  qx_sim_reference_data(w->sim, qx_sim_batch_collect, w->batch);
  rc = qx_db_write_records(db, w->batch->records, w->batch->count, QX_DURABILITY_NONE, NULL);
  if (rc != QX_OK) die("reference data", rc);
  return db;
}

static void close_written(qx_db *db, workload *w) {
  int rc = qx_db_close(db);
  if (rc != QX_OK) die("close after writing", rc);
  if (w->sim) qx_sim_destroy(w->sim);
  w->sim = NULL;
}

/* The data: table files and Parquet files (the WAL is a bounded tail, preallocated). */
static uint64_t data_bytes(const char *dir) {
  char sub[PATH_MAX + 8];
  snprintf(sub, sizeof sub, "%s/sst", dir);
  uint64_t n = folder_bytes(sub);
  snprintf(sub, sizeof sub, "%s/olap", dir);
  return n + folder_bytes(sub);
}

/* Grows the data to at least target bytes. */
static void fill(const char *dir, uint64_t target, workload *w) {
  qx_db *db = open_to_write(dir, w);
  while (data_bytes(dir) < target)
    put_some(db, w, 65536);
  close_written(db, w);
}

/* One timed open: how long, what it replayed, and what the WAL held then (the open scans
 * every segment kept) and how far the Parquet converter was behind (what keeps them). */
typedef struct open_figures {
  double seconds;
  uint64_t replayed, wal_bytes, parquet_lag;
} open_figures;

static open_figures timed_open(const char *dir) {
  char wal_dir[PATH_MAX + 8];
  snprintf(wal_dir, sizeof wal_dir, "%s/wal", dir);
  open_figures f = {.wal_bytes = folder_bytes(wal_dir)};
  qx_db *db;
  qx_db_recovery rec;
  double t0 = now_s();
  int rc = qx_db_open(dir, NULL, &db, &rec);
  f.seconds = now_s() - t0;
  if (rc != QX_OK) die("open", rc);
  f.replayed = rec.replayed;
  f.parquet_lag = qx_db_last_lsn(db) - rec.olap_lsn;
  if ((rc = qx_db_close(db)) != QX_OK) die("close", rc);
  return f;
}

/* Lets the Parquet converter catch up (a writer flat out outruns it), then closes. */
static void catch_up(const char *dir) {
  qx_db *db;
  int rc = qx_db_open(dir, NULL, &db, NULL);
  if (rc == QX_OK) rc = qx_db_olap_flush(db);
  if (rc != QX_OK) die("Parquet catch-up", rc);
  if ((rc = qx_db_close(db)) != QX_OK) die("close after the catch-up", rc);
}

static void report(const char *kind, double gib, const char *when, const open_figures *f,
                   double goal) {
  printf("  %-26s %7.3f s  replayed %8" PRIu64 "  WAL %6.2f GiB  Parquet %9" PRIu64
         " LSNs behind\n",
         when, f->seconds, f->replayed, (double)f->wal_bytes / (1ull << 30), f->parquet_lag);
  char name[80];
  snprintf(name, sizeof name, "open_%s_%s_%.4gGiB", when, kind, gib);
  bench_print_metric(stdout, "open", name, "open_s", f->seconds, "goal", goal, goal / f->seconds);
  snprintf(name, sizeof name, "wal_%s_%s_%.4gGiB", when, kind, gib);
  bench_print_metric(stdout, "open", name, "wal_bytes", (double)f->wal_bytes, "none", 0, 0);
}

/* A child reopens the folder, writes 1.5 MemTables' worth of keys and values (so the WAL
 * tail to replay is at least one full MemTable) and tells the parent, then keeps writing until
 * SIGKILLed. */
static void write_and_kill(const char *dir, workload *w) {
  int ready[2];
  if (pipe(ready) != 0) die("pipe", QX_ERR_IO);
  pid_t pid = fork();
  if (pid == 0) {
    close(ready[0]);
    qx_db *db = open_to_write(dir, w);
    qx_db_stats st;
    qx_db_stats_get(db, &st);
    uint64_t until = st.user_bytes_written + (192u << 20);
    while (qx_db_stats_get(db, &st) == QX_OK && st.user_bytes_written < until)
      put_some(db, w, 4096);
    if (write(ready[1], "r", 1) != 1) _exit(1);
    for (;;)
      put_some(db, w, 1024);
  }
  close(ready[1]);
  char c;
  if (read(ready[0], &c, 1) != 1) die("the writing child ended early", QX_ERR_IO);
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  close(ready[0]);
}

static void run_size(const char *dir, double gib, workload *w) {
  uint64_t target = (uint64_t)(gib * (double)(1ull << 30));
  double t0 = now_s();
  fill(dir, target, w);
  double fill_s = now_s() - t0;
  const char *kind = w->venue ? "venue" : "kv";
  printf("%s: %.2f GiB of data (table and Parquet files; filled in %.0f s)\n", kind,
         (double)data_bytes(dir) / (1ull << 30), fill_s);
  open_figures clean = timed_open(dir);
  report(kind, gib, "clean", &clean, 1.0);
  t0 = now_s();
  catch_up(dir);
  printf("  (the converter caught up in %.0f s)\n", now_s() - t0);
  open_figures caught_up = timed_open(dir);
  report(kind, gib, "clean_caught_up", &caught_up, 1.0);
  write_and_kill(dir, w);
  w->next += 1ull << 40; /* the child's kv keys are unknown: continue far above them */
  open_figures crash = timed_open(dir);
  report(kind, gib, "sigkill", &crash, 10.0);
  fflush(stdout);
}

int main(int argc, char **argv) {
  double sizes[8] = {1, 4, 10};
  size_t count = 3;
  workload w = {0};
  const char *keep = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--workload") == 0 && i + 1 < argc) {
      w.venue = strcmp(argv[++i], "venue") == 0;
    } else if (strcmp(argv[i], "--keep") == 0 && i + 1 < argc) {
      keep = argv[++i];
    } else if (strcmp(argv[i], "--quick") == 0) {
      sizes[0] = 0.25, sizes[1] = 0.5, count = 2;
    } else if (strcmp(argv[i], "--sizes") == 0 && i + 1 < argc) {
      count = 0;
      for (char *s = strtok(argv[++i], ","); s && count < 8; s = strtok(NULL, ","))
        sizes[count++] = atof(s);
    } else {
      fprintf(stderr,
              "usage: qaxdb-bench-open [--quick] [--sizes GIB,GIB,...] [--workload kv|venue]\n"
              "                        [--keep DIR]\n"
              "Grows one folder's data through each size (GiB, ascending; default 1,4,10) "
              "and times qx_db_open after a clean close and after a SIGKILL at each.\n"
              "--keep DIR grows (and keeps) the folder DIR instead of a temporary one.\n");
      return 2;
    }
  }
  char buf[PATH_MAX];
  const char *dir = keep ? keep : bench_make_tmpdir(buf, "open");
  for (size_t i = 0; i < count; i++)
    run_size(dir, sizes[i], &w);
  if (!keep) bench_remove_tree(dir);
  free(w.batch);
  return 0;
}
