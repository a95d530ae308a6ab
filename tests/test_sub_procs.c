/* Subscribers in other processes than the writer: a gap and duplicate check across writers
 * killed with SIGKILL and restarted, 32 subscribers at once (one of them slow enough to be
 * lapped), the heartbeat telling a stopped or dead writer from a live one, and a subscriber
 * killed and resumed from the LSN after the last record it finished. Every wait is bounded and
 * every kill comes after observed progress. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "dist/ring.h"
#include "qaxdb/sub.h"
#include "qaxdb/wal.h"
#include "sub_util.h"
#include "util/clock.h"

#define SUBSCRIBERS 32
#define PER_WRITER 20000 /* records the subscriber sees from each writer before it is killed */

/* A writer process: appends batches of 1..8 records (sub_test_append's records) until killed,
 * or until limit records, then exits cleanly. */
static pid_t start_writer(const char *dir, uint64_t limit, int then_pause) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  qx_wal *wal = sub_test_reopen_writer(dir);
  uint64_t next = qx_wal_last_lsn(wal) + 1, end = next + limit;
  srand((unsigned)getpid());
  while (next < end) {
    uint64_t n = 1 + (uint64_t)rand() % 8;
    if (sub_test_append(wal, next, n) != QX_OK) _exit(3);
    next += n;
  }
  while (then_pause)
    pause();
  _exit(qx_wal_close(wal) == QX_OK && check_failures == 0 ? 0 : 4);
}

static void kill_and_reap(pid_t pid) {
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
}

static int wait_child(pid_t pid) {
  int status;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Reads records, checking each, until the writer has been killed `kills` times after
 * PER_WRITER records each; then reads to the end of the log. */
static void test_writer_killed(void) {
  char dir[PATH_MAX];
  test_tmpdir(dir, "subprocs-kill");
  pid_t writer = start_writer(dir, UINT64_MAX / 2, 0);
  qx_sub_options o;
  qx_sub_options_init(&o);
  o.start = QX_SUB_OLDEST;
  qx_sub *sub = NULL;
  for (int i = 0; i < 1000 && qx_sub_open(dir, &o, &sub) != QX_OK; i++)
    usleep(10000); /* until the first writer has made the folder */
  CHECK(sub != NULL);
  uint64_t next = 1, seen_from_writer = 0;
  for (int kills = 0; sub && kills < 3;) {
    uint64_t got = sub_test_read(sub, next, 1000);
    CHECK_EQ_U64(got, 1000);
    if (got != 1000) break;
    next += got;
    seen_from_writer += got;
    if (seen_from_writer >= PER_WRITER) {
      kill_and_reap(writer);
      kills++;
      writer = start_writer(dir, UINT64_MAX / 2, 0);
      seen_from_writer = 0;
    }
  }
  kill_and_reap(writer);
  /* The rest: everything the last writer published, which the next writer's open copies from
   * its ring into the files if its flusher had not. */
  qx_wal *last_writer = sub_test_reopen_writer(dir);
  CHECK_OK(qx_wal_close(last_writer));
  qx_wal_recovery rec;
  char wal_dir[PATH_MAX + 8];
  snprintf(wal_dir, sizeof wal_dir, "%s/wal", dir);
  CHECK_OK(qx_wal_scan(wal_dir, 1, NULL, NULL, &rec));
  if (sub && rec.last_lsn >= next)
    CHECK_EQ_U64(sub_test_read(sub, next, rec.last_lsn - next + 1), rec.last_lsn - next + 1);
  qx_wal_entry e;
  if (sub) CHECK_RC(qx_sub_next(sub, &e, 0), QX_ERR_TIMEOUT); /* no duplicate after the end */
  printf("writer killed 3 times: %llu records checked, no gap, no duplicate\n",
         (unsigned long long)rec.last_lsn);
  qx_sub_close(sub);
  test_rmtree(dir);
}

/* Waits (up to 20 s) until the writer has written two rings past next_lsn to its files: the
 * ring no longer holds next_lsn (the writer overwrites only what its flusher wrote out). */
static void fall_behind(qx_sub *sub, uint64_t next_lsn) {
  uint64_t ring_records = sub_test_records_for(QX_RING_MIN_CAPACITY); /* sub_util.c rings */
  for (int i = 0; i < 2000; i++) {
    qx_sub_status st;
    qx_sub_get_status(sub, &st);
    if (st.writer_flushed_lsn >= next_lsn + 2 * ring_records) return;
    usleep(10000);
  }
}

/* One subscriber process: reads count records from LSN 1; a slow one stops after 2000 until the
 * writer has lapped it. */
static pid_t start_subscriber(const char *dir, uint64_t count, int slow) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  qx_sub_options o;
  qx_sub_options_init(&o);
  o.start = QX_SUB_OLDEST;
  qx_sub *sub;
  if (qx_sub_open(dir, &o, &sub) != QX_OK) _exit(2);
  uint64_t next = 1;
  while (next <= count) {
    uint64_t step = count - next + 1 < 2000 ? count - next + 1 : 2000;
    if (sub_test_read(sub, next, step) != step) _exit(1);
    next += step;
    if (slow && next == 2001) fall_behind(sub, next);
  }
  qx_sub_status st;
  qx_sub_get_status(sub, &st);
  qx_sub_close(sub);
  if (held_overwritten)
    printf("subscriber %d: %llu records overwritten while held, reported\n", (int)getpid(),
           (unsigned long long)held_overwritten);
  _exit(slow && st.laps == 0 ? 5 : 0); /* the slow one must have been lapped */
}

static void test_many_subscribers(void) {
  char dir[PATH_MAX];
  uint64_t count = sub_test_records_for(6 * 4 << 20); /* six rings' worth */
  qx_wal *wal = sub_test_open_writer(dir, "subprocs-many");
  CHECK_OK(sub_test_append(wal, 1, 1));
  pid_t subs[SUBSCRIBERS];
  for (int i = 0; i < SUBSCRIBERS; i++)
    subs[i] = start_subscriber(dir, count, i == 0);
  CHECK_OK(sub_test_append(wal, 2, count - 1));
  int ok = 0;
  for (int i = 0; i < SUBSCRIBERS; i++) {
    int rc = wait_child(subs[i]);
    if (rc != 0) fprintf(stderr, "subscriber %d exited with %d\n", i, rc);
    ok += rc == 0;
  }
  CHECK_EQ_U64(ok, SUBSCRIBERS);
  printf("%d subscriber processes read %llu records each, the slow one lapped\n", ok,
         (unsigned long long)count);
  CHECK_OK(qx_wal_close(wal));
  test_rmtree(dir);
}

/* Polls the subscriber's view of the writer until it is `alive`, for up to 10 s. */
static int becomes(qx_sub *sub, int alive) {
  for (int i = 0; i < 1000; i++) {
    qx_sub_status st;
    qx_sub_get_status(sub, &st);
    if (st.writer_alive == alive) return 1;
    usleep(10000);
  }
  return 0;
}

static void test_heartbeat(void) {
  char dir[PATH_MAX];
  test_tmpdir(dir, "subprocs-heartbeat");
  pid_t writer = start_writer(dir, 10, 1);
  qx_sub *sub = NULL;
  for (int i = 0; i < 1000 && qx_sub_open(dir, NULL, &sub) != QX_OK; i++)
    usleep(10000);
  CHECK(sub != NULL);
  if (sub) {
    CHECK(becomes(sub, 1));
    kill(writer, SIGSTOP); /* a stalled writer: its heartbeat ages */
    CHECK(becomes(sub, 0));
    kill(writer, SIGCONT);
    CHECK(becomes(sub, 1));
    kill_and_reap(writer); /* a dead one: its process is gone */
    CHECK(becomes(sub, 0));
  } else {
    kill_and_reap(writer);
  }
  qx_sub_close(sub);
  test_rmtree(dir);
}

/* A subscriber process under the cursor "resume": each record is checked, acknowledged, then
 * reported through fd. */
static pid_t start_reporting_subscriber(const char *dir, int fd) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  qx_sub_options o;
  qx_sub_options_init(&o);
  o.start = QX_SUB_OLDEST; /* for the first one; the next ones resume after its acks */
  snprintf(o.cursor, sizeof o.cursor, "resume");
  qx_sub *sub;
  if (qx_sub_open(dir, &o, &sub) != QX_OK) _exit(2);
  for (;;) {
    qx_sub_status st;
    qx_sub_get_status(sub, &st);
    uint64_t lsn = st.next_lsn;
    if (sub_test_read(sub, lsn, 1) != 1 || qx_sub_ack(sub, lsn) != QX_OK ||
        write(fd, &lsn, sizeof lsn) != sizeof lsn)
      _exit(1);
  }
}

static int acked_of(const qx_sub_cursor_info *info, void *ctx) {
  if (strcmp(info->name, "resume") == 0) *(uint64_t *)ctx = info->acked_lsn;
  return 0;
}

/* Killed after 5000 reports, a subscriber with a named cursor is started again: it goes on right
 * after the last LSN it acknowledged. */
static void test_subscriber_killed(void) {
  char dir[PATH_MAX];
  qx_wal *wal = sub_test_open_writer(dir, "subprocs-resume");
  CHECK_OK(sub_test_append(wal, 1, 50000));
  uint64_t last = 0, acked = 0;
  for (int round = 0; round < 3; round++) {
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t pid = start_reporting_subscriber(dir, fds[1]);
    close(fds[1]);
    uint64_t lsn, reported = 0;
    while (reported < 5000 && read(fds[0], &lsn, sizeof lsn) == sizeof lsn) {
      CHECK_EQ_U64(lsn, round == 0 && reported == 0 ? 1 : acked + 1); /* resumes after the ack */
      acked = last = lsn;
      reported++;
    }
    CHECK_EQ_U64(reported, 5000);
    kill_and_reap(pid);
    while (read(fds[0], &lsn, sizeof lsn) == sizeof lsn) /* reported before it died */
      last = lsn;
    close(fds[0]);
    CHECK_OK(qx_sub_list_cursors(dir, acked_of, &acked));
    CHECK(acked == last || acked == last + 1); /* killed between its ack and its report */
  }
  CHECK(acked >= 15000);
  printf("a subscriber killed 3 times resumed each time right after its last acknowledgement\n");
  CHECK_OK(qx_wal_close(wal));
  test_rmtree(dir);
}

/* Durability `none` is the ring: a writer killed right after its acknowledgements loses none of
 * them, because the next open copies what its flusher had not written from the ring. */
static void test_none_survives_kill(void) {
  char dir[PATH_MAX];
  test_tmpdir(dir, "subprocs-none");
  uint64_t acked = 0, from_ring = 0;
  for (int round = 0; round < 5; round++) {
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t pid = fork();
    if (pid == 0) {
      qx_wal *wal = sub_test_reopen_writer(dir);
      uint64_t first = qx_wal_last_lsn(wal) + 1, last = first + 2000 - 1;
      if (sub_test_append(wal, first, 2000) != QX_OK || write(fds[1], &last, 8) != 8) _exit(1);
      for (;;)
        pause();
    }
    close(fds[1]);
    CHECK(read(fds[0], &acked, 8) == 8);
    close(fds[0]);
    kill_and_reap(pid);
    char wal_dir[PATH_MAX + 8];
    snprintf(wal_dir, sizeof wal_dir, "%s/wal", dir);
    qx_wal_options o;
    qx_wal_options_init(&o);
    o.segment_size = 1u << 20;
    o.ring_size = 4u << 20;
    qx_wal *wal;
    qx_wal_recovery rec;
    CHECK_OK(qx_wal_open(wal_dir, &o, &wal, &rec));
    CHECK_EQ_U64(rec.last_lsn, acked);
    from_ring += rec.ring_records;
    CHECK_OK(qx_wal_close(wal));
  }
  test_replay r = {0};
  char wal_dir[PATH_MAX + 8];
  snprintf(wal_dir, sizeof wal_dir, "%s/wal", dir);
  CHECK_OK(qx_wal_scan(wal_dir, 1, test_replay_visit, &r, NULL));
  CHECK_EQ_U64(r.count, acked);
  CHECK_EQ_U64(r.gaps + r.bad_payload, 0);
  printf("5 writers killed after acknowledging at none: all %llu records kept, %llu of them "
         "copied from the ring by the next open\n",
         (unsigned long long)acked, (unsigned long long)from_ring);
  test_rmtree(dir);
}

int main(void) {
  sub_test_private_shm();
  test_writer_killed();
  test_none_survives_kill();
  test_many_subscribers();
  test_heartbeat();
  test_subscriber_killed();
  sub_test_remove_shm();
  return test_finish("test_sub_procs");
}
