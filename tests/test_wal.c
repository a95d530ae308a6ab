/* The WAL's contract: gap-free LSNs, appends read back intact, batches, durability and its
 * waits and callback, rotation, replay from any LSN, checkpoints, reopen continuity, the
 * directory lock, concurrent writers, and argument errors. Damage handling is in
 * test_wal_faults.c, crashes in test_wal_crash.c. */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "qaxdb/wal.h"
#include "util/crc32c.h"
#include "wal/format.h"
#include "wal/sync_group.h"
#include "wal_util.h"

static size_t count_segments(const char *dir) {
  size_t n = 0;
  DIR *d = opendir(dir);
  if (!d) return 0;
  for (struct dirent *de; (de = readdir(d)) != NULL;)
    if (strlen(de->d_name) == 24 && strcmp(de->d_name + 20, ".wal") == 0) n++;
  closedir(d);
  return n;
}

static test_replay replay_all(qx_wal *wal, uint64_t from) {
  test_replay r = {0};
  CHECK_OK(qx_wal_replay(wal, from, test_replay_visit, &r));
  return r;
}

static void test_append_replay_reopen(void) {
  char dir[PATH_MAX];
  test_tmpdir(dir, "wal-basic");
  qx_wal *wal;
  qx_wal_recovery rec;
  CHECK_OK(qx_wal_open(dir, NULL, &wal, &rec));
  CHECK_EQ_U64(rec.last_lsn, 0);
  CHECK_EQ_U64(qx_wal_last_lsn(wal), 0);
  CHECK_OK(test_append_n(wal, 0, 1000, QX_DURABILITY_NONE));
  CHECK_EQ_U64(qx_wal_last_lsn(wal), 1000);

  test_replay r = replay_all(wal, 1);
  CHECK_EQ_U64(r.count, 1000);
  CHECK_EQ_U64(r.first_lsn, 1);
  CHECK_EQ_U64(r.gaps + r.bad_payload, 0);
  r = replay_all(wal, 750);
  CHECK_EQ_U64(r.count, 251);
  CHECK_EQ_U64(r.first_lsn, 750);
  r = replay_all(wal, 1001);
  CHECK_EQ_U64(r.count, 0);
  CHECK_OK(qx_wal_close(wal));

  CHECK_OK(qx_wal_open(dir, NULL, &wal, &rec));
  CHECK_EQ_U64(rec.first_lsn, 1);
  CHECK_EQ_U64(rec.last_lsn, 1000);
  CHECK_EQ_U64(rec.truncated_bytes, 0);
  CHECK_EQ_U64(qx_wal_durable_lsn(wal), 1000);
  uint8_t buf[TEST_PAYLOAD_MAX];
  qx_wal_record one = {2, 1, test_payload(0, 1000, buf), 123456789, buf};
  uint64_t lsn = 0;
  CHECK_OK(qx_wal_append(wal, &one, QX_DURABILITY_GROUP, &lsn));
  CHECK_EQ_U64(lsn, 1001);
  CHECK(qx_wal_durable_lsn(wal) >= 1001);
  CHECK_OK(qx_wal_close(wal));

  /* Read-only scan sees the same, including the caller's timestamp and table id. */
  r = (test_replay){0};
  CHECK_OK(qx_wal_scan(dir, 1, test_replay_visit, &r, &rec));
  CHECK_EQ_U64(r.count, 1001);
  CHECK_EQ_U64(rec.last_lsn, 1001);
  test_rmtree(dir);
}

typedef struct entry_probe {
  uint64_t lsn;
  qx_wal_entry seen;
} entry_probe;

static int probe_visit(const qx_wal_entry *e, void *ctx) {
  entry_probe *p = ctx;
  if (e->lsn != p->lsn) return 0;
  p->seen = *e;
  CHECK(((uintptr_t)e->data & 7) == 0); /* records can be read in place */
  return 1;                             /* stop: replay returns what the visitor returned */
}

static void test_entry_fields_and_batch(void) {
  char dir[PATH_MAX];
  test_tmpdir(dir, "wal-batch");
  qx_wal *wal;
  CHECK_OK(qx_wal_open(dir, NULL, &wal, NULL));
  uint8_t bufs[5][TEST_PAYLOAD_MAX];
  qx_wal_record batch[5];
  for (int i = 0; i < 5; i++)
    batch[i] = (qx_wal_record){(uint16_t)(i + 1), 3, test_payload(9, (uint64_t)i, bufs[i]),
                               1000 + i, bufs[i]};
  uint64_t last = 0;
  CHECK_OK(qx_wal_append_batch(wal, batch, 5, QX_DURABILITY_GROUP, &last));
  CHECK_EQ_U64(last, 5);
  CHECK(qx_wal_durable_lsn(wal) >= 5);

  entry_probe p = {4, {0}};
  CHECK_RC(qx_wal_replay(wal, 1, probe_visit, &p), 1);
  CHECK_EQ_U64(p.seen.lsn, 4);
  CHECK_EQ_U64(p.seen.table_id, 4);
  CHECK_EQ_U64(p.seen.schema_version, 3);
  CHECK_EQ_U64(p.seen.ts_ns, 1003);
  CHECK_EQ_U64(p.seen.size, batch[3].size);

  qx_wal_record now = {1, 1, 16, 0, bufs[0]}; /* ts 0 takes the current time */
  CHECK_OK(qx_wal_append(wal, &now, QX_DURABILITY_NONE, &last));
  p = (entry_probe){6, {0}};
  CHECK_RC(qx_wal_replay(wal, 6, probe_visit, &p), 1);
  CHECK(p.seen.ts_ns > 1700000000000000000ll);
  CHECK_OK(qx_wal_close(wal));
  test_rmtree(dir);
}

typedef struct durable_seen {
  _Atomic uint64_t max_lsn;
  _Atomic int calls;
} durable_seen;

static void on_durable(uint64_t lsn, void *ctx) {
  durable_seen *s = ctx;
  CHECK(lsn >= atomic_load(&s->max_lsn)); /* never goes backwards */
  atomic_store(&s->max_lsn, lsn);
  atomic_fetch_add(&s->calls, 1);
}

static void test_async_durability(void) {
  char dir[PATH_MAX];
  test_tmpdir(dir, "wal-async");
  durable_seen seen = {0, 0};
  qx_wal_options opt;
  qx_wal_options_init(&opt);
  opt.on_durable = on_durable;
  opt.on_durable_ctx = &seen;
  qx_wal *wal;
  CHECK_OK(qx_wal_open(dir, &opt, &wal, NULL));
  CHECK_OK(test_append_n(wal, 0, 500, QX_DURABILITY_NONE));
  CHECK_OK(qx_wal_wait_durable(wal, 500, 10ll * 1000000000));
  CHECK(qx_wal_durable_lsn(wal) >= 500);
  CHECK_OK(qx_wal_wait_durable(wal, 3, 0)); /* already durable: no wait */
  CHECK_RC(qx_wal_wait_durable(wal, 501, 1000000), QX_ERR_INVALID_ARG); /* never appended */
  CHECK_OK(qx_wal_close(wal));
  CHECK_EQ_U64(atomic_load(&seen.max_lsn), 500);
  CHECK(atomic_load(&seen.calls) >= 1);
  test_rmtree(dir);
}

static void test_rotation_and_checkpoint(void) {
  char dir[PATH_MAX];
  test_tmpdir(dir, "wal-rotate");
  qx_wal_options opt;
  qx_wal_options_init(&opt);
  opt.segment_size = 64 << 10;
  qx_wal *wal;
  CHECK_OK(qx_wal_open(dir, &opt, &wal, NULL));
  CHECK_OK(test_append_n(wal, 0, 3000, QX_DURABILITY_NONE)); /* ~870 KB: ~14 segments */
  CHECK_OK(qx_wal_wait_durable(wal, 3000, -1));
  size_t segments = count_segments(dir);
  CHECK(segments >= 10);
  test_replay r = replay_all(wal, 1);
  CHECK_EQ_U64(r.count, 3000);
  CHECK_EQ_U64(r.gaps + r.bad_payload, 0);

  CHECK_OK(qx_wal_checkpoint(wal, 1500));
  size_t kept = count_segments(dir);
  CHECK(kept < segments && kept > 1);
  r = replay_all(wal, 1500); /* the segment holding 1500 is kept */
  CHECK_EQ_U64(r.count, 1501);
  test_replay missing = {0};
  CHECK_RC(qx_wal_replay(wal, 1, test_replay_visit, &missing), QX_ERR_NOT_FOUND);
  CHECK_OK(qx_wal_close(wal));

  qx_wal_recovery rec;
  CHECK_OK(qx_wal_open(dir, &opt, &wal, &rec));
  CHECK(rec.first_lsn > 1 && rec.first_lsn <= 1500);
  CHECK_EQ_U64(rec.last_lsn, 3000);
  CHECK_OK(qx_wal_checkpoint(wal, UINT64_MAX)); /* the active segment always stays */
  CHECK_EQ_U64(count_segments(dir), 1);
  CHECK_OK(test_append_n(wal, 3000, 10, QX_DURABILITY_GROUP));
  CHECK_EQ_U64(qx_wal_last_lsn(wal), 3010);
  CHECK_OK(qx_wal_close(wal));
  test_rmtree(dir);
}

#define WRITERS 4
#define PER_WRITER 2000

typedef struct writer_arg {
  qx_wal *wal;
  uint32_t stream;
  int failures;
} writer_arg;

static void *writer_main(void *p) {
  writer_arg *a = p;
  uint8_t buf[TEST_PAYLOAD_MAX];
  for (uint64_t s = 0; s < PER_WRITER; s++) {
    qx_wal_record rec = {1, 1, test_payload(a->stream, s, buf), 0, buf};
    uint64_t lsn;
    qx_durability d = s % 2 ? QX_DURABILITY_GROUP : QX_DURABILITY_NONE;
    if (qx_wal_append(a->wal, &rec, d, &lsn) != QX_OK)
      a->failures++;
    else if (d == QX_DURABILITY_GROUP && qx_wal_durable_lsn(a->wal) < lsn)
      a->failures++;
  }
  return NULL;
}

typedef struct stream_count {
  uint64_t next_seq[WRITERS];
  uint64_t out_of_order;
  test_replay replay;
} stream_count;

static int stream_visit(const qx_wal_entry *e, void *ctx) {
  stream_count *c = ctx;
  test_replay_visit(e, &c->replay);
  uint32_t stream;
  uint64_t seq;
  if (test_payload_valid(e->data, e->size, &stream, &seq) && stream < WRITERS) {
    if (seq != c->next_seq[stream]) c->out_of_order++;
    c->next_seq[stream] = seq + 1;
  }
  return 0;
}

static void test_concurrent_writers(void) {
  char dir[PATH_MAX];
  test_tmpdir(dir, "wal-concurrent");
  qx_wal_options opt;
  qx_wal_options_init(&opt);
  opt.segment_size = 256 << 10;
  qx_wal *wal;
  CHECK_OK(qx_wal_open(dir, &opt, &wal, NULL));
  pthread_t threads[WRITERS];
  writer_arg args[WRITERS];
  for (uint32_t i = 0; i < WRITERS; i++) {
    args[i] = (writer_arg){wal, i, 0};
    pthread_create(&threads[i], NULL, writer_main, &args[i]);
  }
  for (int i = 0; i < WRITERS; i++) {
    pthread_join(threads[i], NULL);
    CHECK_EQ_U64(args[i].failures, 0);
  }
  CHECK_EQ_U64(qx_wal_last_lsn(wal), WRITERS * PER_WRITER);
  stream_count c = {{0}, 0, {0}};
  CHECK_OK(qx_wal_replay(wal, 1, stream_visit, &c));
  CHECK_EQ_U64(c.replay.count, WRITERS * PER_WRITER);
  CHECK_EQ_U64(c.replay.gaps + c.replay.bad_payload + c.out_of_order, 0);
  for (int i = 0; i < WRITERS; i++)
    CHECK_EQ_U64(c.next_seq[i], PER_WRITER);
  CHECK_OK(qx_wal_close(wal));
  test_rmtree(dir);
}

static void test_lock_and_arguments(void) {
  char dir[PATH_MAX];
  test_tmpdir(dir, "wal-lock");
  qx_wal *wal, *second = NULL;
  CHECK_OK(qx_wal_open(dir, NULL, &wal, NULL));
  CHECK_RC(qx_wal_open(dir, NULL, &second, NULL), QX_ERR_LOCKED);
  CHECK(strstr(qx_last_error(), dir) != NULL);
  CHECK(second == NULL);

  uint8_t big[64];
  memset(big, 1, sizeof big);
  qx_wal_record empty = {1, 1, 0, 0, big};
  CHECK_RC(qx_wal_append(wal, &empty, QX_DURABILITY_NONE, NULL), QX_ERR_INVALID_ARG);
  qx_wal_record huge = {1, 1, QX_WAL_MAX_RECORD + 1, 0, big};
  CHECK_RC(qx_wal_append(wal, &huge, QX_DURABILITY_NONE, NULL), QX_ERR_TOO_LARGE);
  CHECK_EQ_U64(qx_wal_last_lsn(wal), 0); /* rejected appends consume no LSN */
  CHECK_OK(qx_wal_close(wal));

  CHECK_OK(qx_wal_open(dir, NULL, &second, NULL)); /* released by close */
  CHECK_OK(qx_wal_close(second));

  qx_wal_options opt;
  qx_wal_options_init(&opt);
  opt.segment_size = 4096;
  CHECK_RC(qx_wal_open(dir, &opt, &wal, NULL), QX_ERR_INVALID_ARG);
  test_rmtree(dir);
}

/* A listing of dir: every entry's name, and for a file its size and a checksum of its bytes. */
static void folder_state(const char *dir, char *out, size_t cap) {
  struct dirent **names;
  int n = scandir(dir, &names, NULL, alphasort);
  size_t used = 0;
  out[0] = '\0';
  for (int i = 0; i < n; i++) {
    char path[PATH_MAX];
    test_join(path, dir, names[i]->d_name);
    struct stat st;
    uint32_t crc = 0;
    int fd = stat(path, &st) == 0 && S_ISREG(st.st_mode) ? open(path, O_RDONLY) : -1;
    uint8_t buf[1 << 16];
    for (ssize_t got; fd >= 0 && (got = read(fd, buf, sizeof buf)) > 0;)
      crc = qx_crc32c(crc, buf, (size_t)got);
    if (fd >= 0) close(fd);
    used += (size_t)snprintf(out + used, cap - used, "%s %lld %08x\n", names[i]->d_name,
                             fd >= 0 ? (long long)st.st_size : -1ll, crc);
    free(names[i]);
  }
  free(names);
}

/* A closed log of 500 entries in 64 KiB segments, then what a crash leaves: a spare segment
 * prepared (open removes it) and a torn tail of 40 bytes (open cuts it). Out: the last
 * segment's path and the torn tail's offset in it. */
static void make_crashed_log(const char *dir, char last[PATH_MAX], uint64_t *torn_at) {
  qx_wal_options opt;
  qx_wal_options_init(&opt);
  opt.segment_size = 64 << 10;
  qx_wal *wal;
  CHECK_OK(qx_wal_open(dir, &opt, &wal, NULL));
  CHECK_OK(test_append_n(wal, 0, 500, QX_DURABILITY_GROUP));
  CHECK_OK(qx_wal_close(wal));
  struct dirent **names;
  int n = scandir(dir, &names, NULL, alphasort);
  uint64_t first = 0;
  for (int i = 0; i < n; i++) {
    if (strstr(names[i]->d_name, ".wal")) {
      test_join(last, dir, names[i]->d_name);
      first = strtoull(names[i]->d_name, NULL, 10);
    }
    free(names[i]);
  }
  free(names);
  CHECK(first > 1);
  uint8_t buf[TEST_PAYLOAD_MAX];
  *torn_at = WAL_SEGMENT_HEADER_SIZE;
  for (uint64_t lsn = first; lsn <= 500; lsn++)
    *torn_at += wal_entry_span(test_payload(0, lsn - 1, buf));
  memset(buf, 0x5A, 40);
  int fd = open(last, O_WRONLY);
  CHECK(fd >= 0 && pwrite(fd, buf, 40, (off_t)*torn_at) == 40);
  close(fd);
  char spare[PATH_MAX];
  test_join(spare, dir, "prepared.tmp");
  fd = open(spare, O_WRONLY | O_CREAT, 0644);
  CHECK(fd >= 0 && pwrite(fd, buf, 40, 0) == 40);
  close(fd);
}

/* A read-only open changes no byte and no file, reports the torn tail it leaves in place, reads
 * up to the last valid entry, shares the lock with other readers, keeps writers out, and is
 * kept out by a writer; a scan says whether a writer holds the log. */
static void test_read_only_open(void) {
  char dir[PATH_MAX], last[PATH_MAX];
  uint64_t torn_at;
  test_tmpdir(dir, "wal-read-only");
  make_crashed_log(dir, last, &torn_at);
  static char before[8192], after[8192];
  folder_state(dir, before, sizeof before);
  qx_wal_options ro_opt;
  qx_wal_options_init(&ro_opt);
  ro_opt.read_only = 1;
  qx_wal *ro, *ro2, *writer = NULL;
  qx_wal_recovery rec;
  CHECK_OK(qx_wal_open(dir, &ro_opt, &ro, &rec));
  CHECK_EQ_U64(rec.last_lsn, 500);
  CHECK_EQ_U64(rec.truncated_bytes, 40);
  CHECK_EQ_U64(rec.truncated_offset, torn_at);
  CHECK_STR(rec.truncated_file, last);
  CHECK(qx_wal_last_lsn(ro) == 500 && qx_wal_durable_lsn(ro) == 500);
  test_replay r = replay_all(ro, 1);
  CHECK(r.count == 500 && r.gaps + r.bad_payload == 0);
  qx_wal_reader *reader;
  CHECK_OK(qx_wal_reader_open(ro, 400, &reader));
  r = (test_replay){0};
  CHECK_OK(qx_wal_reader_read(reader, UINT64_MAX, test_replay_visit, &r));
  CHECK(r.count == 101 && r.first_lsn == 400 && r.gaps + r.bad_payload == 0);
  qx_wal_reader_close(reader);
  CHECK_OK(qx_wal_wait_durable(ro, 500, 0));
  CHECK_RC(test_append_n(ro, 500, 1, QX_DURABILITY_NONE), QX_ERR_DENIED);
  CHECK_RC(qx_wal_checkpoint(ro, 300), QX_ERR_DENIED);
  CHECK_OK(qx_wal_open(dir, &ro_opt, &ro2, NULL)); /* readers share the lock */
  CHECK_RC(qx_wal_open(dir, NULL, &writer, NULL), QX_ERR_LOCKED);
  CHECK_OK(qx_wal_close(ro2));
  CHECK_OK(qx_wal_close(ro));
  folder_state(dir, after, sizeof after);
  CHECK_STR(after, before);

  qx_wal_options opt;
  qx_wal_options_init(&opt);
  opt.segment_size = 64 << 10;
  CHECK_OK(qx_wal_open(dir, &opt, &writer, &rec)); /* the writer does cut the tail */
  CHECK_EQ_U64(rec.truncated_bytes, 40);
  CHECK_RC(qx_wal_open(dir, &ro_opt, &ro, NULL), QX_ERR_LOCKED);
  CHECK(strstr(qx_last_error(), "a writer holds") != NULL);
  CHECK_OK(qx_wal_scan(dir, 1, NULL, NULL, &rec));
  CHECK_EQ_U64(rec.live_writer, 1);
  CHECK_OK(qx_wal_close(writer));
  CHECK_OK(qx_wal_scan(dir, 1, NULL, NULL, &rec));
  CHECK_EQ_U64(rec.live_writer, 0);

  char lock[PATH_MAX], missing[PATH_MAX];
  test_join(lock, dir, "LOCK");
  CHECK(unlink(lock) == 0); /* no LOCK: no writer can hold it, and none is created */
  folder_state(dir, before, sizeof before);
  CHECK_OK(qx_wal_open(dir, &ro_opt, &ro, &rec));
  CHECK_EQ_U64(rec.last_lsn, 500);
  CHECK_OK(qx_wal_close(ro));
  folder_state(dir, after, sizeof after);
  CHECK_STR(after, before);
  test_join(missing, dir, "none");
  CHECK_RC(qx_wal_open(missing, &ro_opt, &ro, NULL), QX_ERR_NOT_FOUND);
  CHECK(access(missing, F_OK) != 0);
  test_rmtree(dir);
}

/* A disk whose sync of b bytes takes fixed_ns + b / bytes_per_ns, fed rounds of what the budget
 * lets through: the budget settles where a round takes about twice the fixed cost. */
static int64_t simulated_round(uint64_t bytes) {
  const int64_t fixed_ns = 200000;
  const double bytes_per_ns = 1.0; /* 1 GB/s */
  return fixed_ns + (int64_t)((double)bytes / bytes_per_ns);
}

static void test_sync_group_sizing(void) {
  qx_sync_group g;
  qx_sync_group_init(&g, 200000);
  for (int i = 0; i < 100; i++)
    qx_sync_group_round(&g, g.budget, simulated_round(g.budget));
  int64_t round_ns = simulated_round(g.budget);
  CHECK(round_ns > 350000 && round_ns < 450000); /* 2 x 200 us, within a quarter */
  /* One sync stalled by the disk halves the budget at most; the next rounds win it back. */
  uint64_t settled = g.budget;
  qx_sync_group_round(&g, g.budget, 50000000);
  CHECK_EQ_U64(g.budget, settled / 2);
  for (int i = 0; i < 10; i++)
    qx_sync_group_round(&g, g.budget, simulated_round(g.budget));
  CHECK(g.budget > settled * 9 / 10 && g.budget < settled * 11 / 10);
  /* Rounds the budget did not hold back teach nothing, and a small round slowed by a busy disk
   * is not taken for the cost of a sync. */
  qx_sync_group_round(&g, 100, 5000000);
  CHECK(g.budget > settled * 9 / 10);
  CHECK(g.bare_sync_ns == 200000);
  qx_sync_group_round(&g, 100, 90000); /* a faster one is */
  CHECK(g.bare_sync_ns == 90000);
  /* Never below the floor, whatever the disk does. */
  for (int i = 0; i < 50; i++)
    qx_sync_group_round(&g, g.budget, 1000000000);
  CHECK_EQ_U64(g.budget, QX_SYNC_GROUP_MIN_BYTES);
}

int main(void) {
  test_sync_group_sizing();
  test_append_replay_reopen();
  test_entry_fields_and_batch();
  test_async_durability();
  test_rotation_and_checkpoint();
  test_concurrent_writers();
  test_lock_and_arguments();
  test_read_only_open();
  return test_finish("test_wal");
}
