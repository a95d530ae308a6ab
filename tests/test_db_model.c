/* Randomized model test of the engine: a seeded sequence of puts, deletes, batches, gets,
 * range and prefix scans, snapshots, flushes, compactions and reopens, each read checked
 * against a simple in-memory model that keeps every version of every key.
 * Usage: test_db_model [OPS [SEED [none|lz4|zstd [tracked]]]] (the default suite runs short
 * sequences, uncompressed and with Zstd table files, and once with every file call going through
 * the fault layer's power-loss tracking, which must change nothing the engine sees). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "qaxdb/db.h"
#include "util/io_fault.h"

#define KEYS 1500
#define MAX_VERSIONS 4096
#define MAX_SNAPSHOTS 4
#define MAX_VALUE 300

typedef struct version {
  uint64_t lsn;
  int deleted;
} version;

typedef struct model {
  version *versions[KEYS];
  size_t count[KEYS], cap[KEYS];
} model;

static uint64_t rng_state;
static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

static size_t key_of(int k, char *out) {
  return (size_t)sprintf(out, "key%05d", k);
}

/* The value written at lsn for key k: its length and bytes follow from (k, lsn) alone. */
static size_t value_of(int k, uint64_t lsn, uint8_t *out) {
  size_t len = (size_t)((lsn * 7 + (uint64_t)k) % MAX_VALUE);
  uint64_t x = lsn * 1000003u + (uint64_t)k;
  for (size_t i = 0; i < len; i++)
    out[i] = (uint8_t)(x >> ((i % 8) * 8)) ^ (uint8_t)i;
  return len;
}

static void model_add(model *m, int k, uint64_t lsn, int deleted) {
  if (m->count[k] == m->cap[k]) {
    m->cap[k] = m->cap[k] ? m->cap[k] * 2 : 4;
    m->versions[k] = realloc(m->versions[k], m->cap[k] * sizeof(version));
  }
  m->versions[k][m->count[k]++] = (version){lsn, deleted};
}

/* The version of k visible at lsn, or NULL. */
static const version *model_get(const model *m, int k, uint64_t lsn) {
  for (size_t i = m->count[k]; i-- > 0;)
    if (m->versions[k][i].lsn <= lsn) return m->versions[k][i].deleted ? NULL : &m->versions[k][i];
  return NULL;
}

typedef struct harness {
  char dir[PATH_MAX];
  qx_db_options opt;
  qx_db *db;
  model m;
  qx_snapshot *snaps[MAX_SNAPSHOTS];
  int snap_count;
} harness;

static void check_get(harness *h, int k, const qx_snapshot *snap) {
  char key[16];
  size_t klen = key_of(k, key);
  uint64_t lsn = snap ? qx_snapshot_lsn(snap) : qx_db_last_lsn(h->db);
  const version *want = model_get(&h->m, k, lsn);
  qx_db_value v;
  int rc = qx_db_get(h->db, snap, key, klen, &v);
  if (!want) {
    CHECK_RC(rc, QX_ERR_NOT_FOUND);
    if (rc == QX_OK) qx_db_value_release(&v);
    return;
  }
  CHECK_OK(rc);
  if (rc != QX_OK) return;
  uint8_t expect[MAX_VALUE];
  size_t elen = value_of(k, want->lsn, expect);
  CHECK_EQ_U64(v.lsn, want->lsn);
  CHECK_EQ_U64(v.size, elen);
  CHECK(v.size == elen && memcmp(v.data, expect, elen) == 0);
  CHECK(((uintptr_t)v.data & 7) == 0);
  qx_db_value_release(&v);
}

/* Scans up to limit keys from key `from` (and up to `to` if to >= 0) against the model. */
static void check_scan(harness *h, int from, int to, int limit, const qx_snapshot *snap) {
  char fkey[16], tkey[16];
  size_t flen = key_of(from, fkey), tlen = to >= 0 ? key_of(to, tkey) : 0;
  uint64_t lsn = snap ? qx_snapshot_lsn(snap) : qx_db_last_lsn(h->db);
  qx_db_iter *it;
  CHECK_OK(qx_db_iter_create(h->db, snap, fkey, flen, to >= 0 ? tkey : NULL, tlen, &it));
  int k = from, seen = 0;
  int end = to >= 0 && to < KEYS ? to : KEYS;
  for (; k < end && seen < limit; k++) {
    const version *want = model_get(&h->m, k, lsn);
    if (!want) continue;
    if (!qx_db_iter_valid(it)) {
      fprintf(stderr, "scan ended early: key%05d missing (lsn %llu)\n", k, (unsigned long long)lsn);
      CHECK(0);
      break;
    }
    char key[16];
    size_t klen = key_of(k, key), got_len, vlen;
    const void *got = qx_db_iter_key(it, &got_len);
    CHECK(got_len == klen && memcmp(got, key, klen) == 0);
    CHECK_EQ_U64(qx_db_iter_lsn(it), want->lsn);
    uint8_t expect[MAX_VALUE];
    size_t elen = value_of(k, want->lsn, expect);
    const void *val = qx_db_iter_value(it, &vlen);
    CHECK(vlen == elen && memcmp(val, expect, elen) == 0);
    seen++;
    qx_db_iter_next(it);
  }
  if (seen < limit && k >= end) CHECK(!qx_db_iter_valid(it));
  CHECK_OK(qx_db_iter_status(it));
  qx_db_iter_destroy(it);
}

static void do_put(harness *h, int k) {
  char key[16];
  uint8_t value[MAX_VALUE];
  uint64_t next = qx_db_last_lsn(h->db) + 1, lsn = 0;
  size_t klen = key_of(k, key), vlen = value_of(k, next, value);
  CHECK_OK(qx_db_put(h->db, key, klen, value, vlen, QX_DURABILITY_NONE, &lsn));
  CHECK_EQ_U64(lsn, next);
  model_add(&h->m, k, lsn, 0);
}

static void do_delete(harness *h, int k) {
  char key[16];
  uint64_t lsn = 0;
  CHECK_OK(qx_db_delete(h->db, key, key_of(k, key), QX_DURABILITY_NONE, &lsn));
  model_add(&h->m, k, lsn, 1);
}

static void do_batch(harness *h) {
  qx_write_batch *b;
  CHECK_OK(qx_write_batch_create(&b));
  uint64_t first = qx_db_last_lsn(h->db) + 1;
  int n = 1 + (int)(rnd() % 20), keys[20], dels[20];
  for (int i = 0; i < n; i++) {
    char key[16];
    uint8_t value[MAX_VALUE];
    keys[i] = (int)(rnd() % KEYS);
    dels[i] = rnd() % 5 == 0;
    size_t klen = key_of(keys[i], key);
    if (dels[i])
      CHECK_OK(qx_write_batch_delete(b, key, klen));
    else
      CHECK_OK(
          qx_write_batch_put(b, key, klen, value, value_of(keys[i], first + (uint64_t)i, value)));
  }
  uint64_t last = 0;
  CHECK_OK(qx_db_write(h->db, b, QX_DURABILITY_NONE, &last));
  CHECK_EQ_U64(last, first + (uint64_t)n - 1);
  for (int i = 0; i < n; i++)
    model_add(&h->m, keys[i], first + (uint64_t)i, dels[i]);
  qx_write_batch_destroy(b);
}

static void release_snapshots(harness *h) {
  while (h->snap_count)
    qx_db_snapshot_release(h->db, h->snaps[--h->snap_count]);
}

/* Closes and opens again; the folder's totals survive a clean close exactly. */
static void reopen(harness *h) {
  release_snapshots(h);
  qx_db_stats before, after;
  CHECK_OK(qx_db_stats_get(h->db, &before));
  CHECK_OK(qx_db_close(h->db));
  qx_db_recovery rec;
  CHECK_OK(qx_db_open(h->dir, &h->opt, &h->db, &rec));
  CHECK_EQ_U64(rec.checkpoint_lsn + rec.replayed, qx_db_last_lsn(h->db));
  CHECK_OK(qx_db_stats_get(h->db, &after));
  CHECK_EQ_U64(after.user_bytes_written, before.user_bytes_written);
  CHECK(after.flushes >= before.flushes && after.compactions >= before.compactions);
  CHECK(after.compaction_bytes_written >= before.compaction_bytes_written);
}

static void snapshot_op(harness *h) {
  if (h->snap_count < MAX_SNAPSHOTS && rnd() % 2) {
    h->snaps[h->snap_count++] = qx_db_snapshot_create(h->db);
    return;
  }
  if (h->snap_count == 0) return;
  int i = (int)(rnd() % (uint64_t)h->snap_count);
  qx_db_snapshot_release(h->db, h->snaps[i]);
  h->snaps[i] = h->snaps[--h->snap_count];
}

static const qx_snapshot *any_snapshot(harness *h) {
  if (h->snap_count == 0 || rnd() % 2) return NULL;
  return h->snaps[rnd() % (uint64_t)h->snap_count];
}

static void step(harness *h) {
  uint64_t r = rnd() % 1000;
  int k = (int)(rnd() % KEYS);
  if (r < 450)
    do_put(h, k);
  else if (r < 550)
    do_delete(h, k);
  else if (r < 580)
    do_batch(h);
  else if (r < 850)
    check_get(h, k, any_snapshot(h));
  else if (r < 900)
    check_scan(h, k, rnd() % 2 ? k + (int)(rnd() % 200) : -1, 1 + (int)(rnd() % 60),
               any_snapshot(h));
  else if (r < 960)
    snapshot_op(h);
  else if (r < 980)
    CHECK_OK(qx_db_flush(h->db));
  else if (r < 990)
    CHECK_OK(qx_db_compact(h->db));
  else
    reopen(h);
}

static void final_checks(harness *h) {
  for (int k = 0; k < KEYS; k++)
    check_get(h, k, NULL);
  check_scan(h, 0, -1, KEYS, NULL);
  qx_db_stats st;
  CHECK_OK(qx_db_stats_get(h->db, &st));
  CHECK_EQ_U64(st.last_lsn, qx_db_last_lsn(h->db));
  CHECK_OK(qx_db_compact(h->db));
  check_scan(h, 0, -1, KEYS, NULL);
  CHECK_OK(qx_db_stats_get(h->db, &st));
  CHECK_EQ_U64(st.levels[0].files, 0);
}

int main(int argc, char **argv) {
  long ops = argc > 1 ? atol(argv[1]) : 20000;
  rng_state = argc > 2 ? strtoull(argv[2], NULL, 10) : 20261125;
  harness h = {0};
  test_tmpdir(h.dir, "db_model");
  qx_db_options_init(&h.opt);
  h.opt.memtable_size = 64 << 10; /* tiny: many flushes and compactions */
  h.opt.l1_size = 256 << 10;
  h.opt.sst_file_size = 64 << 10;
  h.opt.wal.segment_size = 1 << 20;
  if (argc > 3)
    h.opt.compression = strcmp(argv[3], "lz4") == 0    ? QX_COMPRESSION_LZ4
                        : strcmp(argv[3], "zstd") == 0 ? QX_COMPRESSION_ZSTD
                                                       : QX_COMPRESSION_NONE;
  h.opt.block_cache_size = 256 << 10; /* small: blocks are evicted and read again */
  if (argc > 4 && strcmp(argv[4], "tracked") == 0)
    qx_fault_track_power_loss(&(qx_power_loss_model){0});
  CHECK_OK(qx_db_open(h.dir, &h.opt, &h.db, NULL));
  for (long i = 0; i < ops && check_failures == 0; i++)
    step(&h);
  final_checks(&h);
  release_snapshots(&h);
  qx_db_verify_report vr;
  CHECK_OK(qx_db_close(h.db));
  CHECK_OK(qx_db_verify(h.dir, &vr));
  CHECK(vr.table_files > 0);
  for (int k = 0; k < KEYS; k++)
    free(h.m.versions[k]);
  test_rmtree(h.dir);
  return test_finish("test_db_model");
}
