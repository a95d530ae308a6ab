/* qaxdb-bench-lsm: db_bench-style workloads on qaxdb's engine, RocksDB and LevelDB in the same
 * run, with the same 16-byte keys and 128-byte values, writes with the WAL on and no sync:
 *   fillseq, fillrandom      N keys in order / in random order into a fresh database
 *   overwrite                N/2 random keys written again
 *   readrandom               random gets of present keys; readrandom_miss: absent keys
 *   readseq                  one iterator over all keys
 *   seekrandom               seek to a random key and read 10 entries
 *   mixed_90r10w             90% random gets, 10% random overwrites
 *   memtable_put/get         a data set that fits in the MemTable; sst_get: the same after a
 *                            flush, with the file cached
 *   skiplist_insert/get      qaxdb's MemTable alone, without WAL or read view (no peer)
 * After the writes it prints, for qaxdb, write amplification, space amplification after a full
 * compaction, the share of the process's CPU spent in flushes and compactions, and how many
 * writes stalled (waited for a MemTable slot or level 0) and for how long in all.
 * With --sustained SECONDS it runs only sustained_fill instead: random inserts into a fresh
 * database for SECONDS per engine, long enough for level 0 to fill and be compacted many
 * times, and counts the writes that took over 10 ms (the no-stall goal of issue #13).
 * Usage: qaxdb-bench-lsm [--quick] [--keys N] [--sustained SECONDS] [--dir PATH]. Ends with
 * one JSON line per measurement (ratio > 1: qaxdb better). */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_report.h"
#include "kv_engines.h"
#include "memtable/memtable.h"
#include "qaxdb/db.h"
#include "util/clock.h"

#define KEY_LEN 16
#define VALUE_LEN 128
#define ENGINES 3
#define SMALL_KEYS 100000 /* the MemTable-only data set */

typedef struct settings {
  uint64_t keys, reads, seeks, mixed;
  int sustained_s; /* > 0: run only sustained_fill, this long per engine */
  kv_config cfg;
  const char *dir;
} settings;

static const kv_engine *const engines[ENGINES] = {&kv_qaxdb, &kv_rocksdb, &kv_leveldb};

/* Present keys are the even numbers 2i, absent ones the odd numbers, so misses fall between
 * present keys and only the bloom filters can rule them out. */
static void make_key(uint64_t n, char *out) {
  char text[KEY_LEN + 1];
  snprintf(text, sizeof text, "%016llu", (unsigned long long)n);
  memcpy(out, text, KEY_LEN);
}

/* Values half random, half repeated (about 2:1 compressible), different per version. */
static void make_value(uint64_t n, uint64_t version, char *out) {
  uint64_t x = n * 0x9E3779B97F4A7C15u + version;
  for (int i = 0; i < VALUE_LEN / 2; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = (char)x;
  }
  memset(out + VALUE_LEN / 2, 'v', VALUE_LEN / 2);
}

static uint64_t rng_next(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

typedef struct run {
  histogram latency;
  uint64_t ops;
  int64_t start;
} run;

static void run_start(run *r) {
  qx_histogram_reset(&r->latency);
  r->ops = 0;
  r->start = qx_monotonic_ns();
}

static bench_side run_end(run *r) {
  double secs = (double)(qx_monotonic_ns() - r->start) / 1e9;
  bench_side side = {.records_per_s = (double)r->ops / secs, .latency = r->latency};
  return side;
}

static void progress(const char *engine, const char *what, uint64_t done, uint64_t total) {
  if (total >= 1000000 && done % (total / 10) == 0 && done)
    fprintf(stderr, "  %s %s: %llu%%\n", engine, what, (unsigned long long)(done * 100 / total));
}

/* ---- workloads: each fills side with ops/s and per-op latency ---- */

static void timed_put(void *db, const kv_engine *e, uint64_t n, uint64_t version, run *r) {
  char key[KEY_LEN], value[VALUE_LEN];
  make_key(2 * n, key);
  make_value(n, version, value);
  int64_t t0 = qx_monotonic_ns();
  e->put(db, key, KEY_LEN, value, VALUE_LEN);
  qx_histogram_record(&r->latency, (uint64_t)(qx_monotonic_ns() - t0));
  r->ops++;
}

static int timed_get(void *db, const kv_engine *e, uint64_t key_number, run *r) {
  char key[KEY_LEN];
  make_key(key_number, key);
  int64_t t0 = qx_monotonic_ns();
  int found = e->get(db, key, KEY_LEN);
  qx_histogram_record(&r->latency, (uint64_t)(qx_monotonic_ns() - t0));
  r->ops++;
  return found;
}

static bench_side fill(void *db, const kv_engine *e, const uint32_t *order, uint64_t n,
                       const char *name) {
  run r;
  run_start(&r);
  for (uint64_t i = 0; i < n; i++) {
    timed_put(db, e, order ? order[i] : i, 1, &r);
    progress(e->name, name, i + 1, n);
  }
  return run_end(&r);
}

static bench_side overwrite(void *db, const kv_engine *e, uint64_t n, uint64_t keys) {
  run r;
  uint64_t s = 42;
  run_start(&r);
  for (uint64_t i = 0; i < n; i++) {
    timed_put(db, e, rng_next(&s) % keys, 2, &r);
    progress(e->name, "overwrite", i + 1, n);
  }
  return run_end(&r);
}

static bench_side read_random(void *db, const kv_engine *e, uint64_t n, uint64_t keys, int misses) {
  run r;
  uint64_t s = 7, found = 0;
  run_start(&r);
  for (uint64_t i = 0; i < n; i++)
    found += timed_get(db, e, 2 * (rng_next(&s) % keys) + (uint64_t)misses, &r);
  if (found != (misses ? 0 : n)) {
    fprintf(stderr, "qaxdb-bench-lsm: %s found %llu of %llu %s\n", e->name,
            (unsigned long long)found, (unsigned long long)n, misses ? "absent keys" : "keys");
    exit(1);
  }
  return run_end(&r);
}

static bench_side read_seq(void *db, const kv_engine *e, uint64_t keys) {
  run r;
  run_start(&r);
  void *it = e->iter_create(db);
  e->iter_seek(it, NULL, 0);
  for (int64_t t0 = qx_monotonic_ns(); e->iter_valid(it); t0 = qx_monotonic_ns()) {
    e->iter_next(it);
    qx_histogram_record(&r.latency, (uint64_t)(qx_monotonic_ns() - t0));
    r.ops++;
  }
  e->iter_destroy(it);
  if (r.ops != keys) {
    fprintf(stderr, "qaxdb-bench-lsm: %s scanned %llu of %llu keys\n", e->name,
            (unsigned long long)r.ops, (unsigned long long)keys);
    exit(1);
  }
  return run_end(&r);
}

static bench_side seek_random(void *db, const kv_engine *e, uint64_t n, uint64_t keys) {
  run r;
  uint64_t s = 11;
  void *it = e->iter_create(db);
  run_start(&r);
  for (uint64_t i = 0; i < n; i++) {
    char key[KEY_LEN];
    make_key(2 * (rng_next(&s) % keys), key);
    int64_t t0 = qx_monotonic_ns();
    e->iter_seek(it, key, KEY_LEN);
    for (int j = 0; j < 10 && e->iter_valid(it); j++)
      e->iter_next(it);
    qx_histogram_record(&r.latency, (uint64_t)(qx_monotonic_ns() - t0));
    r.ops++;
  }
  e->iter_destroy(it);
  return run_end(&r);
}

static bench_side mixed(void *db, const kv_engine *e, uint64_t n, uint64_t keys) {
  run r;
  uint64_t s = 13;
  run_start(&r);
  for (uint64_t i = 0; i < n; i++) {
    uint64_t k = rng_next(&s) % keys;
    if (k % 10 == 0)
      timed_put(db, e, k, 3, &r);
    else
      timed_get(db, e, 2 * k, &r);
  }
  return run_end(&r);
}

/* ---- the MemTable alone: what a write costs after the WAL, and a read before any file ---- */

typedef struct skiplist_result {
  histogram insert, get;
} skiplist_result;

static void run_skiplist(skiplist_result *out) {
  qx_memtable *mt;
  if (qx_memtable_create(256u << 20, &mt) != QX_OK) exit(1);
  qx_histogram_reset(&out->insert);
  qx_histogram_reset(&out->get);
  uint32_t *order = malloc(SMALL_KEYS * sizeof *order);
  uint64_t s = 5;
  for (uint32_t i = 0; i < SMALL_KEYS; i++)
    order[i] = (uint32_t)(rng_next(&s) % (SMALL_KEYS * 4ull));
  for (uint32_t i = 0; i < SMALL_KEYS; i++) {
    char key[KEY_LEN], value[VALUE_LEN];
    make_key(order[i], key);
    make_value(order[i], 1, value);
    int64_t t0 = qx_monotonic_ns();
    qx_memtable_add(mt, (const uint8_t *)key, KEY_LEN, i + 1, QX_KIND_PUT, value, VALUE_LEN);
    qx_histogram_record(&out->insert, (uint64_t)(qx_monotonic_ns() - t0));
  }
  for (uint32_t i = 0; i < SMALL_KEYS; i++) {
    char key[KEY_LEN];
    qx_ientry e;
    make_key(order[rng_next(&s) % SMALL_KEYS], key);
    int64_t t0 = qx_monotonic_ns();
    qx_memtable_get(mt, (const uint8_t *)key, KEY_LEN, UINT64_MAX, &e);
    qx_histogram_record(&out->get, (uint64_t)(qx_monotonic_ns() - t0));
  }
  free(order);
  qx_memtable_unref(mt);
}

static void print_skiplist(const skiplist_result *r) {
  const char *names[2] = {"skiplist_insert", "skiplist_get"};
  const histogram *h[2] = {&r->insert, &r->get};
  printf("\nMemTable alone (%d entries, no WAL, no read view):\n", SMALL_KEYS);
  for (int i = 0; i < 2; i++) {
    printf("%-16s p50 %.2f us, p99 %.2f us, p999 %.2f us, max %.2f us\n", names[i],
           qx_histogram_quantile_us(h[i], 0.5), qx_histogram_quantile_us(h[i], 0.99),
           qx_histogram_quantile_us(h[i], 0.999), qx_histogram_max_us(h[i]));
    printf("{\"bench\":\"lsm\",\"case\":\"%s\",\"metric\":\"p99_us\",\"qaxdb\":%.4g,"
           "\"peer\":null,\"peer_value\":null,\"ratio\":null}\n",
           names[i], qx_histogram_quantile_us(h[i], 0.99));
  }
}

/* ---- amplification (qaxdb) ---- */

static uint64_t dir_bytes;
static int add_table_file(const char *path, const struct stat *st, int flag, struct FTW *f) {
  (void)f;
  size_t n = strlen(path);
  if (flag == FTW_F && n > 4 &&
      (strcmp(path + n - 4, ".sst") == 0 || strcmp(path + n - 4, ".ldb") == 0))
    dir_bytes += (uint64_t)st->st_size;
  return 0;
}

static uint64_t table_bytes(const char *dir) {
  dir_bytes = 0;
  nftw(dir, add_table_file, 16, FTW_PHYS);
  return dir_bytes;
}

static double process_cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct amplification {
  double write_amp, space_amp, compaction_cpu_share;
  uint64_t stall_count, stall_ns; /* writes that waited for the background threads */
} amplification;

/* ---- one engine through every workload ---- */

enum {
  CASE_FILLSEQ,
  CASE_FILLRANDOM,
  CASE_OVERWRITE,
  CASE_READRANDOM,
  CASE_READMISS,
  CASE_READSEQ,
  CASE_SEEKRANDOM,
  CASE_MIXED,
  CASE_MEMTABLE_PUT,
  CASE_MEMTABLE_GET,
  CASE_SST_GET,
  CASES
};

static const char *const case_names[CASES] = {
    "fillseq",    "fillrandom",   "overwrite",    "readrandom",   "readrandom_miss", "readseq",
    "seekrandom", "mixed_90r10w", "memtable_put", "memtable_get", "sst_get_cached"};

static void *fresh(const kv_engine *e, const settings *s, char *dir) {
  snprintf(dir, PATH_MAX, "%s/%s", s->dir, e->name);
  bench_remove_tree(dir);
  return e->open(dir, &s->cfg);
}

static void run_small(const kv_engine *e, const settings *s, bench_side *out) {
  char dir[PATH_MAX];
  settings big = *s;
  big.cfg.memtable_bytes = 256u << 20; /* SMALL_KEYS fit in the MemTable */
  void *db = fresh(e, &big, dir);
  out[CASE_MEMTABLE_PUT] = fill(db, e, NULL, SMALL_KEYS, "memtable_put");
  out[CASE_MEMTABLE_GET] = read_random(db, e, SMALL_KEYS, SMALL_KEYS, 0);
  e->flush(db);
  read_random(db, e, SMALL_KEYS, SMALL_KEYS, 0); /* warm the page cache / block cache */
  out[CASE_SST_GET] = read_random(db, e, SMALL_KEYS, SMALL_KEYS, 0);
  e->close(db);
  bench_remove_tree(dir);
}

static uint32_t *shuffled(uint64_t n) {
  uint32_t *order = malloc(n * sizeof *order);
  uint64_t s = 99;
  for (uint64_t i = 0; i < n; i++)
    order[i] = (uint32_t)i;
  for (uint64_t i = n - 1; i > 0; i--) {
    uint64_t j = rng_next(&s) % (i + 1);
    uint32_t t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}

static void run_engine(const kv_engine *e, const settings *s, const uint32_t *order,
                       bench_side *out, amplification *amp) {
  char dir[PATH_MAX];
  fprintf(stderr, "%s: %llu keys\n", e->name, (unsigned long long)s->keys);
  void *db = fresh(e, s, dir);
  out[CASE_FILLSEQ] = fill(db, e, NULL, s->keys, "fillseq");
  e->close(db);
  db = fresh(e, s, dir);
  double cpu0 = process_cpu_s();
  out[CASE_FILLRANDOM] = fill(db, e, order, s->keys, "fillrandom");
  out[CASE_OVERWRITE] = overwrite(db, e, s->keys / 2, s->keys);
  double write_cpu = process_cpu_s() - cpu0;
  if (e == &kv_qaxdb) {
    qx_db_stats st;
    qx_db_stats_get(db, &st);
    amp->write_amp = st.write_amplification;
    amp->compaction_cpu_share = (double)st.compaction_cpu_ns / 1e9 / write_cpu;
    amp->stall_count = st.stall_count;
    amp->stall_ns = st.stall_ns;
  }
  out[CASE_READRANDOM] = read_random(db, e, s->reads, s->keys, 0);
  out[CASE_READMISS] = read_random(db, e, s->reads, s->keys, 1);
  out[CASE_READSEQ] = read_seq(db, e, s->keys);
  out[CASE_SEEKRANDOM] = seek_random(db, e, s->seeks, s->keys);
  out[CASE_MIXED] = mixed(db, e, s->mixed, s->keys);
  e->compact(db);
  e->close(db); /* files a compaction retired go when their last reader does: by the close */
  amp->space_amp = (double)table_bytes(dir) / (double)(s->keys * (KEY_LEN + VALUE_LEN));
  bench_remove_tree(dir);
  run_small(e, s, out);
}

/* ---- sustained random inserts: the write path's tail while compaction keeps up ---------- */

#define SLOW_WRITE_NS 10000000 /* a write slower than this counts as stalled */

typedef struct sustained_result {
  bench_side side;
  uint64_t slow_writes;
} sustained_result;

static sustained_result sustained_fill(const kv_engine *e, const settings *s) {
  char dir[PATH_MAX];
  void *db = fresh(e, s, dir);
  fprintf(stderr, "%s: sustained_fill for %d s\n", e->name, s->sustained_s);
  run r;
  uint64_t rng = 77, slow = 0;
  run_start(&r);
  int64_t end = r.start + (int64_t)s->sustained_s * 1000000000;
  for (uint64_t i = 0;; i++) {
    int64_t t0 = qx_monotonic_ns();
    timed_put(db, e, rng_next(&rng) & 0x7fffffff, 1, &r);
    int64_t t1 = qx_monotonic_ns();
    slow += t1 - t0 > SLOW_WRITE_NS;
    if ((i & 1023) == 0 && t1 >= end) break;
  }
  sustained_result out = {run_end(&r), slow};
  e->close(db);
  bench_remove_tree(dir);
  return out;
}

static void run_sustained(const settings *s) {
  sustained_result res[ENGINES];
  for (int e = 0; e < ENGINES; e++)
    res[e] = sustained_fill(engines[e], s);
  for (int p = 1; p < ENGINES; p++) {
    bench_case c = {"sustained_fill", res[0].side, res[p].side};
    bench_print(stdout, "lsm", engines[p]->name, "ops", &c, 1);
  }
  for (int e = 0; e < ENGINES; e++)
    printf("%s: %llu of %llu writes took over 10 ms\n", engines[e]->name,
           (unsigned long long)res[e].slow_writes, (unsigned long long)res[e].side.latency.total);
  for (int p = 1; p < ENGINES; p++)
    bench_print_metric(stdout, "lsm", "sustained_fill", "writes_over_10ms",
                       (double)res[0].slow_writes, engines[p]->name, (double)res[p].slow_writes,
                       res[0].slow_writes ? (double)res[p].slow_writes / (double)res[0].slow_writes
                                          : 0);
}

/* ---- output ---- */

static void print_amplification(const amplification *amp) {
  printf("\nqaxdb write amplification %.2f, space amplification after compaction %.3f "
         "(rocksdb %.3f, leveldb %.3f), flush+compaction CPU %.1f%% of the write phase\n",
         amp[0].write_amp, amp[0].space_amp, amp[1].space_amp, amp[2].space_amp,
         100 * amp[0].compaction_cpu_share);
  printf("qaxdb write stalls in the write phase: %llu, %.1f ms in all\n",
         (unsigned long long)amp[0].stall_count, (double)amp[0].stall_ns / 1e6);
  printf("{\"bench\":\"lsm\",\"case\":\"fillrandom_overwrite\",\"metric\":\"stall_count\","
         "\"qaxdb\":%llu,\"peer\":null,\"peer_value\":null,\"ratio\":null}\n",
         (unsigned long long)amp[0].stall_count);
  printf("{\"bench\":\"lsm\",\"case\":\"fillrandom_overwrite\",\"metric\":\"stall_ms\","
         "\"qaxdb\":%.4g,\"peer\":null,\"peer_value\":null,\"ratio\":null}\n",
         (double)amp[0].stall_ns / 1e6);
  printf("{\"bench\":\"lsm\",\"case\":\"fillrandom_overwrite\",\"metric\":\"write_amplification\","
         "\"qaxdb\":%.4g,\"peer\":null,\"peer_value\":null,\"ratio\":null}\n",
         amp[0].write_amp);
  for (int p = 1; p < ENGINES; p++)
    printf("{\"bench\":\"lsm\",\"case\":\"after_compact\",\"metric\":\"space_amplification\","
           "\"qaxdb\":%.4g,\"peer\":\"%s\",\"peer_value\":%.4g,\"ratio\":%.3f}\n",
           amp[0].space_amp, engines[p]->name, amp[p].space_amp,
           amp[p].space_amp / amp[0].space_amp);
  printf("{\"bench\":\"lsm\",\"case\":\"fillrandom_overwrite\",\"metric\":\"compaction_cpu_share\","
         "\"qaxdb\":%.4g,\"peer\":null,\"peer_value\":null,\"ratio\":null}\n",
         amp[0].compaction_cpu_share);
}

static int parse_args(int argc, char **argv, settings *s) {
  *s = (settings){.keys = 10000000,
                  .reads = 1000000,
                  .seeks = 200000,
                  .mixed = 1000000,
                  .cfg = {64u << 20, 256u << 20, 10}};
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) {
      *s = (settings){.keys = 200000,
                      .reads = 100000,
                      .seeks = 20000,
                      .mixed = 100000,
                      .cfg = {4u << 20, 64u << 20, 10},
                      .dir = s->dir};
    } else if (strcmp(argv[i], "--keys") == 0 && i + 1 < argc) {
      s->keys = strtoull(argv[++i], NULL, 10);
    } else if (strcmp(argv[i], "--sustained") == 0 && i + 1 < argc) {
      s->sustained_s = atoi(argv[++i]);
      if (s->sustained_s <= 0) return 0;
    } else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
      s->dir = argv[++i];
    } else {
      fprintf(stderr,
              "usage: qaxdb-bench-lsm [--quick] [--keys N] [--sustained SECONDS] [--dir PATH]\n");
      return 0;
    }
  }
  return s->keys >= 1000 && s->keys < (1ull << 31);
}

int main(int argc, char **argv) {
  settings s;
  if (!parse_args(argc, argv, &s)) return 2;
  char tmp[PATH_MAX];
  if (!s.dir) s.dir = bench_make_tmpdir(tmp, "lsm");
  if (s.sustained_s > 0) {
    run_sustained(&s);
    if (s.dir == tmp) bench_remove_tree(tmp);
    return 0;
  }
  uint32_t *order = shuffled(s.keys);
  static bench_side sides[ENGINES][CASES];
  amplification amp[ENGINES] = {{0}};
  for (int e = 0; e < ENGINES; e++)
    run_engine(engines[e], &s, order, sides[e], &amp[e]);
  free(order);
  static bench_case cases[CASES];
  for (int p = 1; p < ENGINES; p++) {
    for (int c = 0; c < CASES; c++)
      cases[c] = (bench_case){case_names[c], sides[0][c], sides[p][c]};
    bench_print(stdout, "lsm", engines[p]->name, "ops", cases, CASES);
  }
  print_amplification(amp);
  static skiplist_result skiplist;
  run_skiplist(&skiplist);
  print_skiplist(&skiplist);
  if (s.dir == tmp) bench_remove_tree(tmp);
  return 0;
}
