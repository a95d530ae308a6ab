/* Readers racing a writer (run under ThreadSanitizer by the test command): the writer updates
 * pairs of keys in one batch with the same value while a tiny MemTable forces flushes and
 * compactions; readers check, by get at a snapshot and by scans, that the two keys of a pair
 * always agree (a batch is seen whole or not at all) and that scans are strictly ordered.
 * Then several writers at once fill the MemTable while the flush thread lags: writers that
 * waited together for a free MemTable slot must switch only once, so no flush is of a
 * MemTable that was not full. */
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "qaxdb/db.h"

#define PAIRS 200
#define WRITES 6000
#define READERS 2

typedef struct shared {
  qx_db *db;
  atomic_int done;
  atomic_long reads;
} shared;

static size_t key_of(int pair, int side, char *out) {
  return (size_t)sprintf(out, "pair%04d/%c", pair, side ? 'b' : 'a');
}

static void *writer(void *arg) {
  shared *sh = arg;
  qx_write_batch *b;
  CHECK_OK(qx_write_batch_create(&b));
  for (uint64_t i = 1; i <= WRITES; i++) {
    int pair = (int)(i * 7919 % PAIRS);
    char key[16];
    uint64_t value[4] = {i, i * 3, i * 5, (uint64_t)pair};
    qx_write_batch_clear(b);
    for (int side = 0; side < 2; side++)
      CHECK_OK(qx_write_batch_put(b, key, key_of(pair, side, key), value, sizeof value));
    CHECK_OK(qx_db_write(sh->db, b, QX_DURABILITY_NONE, NULL));
  }
  qx_write_batch_destroy(b);
  atomic_store(&sh->done, 1);
  return NULL;
}

static int read_value(qx_db *db, const qx_snapshot *snap, int pair, int side, uint64_t *v) {
  char key[16];
  qx_db_value val;
  int rc = qx_db_get(db, snap, key, key_of(pair, side, key), &val);
  if (rc == QX_ERR_NOT_FOUND) {
    *v = 0;
    return QX_OK;
  }
  if (rc != QX_OK) return rc;
  CHECK_EQ_U64(val.size, 32);
  memcpy(v, val.data, 8);
  qx_db_value_release(&val);
  return QX_OK;
}

static void check_pairs_at_snapshot(shared *sh) {
  qx_snapshot *snap = qx_db_snapshot_create(sh->db);
  for (int pair = 0; pair < PAIRS; pair += 7) {
    uint64_t a = 0, b = 0;
    CHECK_OK(read_value(sh->db, snap, pair, 0, &a));
    CHECK_OK(read_value(sh->db, snap, pair, 1, &b));
    CHECK_EQ_U64(a, b);
  }
  qx_db_snapshot_release(sh->db, snap);
}

static void check_scan(shared *sh) {
  qx_db_iter *it;
  CHECK_OK(qx_db_iter_create_prefix(sh->db, NULL, "pair", 4, &it));
  char prev[32] = "";
  uint64_t a_value = 0;
  for (; qx_db_iter_valid(it); qx_db_iter_next(it)) {
    size_t klen, vlen;
    const char *key = qx_db_iter_key(it, &klen);
    const uint64_t *value = qx_db_iter_value(it, &vlen);
    CHECK(klen < sizeof prev);
    if (klen >= sizeof prev) break;
    CHECK(strncmp(prev, key, klen) < 0);
    memcpy(prev, key, klen);
    prev[klen] = 0;
    if (key[klen - 1] == 'a')
      a_value = value[0];
    else
      CHECK_EQ_U64(value[0], a_value); /* the scan sees one version of the database */
  }
  CHECK_OK(qx_db_iter_status(it));
  qx_db_iter_destroy(it);
}

static void *reader(void *arg) {
  shared *sh = arg;
  do { /* at least one round, however soon the writer finishes */
    check_pairs_at_snapshot(sh);
    check_scan(sh);
    atomic_fetch_add(&sh->reads, 1);
  } while (!atomic_load(&sh->done) && check_failures == 0);
  return NULL;
}

#define WRITERS 4
#define WRITER_PUTS 4000

static void *plain_writer(void *arg) {
  qx_db *db = arg;
  uint8_t value[200];
  memset(value, 'w', sizeof value);
  for (int i = 0; i < WRITER_PUTS; i++) {
    char key[32];
    int n = snprintf(key, sizeof key, "w%p-%06d", (void *)&key, i);
    CHECK_OK(qx_db_put(db, key, (size_t)n, value, sizeof value, QX_DURABILITY_NONE, NULL));
  }
  return NULL;
}

/* The table files under dir/sst smaller than bytes. */
static int small_table_files(const char *dir, long bytes) {
  char sst[PATH_MAX + 8];
  snprintf(sst, sizeof sst, "%s/sst", dir);
  DIR *d = opendir(sst);
  CHECK(d != NULL);
  int small = 0;
  struct dirent *de;
  while (d && (de = readdir(d)) != NULL) {
    char path[PATH_MAX + 300];
    snprintf(path, sizeof path, "%s/%s", sst, de->d_name);
    if (strstr(de->d_name, ".sst") && test_file_size(path) < bytes) small++;
  }
  if (d) closedir(d);
  return small;
}

/* Every flush must carry a full MemTable: writers that waited together for a free slot
 * switch once, not once each (the later ones would flush a MemTable of a few entries). */
static void test_writers_switch_once(void) {
  char dir[PATH_MAX];
  test_tmpdir(dir, "db_switch");
  qx_db_options o;
  qx_db_options_init(&o);
  o.memtable_size = 64 << 10;
  o.l0_compaction_trigger = 64; /* flushes only: every table file is one MemTable */
  o.l0_slowdown_trigger = 64;
  o.l0_stop_trigger = 64;
  o.olap = 0;
  qx_db *db;
  CHECK_OK(qx_db_open(dir, &o, &db, NULL));
  pthread_t w[WRITERS];
  for (int i = 0; i < WRITERS; i++)
    pthread_create(&w[i], NULL, plain_writer, db);
  for (int i = 0; i < WRITERS; i++)
    pthread_join(w[i], NULL);
  qx_db_stats st;
  CHECK_OK(qx_db_stats_get(db, &st));
  printf("%d writers: %llu flushes\n", WRITERS, (unsigned long long)st.flushes);
  CHECK(st.flushes > 4);
  /* One write in 64 of each thread is timed, and every sample is in a bucket or past them. */
  CHECK_EQ_U64(st.write_latency_count, WRITERS * (WRITER_PUTS / QX_DB_LATENCY_SAMPLE));
  CHECK(st.write_latency[QX_DB_LATENCY_BUCKETS - 1] <= st.write_latency_count);
  for (int i = 1; i < QX_DB_LATENCY_BUCKETS; i++)
    CHECK(st.write_latency[i] >= st.write_latency[i - 1]);
  CHECK(st.write_latency_sum_ns > 0);
  CHECK_OK(qx_db_close(db)); /* no flush half written while the files are listed */
  /* A full 64 KiB MemTable of 200-byte values makes a file of well over 32 KiB. */
  CHECK_EQ_U64(small_table_files(dir, 32 << 10), 0);
  test_rmtree(dir);
}

int main(void) {
  test_writers_switch_once();
  char dir[PATH_MAX];
  test_tmpdir(dir, "db_concurrent");
  qx_db_options o;
  qx_db_options_init(&o);
  o.memtable_size = 64 << 10;
  o.l1_size = 128 << 10;
  o.sst_file_size = 32 << 10;
  o.olap = 0; /* runs under ThreadSanitizer, which cannot follow DuckDB's threads */
  shared sh = {0};
  CHECK_OK(qx_db_open(dir, &o, &sh.db, NULL));
  pthread_t w, r[READERS];
  pthread_create(&w, NULL, writer, &sh);
  for (int i = 0; i < READERS; i++)
    pthread_create(&r[i], NULL, reader, &sh);
  pthread_join(w, NULL);
  for (int i = 0; i < READERS; i++)
    pthread_join(r[i], NULL);
  qx_db_stats st;
  CHECK_OK(qx_db_stats_get(sh.db, &st));
  printf("%ld reader rounds, %llu flushes, %llu compactions during the writes\n",
         atomic_load(&sh.reads), (unsigned long long)st.flushes,
         (unsigned long long)st.compactions);
  CHECK(st.flushes > 0);
  CHECK(atomic_load(&sh.reads) > 0);
  CHECK_OK(qx_db_close(sh.db));
  test_rmtree(dir);
  return test_finish("test_db_concurrent");
}
