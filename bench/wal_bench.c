/* qaxdb-bench-wal: the qaxdb WAL against RocksDB's write path (WAL on) on the same stream of
 * 128-byte records (8-byte key + 120-byte value), in the same run:
 *   nosync_{1,4}w    qaxdb durability none   vs RocksDB put, sync=false
 *   sync_{1,4}w      qaxdb durability group  vs RocksDB put, sync=true   (blocking writers)
 *   pipelined_1w     one writer appends without waiting and a second thread acknowledges each
 *                    record once an fdatasync covers it: qaxdb (append none + wait for the
 *                    durable LSN) vs RocksDB (put sync=false + FlushWAL(sync=true))
 *   pipelined_b16_1w the same with 16 records per call (qaxdb batch append, RocksDB
 *                    WriteBatch), as an order gateway or the simulator writes them
 * Latency is per record: call to return, or (pipelined) call to acknowledgement.
 * Usage: qaxdb-bench-wal [--quick] [--dir PATH]. Ends with one JSON line per measurement. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <rocksdb/c.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_report.h"
#include "qaxdb/wal.h"
#include "util/clock.h"
#include "util/histogram.h"

#define RECORD_SIZE 128
#define KEY_SIZE 8
#define MAX_WRITERS 4
#define MAX_BATCH 16
#define ACK_RING (1u << 16) /* unacknowledged records at most: bounds the backlog (latency) */

typedef struct settings {
  uint64_t nosync_records; /* per case, over all writers */
  int64_t timed_ns;        /* duration of each synced case */
  const char *dir;
} settings;

/* ---- the two systems under test ----------------------------------------------------------- */

typedef struct target {
  const char *name;
  qx_wal *wal;
  qx_durability durability;
  rocksdb_t *db;
  rocksdb_writeoptions_t *write_options;
} target;

static void fail(const char *what, const char *detail) {
  fprintf(stderr, "qaxdb-bench-wal: %s: %s\n", what, detail);
  exit(1);
}

static void open_qaxdb(target *t, const settings *s, const char *tag, qx_durability d) {
  char path[4096];
  snprintf(path, sizeof path, "%s/qaxdb-%s", s->dir, tag);
  *t = (target){.name = "qaxdb", .durability = d};
  if (qx_wal_open(path, NULL, &t->wal, NULL) != QX_OK) fail("open qaxdb WAL", qx_last_error());
}

static void open_rocksdb(target *t, const settings *s, const char *tag, int sync) {
  char path[4096];
  snprintf(path, sizeof path, "%s/rocksdb-%s", s->dir, tag);
  *t = (target){.name = "rocksdb"};
  rocksdb_options_t *options = rocksdb_options_create();
  rocksdb_options_set_create_if_missing(options, 1);
  char *err = NULL;
  t->db = rocksdb_open(options, path, &err);
  rocksdb_options_destroy(options);
  if (err) fail("open RocksDB", err);
  t->write_options = rocksdb_writeoptions_create();
  rocksdb_writeoptions_set_sync(t->write_options, (unsigned char)sync);
}

static void close_target(target *t) {
  if (t->wal && qx_wal_close(t->wal) != QX_OK) fail("close qaxdb WAL", qx_last_error());
  if (t->db) {
    rocksdb_writeoptions_destroy(t->write_options);
    rocksdb_close(t->db);
  }
}

static void put_key(uint8_t *record, uint64_t seq) {
  for (int i = 0; i < KEY_SIZE; i++)
    record[i] = (uint8_t)(seq >> (56 - 8 * i));
}

/* Writes count records (RECORD_SIZE bytes each, back to back) in one call. */
static void write_records(target *t, uint8_t *records, int count) {
  if (t->wal) {
    qx_wal_record recs[MAX_BATCH];
    for (int i = 0; i < count; i++)
      recs[i] = (qx_wal_record){1, 1, RECORD_SIZE, 0, records + (size_t)i * RECORD_SIZE};
    if (qx_wal_append_batch(t->wal, recs, (size_t)count, t->durability, NULL) != QX_OK)
      fail("qaxdb append", qx_last_error());
    return;
  }
  char *err = NULL;
  if (count == 1) {
    rocksdb_put(t->db, t->write_options, (const char *)records, KEY_SIZE,
                (const char *)records + KEY_SIZE, RECORD_SIZE - KEY_SIZE, &err);
  } else {
    rocksdb_writebatch_t *batch = rocksdb_writebatch_create();
    for (int i = 0; i < count; i++) {
      const char *r = (const char *)records + (size_t)i * RECORD_SIZE;
      rocksdb_writebatch_put(batch, r, KEY_SIZE, r + KEY_SIZE, RECORD_SIZE - KEY_SIZE);
    }
    rocksdb_write(t->db, t->write_options, batch, &err);
    rocksdb_writebatch_destroy(batch);
  }
  if (err) fail("RocksDB write", err);
}

/* ---- blocking writers --------------------------------------------------------------------- */

typedef struct writer {
  target *target;
  uint32_t id;
  uint64_t records; /* stop after this many, or */
  int64_t deadline; /* at this monotonic time */
  uint64_t done;
  histogram latency;
} writer;

static void *writer_main(void *arg) {
  writer *w = arg;
  uint8_t record[RECORD_SIZE];
  for (int i = 0; i < RECORD_SIZE; i++)
    record[i] = (uint8_t)(i * 37 + w->id);
  for (uint64_t n = 0; n < w->records; n++) {
    put_key(record, ((uint64_t)w->id << 48) | n);
    int64_t start = qx_monotonic_ns();
    write_records(w->target, record, 1);
    int64_t end = qx_monotonic_ns();
    qx_histogram_record(&w->latency, (uint64_t)(end - start));
    w->done++;
    if ((n & 63) == 0 && end >= w->deadline) break;
  }
  return NULL;
}

static bench_side run_writers(target *t, int threads, uint64_t records, int64_t duration_ns) {
  static writer writers[MAX_WRITERS]; /* histograms are large: keep them off the stack */
  pthread_t tids[MAX_WRITERS];
  int64_t start = qx_monotonic_ns();
  for (int i = 0; i < threads; i++) {
    writers[i] = (writer){.target = t,
                          .id = (uint32_t)i,
                          .records = records / (uint64_t)threads,
                          .deadline = duration_ns ? start + duration_ns : INT64_MAX};
    qx_histogram_reset(&writers[i].latency);
    pthread_create(&tids[i], NULL, writer_main, &writers[i]);
  }
  bench_side side = {0};
  qx_histogram_reset(&side.latency);
  uint64_t total = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(tids[i], NULL);
    qx_histogram_merge(&side.latency, &writers[i].latency);
    total += writers[i].done;
  }
  side.records_per_s = (double)total * 1e9 / (double)(qx_monotonic_ns() - start);
  return side;
}

/* ---- pipelined: append without waiting, acknowledge after the covering sync --------------- */

typedef struct pipeline {
  target *target;
  int64_t deadline;
  int64_t *append_ns; /* ring indexed by record number */
  _Atomic uint64_t appended;
  _Atomic int writer_done;
  histogram latency;
  _Atomic uint64_t acked;
} pipeline;

/* Makes every record appended so far durable; returns when a sync covering them completed. */
static void sync_appended(pipeline *p, uint64_t count) {
  target *t = p->target;
  if (t->wal) {
    /* The flusher syncs by itself; the LSN of record n (from 0) in a fresh log is n + 1. */
    if (qx_wal_wait_durable(t->wal, count, -1) != QX_OK) fail("qaxdb wait", qx_last_error());
    return;
  }
  char *err = NULL;
  rocksdb_flush_wal(t->db, 1, &err);
  if (err) fail("RocksDB FlushWAL(sync)", err);
}

static void *acker_main(void *arg) {
  pipeline *p = arg;
  for (;;) {
    int done = atomic_load(&p->writer_done);
    uint64_t count = atomic_load(&p->appended);
    if (count == p->acked) {
      if (done) break;
      usleep(20); /* sleep, not spin: the writer and the flusher need the 2 cores */
      continue;
    }
    sync_appended(p, count);
    int64_t now = qx_monotonic_ns();
    for (; p->acked < count; p->acked++)
      qx_histogram_record(&p->latency, (uint64_t)(now - p->append_ns[p->acked % ACK_RING]));
  }
  return NULL;
}

static bench_side run_pipelined(target *t, int64_t duration_ns, int batch) {
  static pipeline p;
  p = (pipeline){.target = t, .deadline = qx_monotonic_ns() + duration_ns};
  p.append_ns = malloc(sizeof(int64_t) * ACK_RING);
  qx_histogram_reset(&p.latency);
  t->durability = QX_DURABILITY_NONE;
  pthread_t acker;
  int64_t start = qx_monotonic_ns();
  pthread_create(&acker, NULL, acker_main, &p);
  uint8_t records[MAX_BATCH * RECORD_SIZE];
  for (int i = 0; i < MAX_BATCH * RECORD_SIZE; i++)
    records[i] = (uint8_t)(i * 37);
  for (uint64_t n = 0;; n += (uint64_t)batch) {
    while (n + (uint64_t)batch - p.acked > ACK_RING)
      usleep(20); /* never overwrite an unacknowledged time */
    int64_t now = qx_monotonic_ns();
    for (int i = 0; i < batch; i++) {
      put_key(records + (size_t)i * RECORD_SIZE, n + (uint64_t)i);
      p.append_ns[(n + (uint64_t)i) % ACK_RING] = now;
    }
    write_records(t, records, batch);
    atomic_store(&p.appended, n + (uint64_t)batch);
    if ((n & 255) < (uint64_t)batch && qx_monotonic_ns() >= p.deadline) break;
  }
  atomic_store(&p.writer_done, 1);
  pthread_join(acker, NULL);
  bench_side side = {.latency = p.latency};
  side.records_per_s = (double)p.acked * 1e9 / (double)(qx_monotonic_ns() - start);
  free(p.append_ns);
  return side;
}

/* ---- the cases ---------------------------------------------------------------------------- */

/* pipelined: 0 for blocking writers, else records per call of the pipelined writer. */
static void run_case(const settings *s, bench_case *c, int threads, int sync, int pipelined) {
  target q, r;
  open_qaxdb(&q, s, c->name, sync ? QX_DURABILITY_GROUP : QX_DURABILITY_NONE);
  open_rocksdb(&r, s, c->name, sync && !pipelined);
  uint64_t records = sync ? UINT64_MAX : s->nosync_records;
  int64_t duration = sync ? s->timed_ns : 0;
  fprintf(stderr, "running %s ...\n", c->name);
  if (pipelined) {
    c->qaxdb = run_pipelined(&q, duration, pipelined);
    c->peer = run_pipelined(&r, duration, pipelined);
  } else {
    c->qaxdb = run_writers(&q, threads, records, duration);
    c->peer = run_writers(&r, threads, records, duration);
  }
  close_target(&q);
  close_target(&r);
}

/* fdatasync latency of this disk: what bounds every synced figure. */
static double fdatasync_us(const settings *s) {
  char path[4096];
  snprintf(path, sizeof path, "%s/fdatasync-probe", s->dir);
  int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
  if (fd < 0 || posix_fallocate(fd, 0, 1 << 20) != 0) fail("fdatasync probe", strerror(errno));
  char block[4096] = {1};
  int64_t start = qx_monotonic_ns();
  enum { SYNCS = 200 };
  for (int i = 0; i < SYNCS; i++) {
    if (pwrite(fd, block, sizeof block, (off_t)(i % 256) * 4096) != (ssize_t)sizeof block ||
        fdatasync(fd) != 0)
      fail("fdatasync probe", strerror(errno));
  }
  double us = (double)(qx_monotonic_ns() - start) / SYNCS / 1000.0;
  close(fd);
  unlink(path);
  return us;
}

static void usage(FILE *out) {
  fprintf(out, "usage: qaxdb-bench-wal [--quick] [--dir PATH]\n\n"
               "Writes 128-byte records to the qaxdb WAL and to RocksDB in the same run and\n"
               "prints latency percentiles, records/s and the ratio per case, then one JSON\n"
               "line per measurement. --quick runs in about 20 s. --dir (default: a new\n"
               "directory under $TMPDIR or /tmp, removed at the end) should be on the disk to\n"
               "measure.\n");
}

int main(int argc, char **argv) {
  settings s = {2000000, 8ll * 1000000000, NULL};
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) {
      s.nosync_records = 200000;
      s.timed_ns = 2ll * 1000000000;
    } else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
      s.dir = argv[++i];
    } else if (strcmp(argv[i], "--help") == 0) {
      usage(stdout);
      return 0;
    } else {
      usage(stderr);
      return 2;
    }
  }
  char tmp[4096];
  int own_dir = s.dir == NULL;
  if (own_dir)
    s.dir = bench_make_tmpdir(tmp, "wal");
  else if (mkdir(s.dir, 0755) != 0 && errno != EEXIST)
    fail(s.dir, strerror(errno));

  static bench_case cases[] = {
      {.name = "nosync_1w"},     {.name = "nosync_4w"},    {.name = "group_sync_1w"},
      {.name = "group_sync_4w"}, {.name = "pipelined_1w"}, {.name = "pipelined_b16_1w"},
  };
  run_case(&s, &cases[0], 1, 0, 0);
  run_case(&s, &cases[1], 4, 0, 0);
  run_case(&s, &cases[2], 1, 1, 0);
  run_case(&s, &cases[3], 4, 1, 0);
  run_case(&s, &cases[4], 1, 1, 1);
  run_case(&s, &cases[5], 1, 1, MAX_BATCH);
  printf("fdatasync of one 4 KiB block on this disk: %.0f us\n\n", fdatasync_us(&s));
  bench_print(stdout, "wal", "rocksdb", "records", cases, sizeof cases / sizeof cases[0]);
  if (own_dir) bench_remove_tree(s.dir);
  return 0;
}
