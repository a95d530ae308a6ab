/* Simulated power loss through the file I/O layer (src/util/io_fault.h). First the layer itself:
 * counting and failing calls, and what survives a cut (synced data, durable names) for appended,
 * preallocated and truncated files, creates, renames, unlinks and mkdirs. Then the WAL: over many
 * trigger points, nothing acknowledged at `group` is lost and no batch is left in part; at `none`
 * a cut leaves a torn tail, never corruption, including a segment rename that outlived the
 * previous segment's lost tail (issue #12, item 7, first reproduced on its own). Every cut
 * happens in a forked child, which exits with QX_FAULT_POWER_LOSS_EXIT; the parent then reopens
 * the folder. Usage: test_power_loss [ITERATIONS] [SEED]. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "qaxdb/wal.h"
#include "util/fileio.h"
#include "util/io.h"
#include "util/io_fault.h"
#include "wal_util.h"

#if defined(__SANITIZE_THREAD__)
/* A power cut ends a child with _exit while its writer threads run, and a writer that finished
 * first is then never joined: ThreadSanitizer calls that a thread leak, and it is the test's
 * design, not a bug (it made the child's exit status 66 instead of the power loss's). */
const char *__tsan_default_options(void);
const char *__tsan_default_options(void) {
  return "report_thread_leaks=0";
}
#endif

#define SEGMENT_SIZE (64u << 10) /* small: every run rotates several times */

/* ---- helpers ------------------------------------------------------------------------------ */

/* Writes a file with plain system calls and syncs it and its directory: durable before any test
 * arms the layer. */
static void put_file(const char *dir, const char *name, const void *data, size_t n) {
  char path[PATH_MAX];
  test_join(path, dir, name);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  CHECK(fd >= 0 && pwrite(fd, data, n, 0) == (ssize_t)n && fsync(fd) == 0);
  close(fd);
  CHECK_OK(qx_fsync_dir(dir));
}

/* 1 if dir/name holds exactly the n bytes at data; prints what differs otherwise. */
static int file_is(const char *dir, const char *name, const void *data, size_t n) {
  char path[PATH_MAX];
  test_join(path, dir, name);
  uint8_t buf[SEGMENT_SIZE];
  int fd = open(path, O_RDONLY);
  ssize_t got = fd >= 0 ? pread(fd, buf, sizeof buf, 0) : -1;
  if (fd >= 0) close(fd);
  int same = got == (ssize_t)n && memcmp(buf, data, n) == 0;
  if (!same) fprintf(stderr, "%s: %zd bytes, expected %zu\n", path, got, n);
  return same;
}

static int exists(const char *dir, const char *name) {
  char path[PATH_MAX];
  test_join(path, dir, name);
  return access(path, F_OK) == 0;
}

static int open_in(const char *dir, const char *name, int flags) {
  char path[PATH_MAX];
  test_join(path, dir, name);
  return qx_io_open(path, flags | O_CLOEXEC, 0644);
}

/* Runs fn(arg, report_fd) in a child whose power is cut; collects up to cap bytes the child
 * wrote to report_fd; returns the child's exit status (-1 if a signal ended it). */
static int run_cut(void (*fn)(void *, int), void *arg, void *reports, size_t cap, size_t *got) {
  int fds[2];
  CHECK(pipe(fds) == 0);
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    fn(arg, fds[1]);
    if (check_failures) _exit(1);
    qx_fault_power_loss();
  }
  close(fds[1]);
  size_t n = 0;
  for (ssize_t r; (r = read(fds[0], (char *)reports + n, cap - n)) > 0;)
    n += (size_t)r;
  close(fds[0]);
  if (got) *got = n;
  int status;
  CHECK(waitpid(pid, &status, 0) == pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---- the layer: counting and failing ------------------------------------------------------ */

static void *write_once(void *fd) {
  return (void *)(intptr_t)qx_io_pwrite(*(int *)fd, "t", 1, 20);
}

static void test_counts_and_failures(void) {
  char dir[PATH_MAX], path[PATH_MAX], moved[PATH_MAX];
  test_tmpdir(dir, "io-fail");
  test_join(path, dir, "f");
  test_join(moved, dir, "g");
  qx_fault_reset();
  qx_fault_count_calls();
  int fd = open_in(dir, "f", O_RDWR | O_CREAT);
  CHECK(fd >= 0);
  for (int i = 0; i < 3; i++)
    CHECK(qx_io_pwrite(fd, "abcd", 4, i * 4) == 4);
  CHECK(qx_io_fdatasync(fd) == 0);
  CHECK_EQ_U64(qx_fault_calls(QX_IO_CREATE), 1);
  CHECK_EQ_U64(qx_fault_calls(QX_IO_WRITE), 3);
  CHECK_EQ_U64(qx_fault_thread_calls(QX_IO_WRITE), 3);
  CHECK_EQ_U64(qx_fault_calls(QX_IO_SYNC), 1);

  qx_fault_arm(&(qx_fault_rule){.kind = QX_IO_WRITE, .nth = 2, .error = ENOSPC});
  CHECK(qx_io_pwrite(fd, "1111", 4, 0) == 4);
  errno = 0;
  CHECK(qx_io_pwrite(fd, "2222", 4, 4) == -1 && errno == ENOSPC); /* the 2nd: fails, no bytes */
  CHECK(qx_io_pwrite(fd, "3333", 4, 8) == 4);                     /* once only */
  CHECK(file_is(dir, "f", "1111abcd3333", 12));

  qx_fault_arm(&(qx_fault_rule){.kind = QX_IO_WRITE, .nth = 1, .error = EIO, .persist = 1});
  CHECK(qx_io_pwrite(fd, "x", 1, 0) == -1 && errno == EIO);
  CHECK(qx_io_pwrite(fd, "x", 1, 0) == -1 && errno == EIO);

  qx_fault_arm(&(qx_fault_rule){.kind = QX_IO_WRITE, .nth = 1, .action = QX_FAULT_SHORT});
  CHECK(qx_io_pwrite(fd, "ABCDEFGH", 8, 0) == 4); /* half of it reaches the file */
  CHECK(file_is(dir, "f", "ABCDabcd3333", 12));

  qx_fault_arm(&(qx_fault_rule){.kind = QX_IO_WRITE, .nth = 1, .error = EIO, .this_thread = 1});
  pthread_t other;
  void *other_result;
  pthread_create(&other, NULL, write_once, &fd);
  pthread_join(other, &other_result);
  CHECK((intptr_t)other_result == 1); /* another thread's call does not count */
  CHECK(qx_io_pwrite(fd, "y", 1, 0) == -1 && errno == EIO);

  qx_fault_arm(&(qx_fault_rule){.kind = QX_IO_SYNC, .nth = 1, .error = EIO});
  CHECK(qx_io_fsync(fd) == -1 && errno == EIO);
  qx_fault_arm(&(qx_fault_rule){.kind = QX_IO_FALLOCATE, .nth = 1, .error = ENOSPC});
  CHECK(qx_io_posix_fallocate(fd, 0, 1 << 20) == ENOSPC && test_file_size(path) == 21);
  qx_fault_arm(&(qx_fault_rule){.kind = QX_IO_TRUNCATE, .nth = 1, .error = EIO});
  CHECK(qx_io_ftruncate(fd, 0) == -1 && test_file_size(path) == 21);
  qx_fault_arm(&(qx_fault_rule){.kind = QX_IO_RENAME, .nth = 1, .error = EIO});
  CHECK(qx_io_rename(path, moved) == -1 && errno == EIO && exists(dir, "f"));
  qx_fault_arm(&(qx_fault_rule){.kind = QX_IO_UNLINK, .nth = 1, .error = EIO});
  CHECK(qx_io_unlink(path) == -1 && exists(dir, "f"));
  qx_fault_arm(&(qx_fault_rule){.kind = QX_IO_CREATE, .nth = 1, .error = ENOSPC});
  CHECK(open_in(dir, "new", O_WRONLY | O_CREAT) == -1 && errno == ENOSPC && !exists(dir, "new"));

  qx_fault_reset(); /* a pass-through again, counting nothing */
  CHECK(qx_io_pwrite(fd, "z", 1, 0) == 1 && qx_io_rename(path, moved) == 0);
  CHECK_EQ_U64(qx_fault_calls(QX_IO_WRITE) + qx_fault_calls(QX_IO_RENAME), 0);
  close(fd);
  test_rmtree(dir);
}

/* ---- the layer: what survives a power loss ------------------------------------------------ */

static const char base[] = "base";
static uint8_t pattern[1000];

/* Files the data test starts from, all durable before the layer is armed. */
static void make_data_files(const char *dir) {
  for (size_t i = 0; i < sizeof pattern; i++)
    pattern[i] = (uint8_t)(i * 7 + 1);
  put_file(dir, "appended", base, 4);
  static uint8_t zeros[SEGMENT_SIZE];
  put_file(dir, "prealloc", zeros, sizeof zeros);
  put_file(dir, "truncated", pattern, sizeof pattern);
  put_file(dir, "rewritten", pattern, sizeof pattern);
}

static void change_data_files(void *dir_arg, int report_fd) {
  (void)report_fd;
  const char *dir = dir_arg;
  qx_fault_track_power_loss(&(qx_power_loss_model){0});
  int fd = open_in(dir, "appended", O_WRONLY);
  CHECK(qx_io_pwrite(fd, "AAAA", 4, 4) == 4 && qx_io_fdatasync(fd) == 0);
  CHECK(qx_io_pwrite(fd, "BBBB", 4, 8) == 4); /* never synced */
  fd = open_in(dir, "prealloc", O_WRONLY);
  CHECK(qx_io_pwrite(fd, "X", 1, 100) == 1 && qx_io_fdatasync(fd) == 0);
  CHECK(qx_io_pwrite(fd, "Y", 1, 200) == 1);
  CHECK(qx_io_posix_fallocate(fd, 0, 2 * SEGMENT_SIZE) == 0);
  fd = open_in(dir, "truncated", O_WRONLY);
  CHECK(qx_io_ftruncate(fd, 10) == 0 && qx_io_pwrite(fd, "T", 1, 500) == 1);
  fd = open_in(dir, "rewritten", O_WRONLY | O_TRUNC);
  CHECK(qx_io_pwrite(fd, "new", 3, 0) == 3);
}

static void test_unsynced_data_is_lost(void) {
  char dir[PATH_MAX];
  test_tmpdir(dir, "io-data");
  make_data_files(dir);
  CHECK_EQ_U64(run_cut(change_data_files, dir, NULL, 0, NULL), QX_FAULT_POWER_LOSS_EXIT);
  CHECK(file_is(dir, "appended", "baseAAAA", 8)); /* synced append kept, the later one lost */
  uint8_t expected[SEGMENT_SIZE] = {0};
  expected[100] = 'X'; /* preallocated, zero-filled: the unsynced write reads as zero again */
  CHECK(file_is(dir, "prealloc", expected, sizeof expected));
  CHECK(file_is(dir, "truncated", pattern, sizeof pattern));
  CHECK(file_is(dir, "rewritten", pattern, sizeof pattern));
  test_rmtree(dir);
}

/* Directory operations, none followed by an fsync of the directory except "kept"'s create. */
typedef struct names_run {
  const char *dir;
  size_t names_kept;
} names_run;

static void change_names(void *arg, int report_fd) {
  (void)report_fd;
  const names_run *run = arg;
  const char *dir = run->dir;
  qx_fault_track_power_loss(&(qx_power_loss_model){.names_kept = run->names_kept});
  int fd = open_in(dir, "kept", O_WRONLY | O_CREAT);
  CHECK(qx_io_pwrite(fd, "kept", 4, 0) == 4 && qx_io_fdatasync(fd) == 0);
  CHECK_OK(qx_fsync_dir(dir));
  fd = open_in(dir, "new", O_WRONLY | O_CREAT);
  CHECK(qx_io_pwrite(fd, "new", 3, 0) == 3 && qx_io_fdatasync(fd) == 0); /* data synced */
  fd = open_in(dir, "tmp", O_WRONLY | O_CREAT);
  CHECK(qx_io_pwrite(fd, "tmp", 3, 0) == 3 && qx_io_fdatasync(fd) == 0);
  char from[PATH_MAX], to[PATH_MAX], sub[PATH_MAX];
  test_join(from, dir, "tmp");
  test_join(to, dir, "target");
  CHECK(qx_io_rename(from, to) == 0); /* replaces target */
  test_join(from, dir, "victim");
  CHECK(qx_io_unlink(from) == 0);
  test_join(sub, dir, "sub");
  CHECK(qx_io_mkdir(sub, 0755) == 0);
  fd = open_in(dir, "unsynced", O_WRONLY | O_CREAT);
  CHECK(qx_io_pwrite(fd, "lost", 4, 0) == 4); /* data never synced */
}

static void test_names(size_t names_kept) {
  char dir[PATH_MAX];
  test_tmpdir(dir, "io-names");
  put_file(dir, "target", "target-old", 10);
  put_file(dir, "victim", "victim", 6);
  names_run run = {dir, names_kept};
  CHECK_EQ_U64(run_cut(change_names, &run, NULL, 0, NULL), QX_FAULT_POWER_LOSS_EXIT);
  CHECK(file_is(dir, "kept", "kept", 4)); /* its directory was synced */
  if (names_kept == 0) {                  /* the strict reading: every unsynced name is undone */
    CHECK(!exists(dir, "new") && !exists(dir, "tmp") && !exists(dir, "sub"));
    CHECK(!exists(dir, "unsynced"));
    CHECK(file_is(dir, "target", "target-old", 10));
    CHECK(file_is(dir, "victim", "victim", 6));
  } else { /* every name kept; data only where it was synced */
    CHECK(file_is(dir, "new", "new", 3) && !exists(dir, "tmp") && exists(dir, "sub"));
    CHECK(file_is(dir, "unsynced", "", 0));
    CHECK(file_is(dir, "target", "tmp", 3));
    CHECK(!exists(dir, "victim"));
  }
  test_rmtree(dir);
}

/* With `written_back`, the disk keeps the oldest of a file's unsynced changes. */
static size_t keep_one(const char *path, size_t unsynced, void *ctx) {
  (void)ctx;
  return strstr(path, "partial") && unsynced > 0 ? 1 : 0;
}

static void change_partly(void *dir_arg, int report_fd) {
  (void)report_fd;
  qx_fault_track_power_loss(&(qx_power_loss_model){.written_back = keep_one});
  int fd = open_in(dir_arg, "partial", O_WRONLY);
  CHECK(qx_io_pwrite(fd, "11", 2, 4) == 2 && qx_io_pwrite(fd, "22", 2, 6) == 2);
  fd = open_in(dir_arg, "appended", O_WRONLY);
  CHECK(qx_io_pwrite(fd, "33", 2, 4) == 2);
}

static void test_written_back(void) {
  char dir[PATH_MAX];
  test_tmpdir(dir, "io-writeback");
  put_file(dir, "partial", base, 4);
  put_file(dir, "appended", base, 4);
  CHECK_EQ_U64(run_cut(change_partly, dir, NULL, 0, NULL), QX_FAULT_POWER_LOSS_EXIT);
  CHECK(file_is(dir, "partial", "base11", 6));
  CHECK(file_is(dir, "appended", base, 4));
  test_rmtree(dir);
}

/* ---- the WAL ------------------------------------------------------------------------------ */

#define WRITERS 2
#define BATCHES_PER_WRITER 30

typedef struct wal_run {
  const char *dir;
  qx_fault_rule rule; /* nth 0: no trigger; the child cuts the power when its writers are done */
  qx_power_loss_model model;
  int group_every; /* every group_every-th batch is appended at `group`, the others at `none` */
  uint64_t first_batch;
  unsigned seed;
} wal_run;

/* What the child reports for each acknowledged batch (written atomically: < PIPE_BUF). */
typedef struct ack {
  test_batch batch;
  uint32_t group; /* acknowledged at `group` */
  uint32_t pad;
} ack;

typedef struct child_writer {
  const wal_run *run;
  qx_wal *wal;
  uint32_t writer;
  int report_fd;
} child_writer;

static void *child_writer_main(void *p) {
  child_writer *cw = p;
  unsigned seed = cw->run->seed + cw->writer;
  for (uint64_t k = 0; k < BATCHES_PER_WRITER; k++) {
    ack a = {{cw->writer, 1 + (uint32_t)(rand_r(&seed) % 40), cw->run->first_batch + k, 0}, 0, 0};
    a.group = k % (uint64_t)cw->run->group_every == 0;
    int rc =
        test_append_batch(cw->wal, &a.batch, a.group ? QX_DURABILITY_GROUP : QX_DURABILITY_NONE);
    if (rc != QX_OK) {
      fprintf(stderr, "child: append failed: %s\n", qx_last_error());
      _exit(3);
    }
    if (write(cw->report_fd, &a, sizeof a) != (ssize_t)sizeof a) _exit(4);
  }
  return NULL;
}

static qx_wal_options small_segments(void) {
  qx_wal_options opt;
  qx_wal_options_init(&opt);
  opt.segment_size = SEGMENT_SIZE;
  return opt;
}

static void wal_child(void *arg, int report_fd) {
  const wal_run *run = arg;
  qx_fault_track_power_loss(&run->model);
  if (run->rule.nth) qx_fault_arm(&run->rule);
  qx_wal_options opt = small_segments();
  qx_wal *wal;
  if (qx_wal_open(run->dir, &opt, &wal, NULL) != QX_OK) {
    fprintf(stderr, "child: open failed: %s\n", qx_last_error());
    _exit(2);
  }
  pthread_t threads[WRITERS];
  child_writer writers[WRITERS];
  for (uint32_t i = 0; i < WRITERS; i++) {
    writers[i] = (child_writer){run, wal, i, report_fd};
    pthread_create(&threads[i], NULL, child_writer_main, &writers[i]);
  }
  for (int i = 0; i < WRITERS; i++)
    pthread_join(threads[i], NULL);
}

/* Counts each kind of call a run makes from an empty log, with no power loss. */
static void count_calls(uint64_t counts[QX_IO_KINDS]) {
  char dir[PATH_MAX];
  test_tmpdir(dir, "power-count");
  int fds[2];
  CHECK(pipe(fds) == 0);
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) { /* in a child, so that the parent never starts WAL threads before forking */
    close(fds[0]);
    qx_fault_count_calls();
    wal_run run = {.dir = dir, .group_every = 1, .seed = 1};
    int null_fd = open("/dev/null", O_WRONLY);
    wal_child(&run, null_fd);
    for (int k = 0; k < QX_IO_KINDS; k++)
      counts[k] = qx_fault_calls((qx_io_kind)k);
    _exit(write(fds[1], counts, QX_IO_KINDS * sizeof *counts) > 0 ? 0 : 1);
  }
  close(fds[1]);
  CHECK(read(fds[0], counts, QX_IO_KINDS * sizeof *counts) ==
        (ssize_t)(QX_IO_KINDS * sizeof *counts));
  close(fds[0]);
  waitpid(pid, NULL, 0);
  test_rmtree(dir);
}

typedef struct power_stats {
  uint64_t runs, acked_group, cut_bytes, dropped_segments;
} power_stats;

/* Cuts the power once as run says, then reopens and checks every `group` acknowledgement. */
static void cut_and_check(const wal_run *run, power_stats *stats) {
  static ack acks[WRITERS * BATCHES_PER_WRITER];
  size_t got = 0;
  int status = run_cut(wal_child, (void *)run, acks, sizeof acks, &got);
  CHECK_EQ_U64(status, QX_FAULT_POWER_LOSS_EXIT);
  qx_wal_options opt = small_segments();
  qx_wal *wal;
  qx_wal_recovery rec;
  CHECK_OK(qx_wal_open(run->dir, &opt, &wal, &rec));
  if (check_failures) return;
  test_batch_log log;
  CHECK_OK(test_batch_log_read(wal, &log));
  CHECK_EQ_U64(log.replay.count, rec.last_lsn);
  CHECK_EQ_U64(log.replay.gaps + log.replay.bad_payload, 0);
  CHECK_EQ_U64(log.partial_batches, 0);
  for (size_t i = 0; i < got / sizeof(ack); i++) {
    if (!acks[i].group) continue;
    stats->acked_group++;
    if (!test_batch_log_has(&log, &acks[i].batch)) {
      fprintf(stderr, "acknowledged batch %llu of writer %u (LSN ..%llu) lost\n",
              (unsigned long long)acks[i].batch.batch, acks[i].batch.writer,
              (unsigned long long)acks[i].batch.last_lsn);
      CHECK(!"an acknowledged batch was lost");
    }
  }
  stats->runs++;
  stats->cut_bytes += rec.truncated_bytes;
  stats->dropped_segments += rec.dropped_segments;
  test_batch_log_free(&log);
  CHECK_OK(qx_wal_close(wal));
}

static const qx_io_kind trigger_kinds[] = {QX_IO_WRITE, QX_IO_SYNC, QX_IO_RENAME, QX_IO_CREATE,
                                           QX_IO_FALLOCATE};
#define TRIGGER_KINDS (sizeof trigger_kinds / sizeof trigger_kinds[0])

static size_t random_writeback(const char *path, size_t unsynced, void *seed) {
  (void)path;
  return (size_t)rand_r(seed) % (unsynced + 1);
}

/* One power-loss run per iteration on a log that carries over from run to run (so recovery
 * itself runs under the trigger too): the trigger kind rotates through writes, syncs, renames,
 * creates and preallocations, each at a random call, and the model through strict names, kept
 * names, and random names kept and pages written back. */
static void power_loss_runs(const char *tag, int group_every, uint64_t iterations,
                            power_stats *stats) {
  uint64_t counts[QX_IO_KINDS] = {0};
  count_calls(counts);
  char dir[PATH_MAX];
  test_tmpdir(dir, tag);
  for (uint64_t i = 0; i < iterations && !check_failures; i++) {
    unsigned writeback_seed = (unsigned)rand();
    wal_run run = {
        .dir = dir, .group_every = group_every, .first_batch = i * 1000, .seed = (unsigned)rand()};
    qx_io_kind kind = trigger_kinds[i % TRIGGER_KINDS];
    uint64_t calls = counts[kind] ? counts[kind] : 1;
    run.rule = (qx_fault_rule){
        .kind = kind, .nth = 1 + (uint64_t)rand() % calls, .action = QX_FAULT_POWER_LOSS};
    switch (i / TRIGGER_KINDS % 3) {
    case 0:
      run.model = (qx_power_loss_model){0};
      break;
    case 1:
      run.model = (qx_power_loss_model){.names_kept = QX_FAULT_KEEP_ALL_NAMES};
      break;
    default:
      run.model = (qx_power_loss_model){(size_t)rand() % 4, random_writeback, &writeback_seed};
    }
    cut_and_check(&run, stats);
  }
  if (!check_failures) test_rmtree(dir);
}

static void print_stats(const char *what, const power_stats *stats) {
  printf("%s: %llu power losses, %llu batches acknowledged at group, all there; torn tails of "
         "%llu bytes and %llu segments cut, never a corruption\n",
         what, (unsigned long long)stats->runs, (unsigned long long)stats->acked_group,
         (unsigned long long)stats->cut_bytes, (unsigned long long)stats->dropped_segments);
}

static void test_group_loses_nothing_acknowledged(uint64_t iterations) {
  power_stats stats = {0};
  power_loss_runs("power-group", 1, iterations, &stats);
  print_stats("group", &stats);
  CHECK(stats.acked_group > 0);
}

/* Mostly `none` (every fourth batch at `group`): a cut leaves a torn tail, lost tails of full
 * segments among them (item 7), and open never reports corruption. */
static void test_none_reopens_with_torn_tail(uint64_t iterations) {
  power_stats stats = {0};
  power_loss_runs("power-none", 4, iterations, &stats);
  print_stats("none", &stats);
  CHECK(stats.acked_group > 0);
}

/* ---- item 7: a rename outlives the previous segment's lost tail ----------------------------- */

static size_t lose_first_segment(const char *path, size_t unsynced, void *ctx) {
  (void)ctx;
  size_t n = strlen(path);
  return n >= 24 && strcmp(path + n - 24, "00000000000000000001.wal") == 0 ? 0 : unsynced;
}

/* The second segment's name and header reach the disk (kept names, written back), the first
 * segment's unsynced tail does not. A `group` batch fills most of the first segment, then a
 * `none` batch rotates twice; the power goes at the writer's first sync in it. The second
 * rotation always creates its segment in place and syncs it (the spare cannot be prepared while
 * the batch holds the log), so that sync comes whether the first rotation renamed the spare
 * into place (the usual case: the first rotation then kept the second segment's header and
 * entries) or created the segment itself (then it is blank). */
static void cut_after_rotation(void *dir, int report_fd) {
  (void)report_fd;
  qx_fault_track_power_loss(
      &(qx_power_loss_model){QX_FAULT_KEEP_ALL_NAMES, lose_first_segment, NULL});
  qx_wal_options opt = small_segments();
  qx_wal *wal;
  if (qx_wal_open(dir, &opt, &wal, NULL) != QX_OK) _exit(2);
  test_batch acked = {0, 150, 1, 0}, rotating = {0, 300, 2, 0};
  if (test_append_batch(wal, &acked, QX_DURABILITY_GROUP) != QX_OK) _exit(3);
  qx_fault_arm(&(qx_fault_rule){
      .kind = QX_IO_SYNC, .nth = 1, .action = QX_FAULT_POWER_LOSS, .this_thread = 1});
  test_append_batch(wal, &rotating, QX_DURABILITY_NONE);
  _exit(5); /* the cut did not come */
}

static int count_segments(const char *dir) {
  struct dirent **names;
  int n = scandir(dir, &names, NULL, alphasort), segments = 0;
  for (int i = 0; i < n; i++) {
    segments += strstr(names[i]->d_name, ".wal") != NULL;
    free(names[i]);
  }
  free(names);
  return segments;
}

static void test_none_rename_outlives_lost_tail(void) {
  char dir[PATH_MAX], first[PATH_MAX];
  test_tmpdir(dir, "power-item7");
  test_join(first, dir, "00000000000000000001.wal");
  CHECK_EQ_U64(run_cut(cut_after_rotation, dir, NULL, 0, NULL), QX_FAULT_POWER_LOSS_EXIT);
  int segments = count_segments(dir);
  CHECK(segments >= 2); /* a rotation's name survived the first segment's tail */
  qx_wal_options opt = small_segments();
  qx_wal *wal;
  qx_wal_recovery rec;
  CHECK_OK(qx_wal_open(dir, &opt, &wal, &rec)); /* a torn tail, not corruption */
  if (check_failures) return;
  CHECK_EQ_U64(rec.last_lsn, 150);
  CHECK_EQ_U64(rec.dropped_segments, segments - 1);
  CHECK_STR(rec.truncated_file, first);
  CHECK_EQ_U64(count_segments(dir), 1);
  test_batch_log log;
  CHECK_OK(test_batch_log_read(wal, &log));
  test_batch acked = {0, 150, 1, 150};
  CHECK(log.replay.count == 150 && test_batch_log_has(&log, &acked) && !log.partial_batches);
  test_batch_log_free(&log);
  test_batch after = {0, 100, 3, 0};
  CHECK_OK(test_append_batch(wal, &after, QX_DURABILITY_GROUP)); /* rotates again */
  CHECK_EQ_U64(after.last_lsn, 250);
  CHECK_OK(qx_wal_close(wal));
  CHECK_OK(qx_wal_open(dir, &opt, &wal, &rec));
  CHECK(rec.last_lsn == 250 && rec.truncated_bytes == 0 && rec.dropped_segments == 0);
  CHECK_OK(qx_wal_close(wal));
  test_rmtree(dir);
}

#ifdef __SANITIZE_THREAD__
#define DEFAULT_ITERATIONS 4 /* under ThreadSanitizer each forked run costs about a second */
#else
#define DEFAULT_ITERATIONS 30
#endif

int main(int argc, char **argv) {
  uint64_t iterations = argc > 1 ? strtoull(argv[1], NULL, 10) : DEFAULT_ITERATIONS;
  unsigned seed = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : (unsigned)time(NULL);
  printf("test_power_loss: %llu iterations, seed %u\n", (unsigned long long)iterations, seed);
  srand(seed);
  test_counts_and_failures();
  test_unsynced_data_is_lost();
  test_names(0);
  test_names(QX_FAULT_KEEP_ALL_NAMES);
  test_written_back();
  test_none_rename_outlives_lost_tail();
  test_group_loses_nothing_acknowledged(iterations);
  test_none_reopens_with_torn_tail(iterations);
  return test_finish("test_power_loss");
}
