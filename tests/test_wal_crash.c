/* Crash test: a child process appends with `group` durability from two threads and reports
 * every acknowledged LSN to the parent over a pipe; the parent kills it with SIGKILL at a
 * random moment, reopens the log and checks that every acknowledged record is present and
 * intact and that the LSNs are gap-free. Usage: test_wal_crash [ITERATIONS] [SEED]. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "qaxdb/wal.h"
#include "util/clock.h"
#include "wal_util.h"

#define CHILD_WRITERS 2
#define SEGMENT_SIZE (128u << 10) /* small, so kills also land around rotations */

/* What the child reports for one acknowledged append (written atomically: < PIPE_BUF). */
typedef struct ack {
  uint64_t lsn;
  uint64_t seq;
  uint32_t stream;
  uint32_t pad;
} ack;

typedef struct child_writer {
  qx_wal *wal;
  uint32_t stream;
  uint64_t first_seq;
  int report_fd;
} child_writer;

static void *child_writer_main(void *p) {
  child_writer *cw = p;
  uint8_t buf[TEST_PAYLOAD_MAX];
  for (uint64_t seq = cw->first_seq;; seq++) {
    qx_wal_record rec = {1, 1, test_payload(cw->stream, seq, buf), 0, buf};
    ack a = {0, seq, cw->stream, 0};
    if (qx_wal_append(cw->wal, &rec, QX_DURABILITY_GROUP, &a.lsn) != QX_OK) _exit(3);
    if (write(cw->report_fd, &a, sizeof a) != (ssize_t)sizeof a) _exit(4);
  }
  return NULL;
}

/* Runs until killed. Streams continue their sequence across runs (iteration * 2^32). */
static void run_child(const char *dir, int report_fd, uint64_t iteration) {
  qx_wal_options opt;
  qx_wal_options_init(&opt);
  opt.segment_size = SEGMENT_SIZE;
  qx_wal *wal;
  if (qx_wal_open(dir, &opt, &wal, NULL) != QX_OK) {
    fprintf(stderr, "child: open failed: %s\n", qx_last_error());
    _exit(2);
  }
  pthread_t threads[CHILD_WRITERS];
  child_writer writers[CHILD_WRITERS];
  for (uint32_t i = 0; i < CHILD_WRITERS; i++) {
    writers[i] = (child_writer){wal, i, iteration << 32, report_fd};
    pthread_create(&threads[i], NULL, child_writer_main, &writers[i]);
  }
  for (;;)
    pause();
}

typedef struct ack_log {
  ack *items;
  size_t count, cap;
} ack_log;

static void read_acks(int fd, ack_log *log, int64_t until_ns) {
  for (;;) {
    int64_t left_ms = (until_ns - qx_monotonic_ns()) / 1000000;
    if (until_ns && left_ms <= 0) return;
    struct pollfd pfd = {fd, POLLIN, 0};
    if (poll(&pfd, 1, until_ns ? (int)left_ms : 0) <= 0) return;
    if (log->count == log->cap) {
      log->cap = log->cap ? log->cap * 2 : 4096;
      log->items = realloc(log->items, log->cap * sizeof *log->items);
    }
    ssize_t n = read(fd, &log->items[log->count], sizeof(ack));
    if (n == 0) return;
    if (n == (ssize_t)sizeof(ack))
      log->count++;
    else if (n > 0)
      CHECK(!"short read from the child's pipe");
  }
}

typedef struct recovered {
  uint64_t first_lsn, count;
  uint64_t capacity;
  uint64_t *seq_of;    /* [lsn] = seq, valid where stream_of is set */
  uint32_t *stream_of; /* [lsn] = stream + 1; 0: not seen */
  test_replay replay;
} recovered;

static int remember(const qx_wal_entry *e, void *ctx) {
  recovered *r = ctx;
  test_replay_visit(e, &r->replay);
  uint32_t stream;
  uint64_t seq;
  if (e->lsn < r->capacity && test_payload_valid(e->data, e->size, &stream, &seq)) {
    r->stream_of[e->lsn] = stream + 1;
    r->seq_of[e->lsn] = seq;
  }
  return 0;
}

/* Reopens the log as the next writer would and checks every acknowledgement against it. */
static void verify(const char *dir, const ack_log *acks, uint64_t iteration) {
  qx_wal_options opt;
  qx_wal_options_init(&opt);
  opt.segment_size = SEGMENT_SIZE;
  qx_wal *wal;
  qx_wal_recovery rec;
  CHECK_OK(qx_wal_open(dir, &opt, &wal, &rec));
  if (check_failures) return;
  recovered r = {0};
  r.capacity = rec.last_lsn + 1;
  r.seq_of = calloc(r.capacity, sizeof *r.seq_of);
  r.stream_of = calloc(r.capacity, sizeof *r.stream_of);
  CHECK_OK(qx_wal_replay(wal, 1, remember, &r));
  CHECK_EQ_U64(r.replay.count, rec.last_lsn);
  CHECK_EQ_U64(r.replay.gaps, 0);
  CHECK_EQ_U64(r.replay.bad_payload, 0);
  uint64_t lost = 0;
  for (size_t i = 0; i < acks->count; i++) {
    const ack *a = &acks->items[i];
    if (a->lsn >= r.capacity || r.stream_of[a->lsn] != a->stream + 1 || r.seq_of[a->lsn] != a->seq)
      lost++;
  }
  CHECK_EQ_U64(lost, 0);
  printf("iteration %llu: %zu acknowledged, %llu in the log, torn tail %llu bytes\n",
         (unsigned long long)iteration, acks->count, (unsigned long long)rec.last_lsn,
         (unsigned long long)rec.truncated_bytes);
  CHECK_OK(qx_wal_close(wal));
  free(r.seq_of);
  free(r.stream_of);
}

static void crash_once(const char *dir, uint64_t iteration, ack_log *acks) {
  int fds[2];
  CHECK(pipe(fds) == 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    run_child(dir, fds[1], iteration);
  }
  close(fds[1]);
  int64_t run_ns = (int64_t)(5 + rand() % 120) * 1000000; /* 5..125 ms, open included */
  uint64_t before = acks->count;
  read_acks(fds[0], acks, qx_monotonic_ns() + run_ns);
  /* A slow open (sanitizers, a loaded machine) must not turn the run into a kill before any
   * write: wait for the first acknowledgement, then kill at once. */
  struct pollfd first = {fds[0], POLLIN, 0};
  if (acks->count == before && poll(&first, 1, 10000) > 0) read_acks(fds[0], acks, 0);
  kill(pid, SIGKILL);
  int status;
  waitpid(pid, &status, 0);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL); /* died of the kill, no error */
  read_acks(fds[0], acks, 0); /* everything written before the kill is acknowledged */
  close(fds[0]);
}

int main(int argc, char **argv) {
  uint64_t iterations = argc > 1 ? strtoull(argv[1], NULL, 10) : 5;
  unsigned seed = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : (unsigned)time(NULL);
  printf("test_wal_crash: %llu iterations, seed %u\n", (unsigned long long)iterations, seed);
  srand(seed);
  char dir[PATH_MAX];
  test_tmpdir(dir, "wal-crash");
  ack_log acks = {0};
  for (uint64_t i = 1; i <= iterations && !check_failures; i++) {
    crash_once(dir, i, &acks);
    verify(dir, &acks, i);
  }
  CHECK(acks.count > 0);
  free(acks.items);
  test_rmtree(dir);
  return test_finish("test_wal_crash");
}
