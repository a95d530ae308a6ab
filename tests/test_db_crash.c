/* Crash test of the engine: a child process writes puts and deletes with a tiny MemTable (so
 * flushes and compactions run all the time), waits for each group to be durable and reports
 * every acknowledged write to the parent over a pipe. The child dies one of two ways:
 *  - kill: the parent sends SIGKILL after a random number of acknowledgements (observed
 *    progress, not elapsed time);
 *  - cut: the file I/O layer (util/io_fault.h) cuts the power at the nth call of a random kind
 *    (write, sync, create, rename, unlink), under one of three disk models: strict (every
 *    change not synced is lost, names included), names kept (renames and creates survive,
 *    unsynced data does not), and written back (everything survives: a crash at exactly that
 *    call, e.g. in the middle of writing a table file).
 * The parent reopens and checks that every acknowledged write is there (no lost put, no
 * resurrected delete), values intact, and that the table files verify clean.
 * Usage: test_db_crash [ITERATIONS [kill|cut|both]] (default both, alternating; stress: many,
 * and then a death mid-flush or mid-compaction is also required). */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "qaxdb/db.h"
#include "util/io_fault.h"

#define KEYS 4000
#define GROUP 8

/* A message from the child: an intent (sent before the write, with the LSN it will get) or
 * an acknowledgement (sent after the write is durable). */
typedef struct ack {
  uint64_t lsn;
  int32_t key;
  int16_t deleted;
  int16_t intent;
} ack;

/* What the parent learned: the last acknowledged write per key, and the intents of the group
 * that was in flight when the child died (written or not). */
typedef struct knowledge {
  ack last[KEYS];
  ack pending[GROUP];
  int pending_count;
} knowledge;

static void options(qx_db_options *o) {
  qx_db_options_init(o);
  o->memtable_size = 64 << 10;
  o->l1_size = 256 << 10;
  o->sst_file_size = 64 << 10;
  o->wal.segment_size = 1 << 20;
  /* The LSM alone: this test also runs under ThreadSanitizer, which cannot follow DuckDB's
   * uninstrumented threads; test_sql covers a SIGKILL with the Parquet converter running. */
  o->olap = 0;
}

static size_t key_of(int k, char *out) {
  return (size_t)sprintf(out, "acct%05d", k);
}

static size_t value_of(int k, uint64_t lsn, uint8_t *out) {
  size_t len = 16 + (size_t)((lsn + (uint64_t)k) % 150);
  for (size_t i = 0; i < len; i++)
    out[i] = (uint8_t)(lsn * 31 + (uint64_t)k + i);
  return len;
}

static void plan_group(qx_db *db, uint64_t *seed, ack *group) {
  uint64_t next = qx_db_last_lsn(db) + 1; /* one writer: LSNs are predictable */
  for (int i = 0; i < GROUP; i++) {
    *seed = *seed * 6364136223846793005u + 1442695040888963407u;
    group[i] =
        (ack){next + (uint64_t)i, (int32_t)((*seed >> 33) % KEYS), (*seed >> 20) % 8 == 0, 1};
  }
}

static int apply(qx_db *db, const ack *a) {
  char key[16];
  uint8_t value[200];
  uint64_t lsn = 0;
  size_t klen = key_of(a->key, key);
  int rc = a->deleted ? qx_db_delete(db, key, klen, QX_DURABILITY_NONE, &lsn)
                      : qx_db_put(db, key, klen, value, value_of(a->key, a->lsn, value),
                                  QX_DURABILITY_NONE, &lsn);
  return rc == QX_OK && lsn == a->lsn ? QX_OK : QX_ERR_INVALID_ARG;
}

static void send(int fd, ack *group, int intent) {
  for (int i = 0; i < GROUP; i++)
    group[i].intent = (int16_t)intent;
  if (write(fd, group, GROUP * sizeof *group) != (ssize_t)(GROUP * sizeof *group)) _exit(6);
}

/* How a cut child dies: at the nth call of kind, under a disk model. */
typedef struct cut {
  qx_fault_rule rule;
  qx_power_loss_model model;
  const char *name;
} cut;

#define MAX_GROUPS 3000 /* a cut child that never reaches its call stops here */
#define NEVER_CUT 7

static size_t keep_every_change(const char *path, size_t unsynced, void *ctx) {
  (void)path;
  (void)ctx;
  return unsynced;
}

static cut random_cut(void) {
  static const struct {
    qx_io_kind kind;
    int most;
  } kinds[] = {{QX_IO_WRITE, 4000},
               {QX_IO_SYNC, 600},
               {QX_IO_CREATE, 40},
               {QX_IO_RENAME, 8},
               {QX_IO_UNLINK, 20}};
  int k = rand() % 5, m = rand() % 3;
  cut c = {.rule = {.kind = kinds[k].kind,
                    .nth = 1 + (uint64_t)(rand() % kinds[k].most),
                    .action = QX_FAULT_POWER_LOSS}};
  if (m == 0) c.name = "strict";
  if (m == 1)
    c.model = (qx_power_loss_model){.names_kept = QX_FAULT_KEEP_ALL_NAMES}, c.name = "names kept";
  if (m == 2)
    c.model = (qx_power_loss_model){.names_kept = QX_FAULT_KEEP_ALL_NAMES,
                                    .written_back = keep_every_change},
    c.name = "written back";
  return c;
}

static void child(const char *dir, int fd, uint64_t seed, const cut *c) {
  if (c) {
    qx_fault_track_power_loss(&c->model);
    qx_fault_arm(&c->rule);
  }
  qx_db_options o;
  options(&o);
  qx_db *db;
  if (qx_db_open(dir, &o, &db, NULL) != QX_OK) _exit(3);
  for (int groups = 0;; groups++) {
    if (c && groups == MAX_GROUPS) _exit(NEVER_CUT);
    ack group[GROUP];
    plan_group(db, &seed, group);
    send(fd, group, 1);
    for (int i = 0; i < GROUP; i++)
      if (apply(db, &group[i]) != QX_OK) _exit(4);
    if (qx_db_wait_durable(db, group[GROUP - 1].lsn, -1) != QX_OK) _exit(5);
    send(fd, group, 0);
  }
}

/* Reads messages until EOF or until stop_after acknowledgements; returns how many. */
static uint64_t read_messages(int fd, knowledge *kn, uint64_t stop_after) {
  ack a;
  uint64_t acked = 0;
  while (acked < stop_after && read(fd, &a, sizeof a) == (ssize_t)sizeof a) {
    if (a.key < 0 || a.key >= KEYS) continue;
    if (a.intent) {
      if (kn->pending_count == GROUP) kn->pending_count = 0;
      kn->pending[kn->pending_count++] = a;
      continue;
    }
    kn->pending_count = 0;
    if (a.lsn > kn->last[a.key].lsn) kn->last[a.key] = a;
    acked++;
  }
  return acked;
}

/* 1 if the group in flight at the kill held a put of key k at lsn. */
static int was_pending_put(const knowledge *kn, int k, uint64_t lsn) {
  for (int i = 0; i < kn->pending_count; i++)
    if (kn->pending[i].key == k && !kn->pending[i].deleted && kn->pending[i].lsn == lsn) return 1;
  return 0;
}

/* The latest pending delete of k, or NULL. */
static const ack *pending_delete(const knowledge *kn, int k) {
  const ack *found = NULL;
  for (int i = 0; i < kn->pending_count; i++)
    if (kn->pending[i].key == k && kn->pending[i].deleted && kn->pending[i].lsn > kn->last[k].lsn)
      found = &kn->pending[i];
  return found;
}

/* Checks key k and then takes what the database holds as the new baseline: an unacknowledged
 * write that survived is part of the state from now on. */
static void check_key(qx_db *db, knowledge *kn, int k) {
  ack *want = &kn->last[k];
  char key[16];
  size_t klen = key_of(k, key);
  qx_db_value v;
  int rc = qx_db_get(db, NULL, key, klen, &v);
  if (rc == QX_ERR_NOT_FOUND) {
    const ack *deleted = pending_delete(kn, k);
    int ok = !want->lsn || want->deleted || deleted;
    if (!ok)
      fprintf(stderr, "acknowledged put of %s at lsn %llu lost\n", key,
              (unsigned long long)want->lsn);
    CHECK(ok);
    if (deleted) *want = *deleted;
    return;
  }
  CHECK_OK(rc);
  if (rc != QX_OK) return;
  int ok = v.lsn == want->lsn ? !want->deleted : v.lsn > want->lsn && was_pending_put(kn, k, v.lsn);
  if (!ok)
    fprintf(stderr, "%s: found lsn %llu, last acknowledged %s at lsn %llu\n", key,
            (unsigned long long)v.lsn, want->deleted ? "delete" : "put",
            (unsigned long long)want->lsn);
  CHECK(ok);
  uint8_t expect[200];
  size_t elen = value_of(k, v.lsn, expect);
  CHECK(v.size == elen && memcmp(v.data, expect, elen) == 0);
  *want = (ack){v.lsn, k, 0, 0};
  qx_db_value_release(&v);
}

static void verify_after_crash(const char *dir, knowledge *kn, uint64_t *orphans) {
  qx_db_options o;
  options(&o);
  qx_db *db;
  qx_db_recovery rec;
  CHECK_OK(qx_db_open(dir, &o, &db, &rec));
  if (check_failures) return;
  *orphans += rec.orphan_files + (rec.torn_manifest_bytes > 0);
  for (int k = 0; k < KEYS; k++)
    check_key(db, kn, k);
  CHECK_OK(qx_db_close(db));
  qx_db_verify_report vr;
  CHECK_OK(qx_db_verify(dir, &vr));
}

typedef struct totals {
  uint64_t acked, interrupted, cuts;
} totals;

static pid_t start_child(const char *dir, int it, const cut *c, int *read_fd) {
  int fds[2];
  CHECK(pipe(fds) == 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    child(dir, fds[1], (uint64_t)it * 7919u + 1, c);
  }
  close(fds[1]);
  *read_fd = fds[0];
  return pid;
}

/* One life of the child ended by SIGKILL after a random number of acknowledgements. */
static void kill_life(const char *dir, int it, knowledge *kn, totals *t) {
  int fd;
  pid_t pid = start_child(dir, it, NULL, &fd);
  /* A blocking read: the child either acknowledges or dies (EOF), so this ends. */
  uint64_t target = 1 + (uint64_t)(rand() % (200 * GROUP));
  uint64_t before_kill = read_messages(fd, kn, target);
  CHECK_EQ_U64(before_kill, target); /* EOF early: the child failed on its own */
  kill(pid, SIGKILL);
  int status;
  waitpid(pid, &status, 0);
  CHECK(WIFSIGNALED(status)); /* the child failing on its own would be a bug too */
  t->acked += before_kill + read_messages(fd, kn, UINT64_MAX);
  close(fd);
}

/* One life of the child ended by a power cut at a file call. */
static void cut_life(const char *dir, int it, knowledge *kn, totals *t) {
  cut c = random_cut();
  int fd;
  pid_t pid = start_child(dir, it, &c, &fd);
  t->acked += read_messages(fd, kn, UINT64_MAX);
  close(fd);
  int status;
  waitpid(pid, &status, 0);
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (code != QX_FAULT_POWER_LOSS_EXIT && code != NEVER_CUT)
    fprintf(stderr, "cut at call %llu of kind %d (%s): child ended with %d\n",
            (unsigned long long)c.rule.nth, (int)c.rule.kind, c.name, code);
  CHECK(code == QX_FAULT_POWER_LOSS_EXIT || code == NEVER_CUT);
  t->cuts += code == QX_FAULT_POWER_LOSS_EXIT;
}

int main(int argc, char **argv) {
  int iterations = argc > 1 ? atoi(argv[1]) : 6;
  const char *mode = argc > 2 ? argv[2] : "both";
  char dir[PATH_MAX];
  test_tmpdir(dir, "db_crash");
  knowledge *kn = calloc(1, sizeof *kn);
  totals t = {0};
  srand(20261125);
  for (int it = 0; it < iterations && check_failures == 0; it++) {
    kn->pending_count = 0;
    int use_cut = strcmp(mode, "cut") == 0 || (strcmp(mode, "both") == 0 && it % 2);
    if (use_cut)
      cut_life(dir, it, kn, &t);
    else
      kill_life(dir, it, kn, &t);
    verify_after_crash(dir, kn, &t.interrupted);
  }
  printf("%d deaths (%llu power cuts), %llu acknowledged writes checked; recovery removed %llu "
         "leftovers of a flush or compaction the death interrupted\n",
         iterations, (unsigned long long)t.cuts, (unsigned long long)t.acked,
         (unsigned long long)t.interrupted);
  CHECK(t.acked > 0);
  if (strcmp(mode, "kill") != 0) CHECK(t.cuts > 0);
  if (iterations >= 50) CHECK(t.interrupted > 0);
  free(kn);
  test_rmtree(dir);
  return test_finish("test_db_crash");
}
