/* qaxdb-bench-dist: compares the qaxdb log ring and its subscribers (qaxdb/sub.h) with iceoryx
 * 2.0.3 at moving 128-byte records from a writer process to subscriber processes: one-way
 * latency, throughput with batches, and the writer's own latency with subscribers attached. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <iceoryx_binding_c/config.h>
#include <iceoryx_binding_c/log.h>
#include <iceoryx_binding_c/publisher.h>
#include <iceoryx_binding_c/runtime.h>
#include <iceoryx_binding_c/subscriber.h>

#include "bench_report.h"
#include "qaxdb/sub.h"
#include "qaxdb/wal.h"
#include "ws_fanout.h"

#define BATCH 64
#define BURST_RECORDS (4096 * BATCH) /* 42 MB of frames: within the 64 MiB ring */
#define MAX_SUBS 8
#define WARMUP 1024  /* records sent before measuring: first touches of pages and caches */
#define TABLE_ID 200 /* no built-in table: the WAL and the ring do not look inside records */
#define SEC 1000000000ll
#define ATTACH_TIMEOUT_NS (10 * SEC)
#define STALL_TIMEOUT_NS (10 * SEC) /* a subscriber that sees nothing this long fails */
#define LINGER_NS (200 * 1000000ll) /* after the writer is done: how long to wait for more */
/* The back-off of qx_sub_next without spin (src/dist/sub.c), copied for iceoryx's subscribers so
 * that both systems' idle subscribers poll alike. */
#define SPIN_POLLS 200
#define MIN_SLEEP_NS 20000
#define MAX_SLEEP_NS 1000000

/* The payload: a fake trade of 128 bytes. seq and stamp_ns are what the subscriber checks. */
typedef struct trade {
  uint64_t seq;     /* 0, 1, 2, ... over the run: a gap or a duplicate shows */
  int64_t stamp_ns; /* CLOCK_MONOTONIC when the writer began the call that sent it */
  char instrument_id[16];
  uint64_t buy_order_id, sell_order_id;
  char buy_account_id[24], sell_account_id[24];
  int64_t price, volume, ts;
  uint64_t reserved;
} trade;
_Static_assert(sizeof(trade) == 128, "the payload is 128 bytes");

typedef enum system_id { SYS_QAXDB = 0, SYS_ICEORYX = 1 } system_id;
static const char *const system_names[] = {"qaxdb", "iceoryx"};

typedef struct run_spec {
  const char *name;
  uint64_t records;  /* a multiple of batch, WARMUP included */
  int64_t period_ns; /* per record; 0: flat out */
  int batch;         /* records per call */
  int subscribers;
  int spin;        /* subscribers busy-poll; else they back off like qx_sub_next without spin */
  int lossless;    /* iceoryx: the publisher waits while a subscriber's queue is full */
  int writer_side; /* report the writer's latency per call, not the subscriber's one-way */
} run_spec;

/* What one subscriber process found, in memory shared with the orchestrator. */
typedef struct sub_result {
  histogram latency; /* one-way, ns */
  uint64_t received, lost, duplicates, torn;
  uint64_t from_wal, laps; /* qaxdb: records read from the segment files, times lapped */
  int64_t first_stamp, last_receipt;
  long preempted; /* involuntary context switches while receiving */
} sub_result;

typedef struct shared {
  _Atomic int writer_ready, subs_ready, subs_done, writer_done;
  histogram append_latency;
  int64_t writer_start, writer_end;      /* of the measured records */
  long writer_blocked, writer_preempted; /* its context switches while sending */
  sub_result subs[MAX_SUBS];
} shared;

/* ---- process plumbing --------------------------------------------------------------------- */

static pid_t orchestrator_pid, roudi_pid;
static char tmp_dir[PATH_MAX], shm_dir[PATH_MAX];
static const char *role = "orchestrator"; /* for messages of the forked processes */
static pid_t run_pids[1 + MAX_SUBS];      /* the writer and subscribers of the current run */

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * SEC + ts.tv_nsec;
}

static void sleep_ns(int64_t ns) {
  struct timespec ts = {(time_t)(ns / SEC), (long)(ns % SEC)};
  nanosleep(&ts, NULL);
}

/* Exits through exit() in every process: the orchestrator's atexit handler cleans up, and
 * checks that it is running in the orchestrator, since forked processes inherit it. */
static void fail(const char *what, const char *detail) {
  fprintf(stderr, "qaxdb-bench-dist: %s: %s: %s\n", role, what, detail);
  exit(1);
}

static void stop_roudi(void) {
  if (roudi_pid <= 0) return;
  kill(roudi_pid, SIGTERM);
  for (int i = 0; i < 500 && waitpid(roudi_pid, NULL, WNOHANG) == 0; i++)
    sleep_ns(10000000);
  if (waitpid(roudi_pid, NULL, WNOHANG) == 0) { /* RouDi waits for its clients' exit first */
    kill(roudi_pid, SIGKILL);
    waitpid(roudi_pid, NULL, 0);
  }
  roudi_pid = 0;
}

static void cleanup(void) {
  if (getpid() != orchestrator_pid) return;
  stop_roudi();
  if (tmp_dir[0]) bench_remove_tree(tmp_dir);
  if (shm_dir[0]) bench_remove_tree(shm_dir);
  tmp_dir[0] = shm_dir[0] = '\0';
}

static void on_signal(int sig) {
  (void)sig;
  for (int i = 0; i < 1 + MAX_SUBS; i++)
    if (run_pids[i] > 0) kill(run_pids[i], SIGKILL);
  cleanup(); /* not async-signal-safe, but leaving RouDi and a 64 MiB ring behind is worse */
  _exit(130);
}

/* Runs the caller's side of the benchmark on one core: a writer and its subscriber then never
 * share a core nor move between them. Threads started before (the WAL flusher, iceoryx's own)
 * keep running anywhere. */
static void pin_to_cpu(int cpu) {
  if (sysconf(_SC_NPROCESSORS_ONLN) < 2) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof set, &set);
}

/* Waits until *flag reaches value, or fails after timeout_ns. */
static void await_count(_Atomic int *flag, int value, int64_t timeout_ns, const char *what) {
  int64_t deadline = now_ns() + timeout_ns;
  while (atomic_load(flag) < value) {
    if (now_ns() > deadline) fail("timed out waiting for", what);
    sleep_ns(100000);
  }
}

/* Context switches of the calling thread: what explains most outliers on this 2-core machine. */
static void context_switches(long *voluntary, long *involuntary) {
  struct rusage ru;
  getrusage(RUSAGE_THREAD, &ru);
  *voluntary = ru.ru_nvcsw;
  *involuntary = ru.ru_nivcsw;
}

/* ---- iox-roudi ---------------------------------------------------------------------------- */

/* Mempools for single records and for 64-record chunks (the sizes are user payload sizes), deep
 * enough for eight subscriber queues of iceoryx's maximum capacity each. */
static const char roudi_config[] = "[general]\nversion = 1\n\n[[segment]]\n\n"
                                   "[[segment.mempool]]\nsize = 128\ncount = 16384\n\n"
                                   "[[segment.mempool]]\nsize = 8192\ncount = 1024\n";

/* The first bytes of a file, NUL-terminated ("" if it cannot be read). */
static void read_head(const char *path, char *buf, size_t cap) {
  FILE *f = fopen(path, "r");
  size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
  if (f) fclose(f);
  buf[n] = '\0';
}

static int roudi_ready(const char *log_path) {
  char buf[8192];
  read_head(log_path, buf, sizeof buf);
  return strstr(buf, "RouDi is ready for clients") != NULL;
}

static void roudi_failed(const char *log_path, const char *why) {
  char buf[8192];
  read_head(log_path, buf, sizeof buf);
  fprintf(stderr, "qaxdb-bench-dist: iox-roudi could not start (%s); its output:\n%s\n", why,
          buf[0] ? buf : "(none)");
  fail("iox-roudi", "is another RouDi running, or is the package iceoryx missing?");
}

/* Starts iox-roudi with a config of its own and waits until it takes clients. Its output goes
 * to a file, not a pipe, so that RouDi never blocks on a full pipe nobody reads. */
static void start_roudi(void) {
  char config[PATH_MAX + 16], log_path[PATH_MAX + 16];
  snprintf(config, sizeof config, "%s/roudi.toml", tmp_dir);
  snprintf(log_path, sizeof log_path, "%s/roudi.log", tmp_dir);
  FILE *f = fopen(config, "w");
  if (!f || fputs(roudi_config, f) < 0 || fclose(f) != 0) fail("write", config);
  fflush(NULL);
  roudi_pid = fork();
  if (roudi_pid < 0) fail("fork", strerror(errno));
  if (roudi_pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM); /* RouDi goes (and cleans up) however this program ends */
    int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) dup2(fd, 1), dup2(fd, 2);
    execlp("iox-roudi", "iox-roudi", "-c", config, "-l", "info", (char *)NULL);
    dprintf(2, "exec iox-roudi: %s\n", strerror(errno));
    _exit(127);
  }
  for (int64_t deadline = now_ns() + 10 * SEC; !roudi_ready(log_path);) {
    if (waitpid(roudi_pid, NULL, WNOHANG) == roudi_pid) {
      roudi_pid = 0;
      roudi_failed(log_path, "it exited");
    }
    if (now_ns() > deadline) roudi_failed(log_path, "not ready after 10 s");
    sleep_ns(20000000);
  }
}

/* ---- the writer --------------------------------------------------------------------------- */

typedef struct writer {
  qx_wal *wal; /* qaxdb's, or iceoryx's publisher */
  iox_pub_storage_t storage;
  iox_pub_t pub;
} writer;

static void open_qaxdb_writer(writer *w, const char *data_dir) {
  char wal_dir[PATH_MAX + 16];
  snprintf(wal_dir, sizeof wal_dir, "%s/wal", data_dir);
  qx_wal_options o;
  qx_wal_options_init(&o);
  o.ring_size = QX_WAL_DEFAULT_RING_SIZE; /* what a database opens its WAL with */
  if (qx_wal_open(wal_dir, &o, &w->wal, NULL) != QX_OK) fail("open the WAL", qx_last_error());
}

static void open_iceoryx_writer(writer *w, const run_spec *spec) {
  char name[64];
  snprintf(name, sizeof name, "qaxdb-bench-w-%d", (int)getpid());
  iox_set_loglevel(Iceoryx_LogLevel_Warn); /* its default prints every registration */
  iox_runtime_init(name);
  iox_pub_options_t o;
  iox_pub_options_init(&o);
  o.historyCapacity = 0;
  o.subscriberTooSlowPolicy = spec->lossless ? ConsumerTooSlowPolicy_WAIT_FOR_CONSUMER
                                             : ConsumerTooSlowPolicy_DISCARD_OLDEST_DATA;
  w->pub = iox_pub_init(&w->storage, "qaxdb-bench", "dist", spec->name, &o);
  if (!w->pub) fail("iox_pub_init", spec->name);
}

static void close_writer(writer *w) {
  if (w->wal && qx_wal_close(w->wal) != QX_OK) fail("close the WAL", qx_last_error());
  if (w->pub) {
    iox_pub_deinit(w->pub);
    iox_runtime_shutdown();
  }
}

/* One call of the system's send path for count records: qaxdb appends from the caller's
 * buffer; iceoryx loans a chunk, takes the same copy of the records and publishes it. */
static void send_records(writer *w, const trade *records, int count) {
  if (w->wal) {
    qx_wal_record recs[BATCH];
    for (int i = 0; i < count; i++)
      recs[i] = (qx_wal_record){TABLE_ID, 1, sizeof(trade), 0, &records[i]};
    int rc = count == 1
                 ? qx_wal_append(w->wal, recs, QX_DURABILITY_NONE, NULL)
                 : qx_wal_append_batch(w->wal, recs, (size_t)count, QX_DURABILITY_NONE, NULL);
    if (rc != QX_OK) fail("append", qx_last_error());
    return;
  }
  void *chunk = NULL;
  uint32_t size = (uint32_t)(sizeof(trade) * (size_t)count);
  if (iox_pub_loan_chunk(w->pub, &chunk, size) != AllocationResult_SUCCESS)
    fail("iox_pub_loan_chunk", "no chunk (mempools of roudi_config too small?)");
  memcpy(chunk, records, size);
  iox_pub_publish_chunk(w->pub, chunk);
}

static void fake_trades(trade *t, int count) {
  for (int i = 0; i < count; i++) {
    t[i] = (trade){.price = 38500000 + i, .volume = 1 + i % 10, .ts = 1767225600000000000ll};
    snprintf(t[i].instrument_id, sizeof t[i].instrument_id, "rb2605");
    snprintf(t[i].buy_account_id, sizeof t[i].buy_account_id, "acct-%04d", i);
    snprintf(t[i].sell_account_id, sizeof t[i].sell_account_id, "acct-%04d", i + 1000);
  }
}

/* Busy-waits, not sleeps: a sleep's wake-up takes tens of microseconds, longer than the 1 us
 * period of the 1M/s case. */
static void pace(int64_t until) {
  while (now_ns() < until) {
  }
}

static void send_all(writer *w, const run_spec *spec, shared *sh) {
  trade records[BATCH];
  fake_trades(records, spec->batch);
  int64_t period = spec->period_ns * spec->batch, next = now_ns();
  for (uint64_t seq = 0; seq < spec->records; seq += (uint64_t)spec->batch) {
    if (period) pace(next += period);
    int64_t start = now_ns();
    for (int i = 0; i < spec->batch; i++) {
      records[i].seq = seq + (uint64_t)i;
      records[i].stamp_ns = start;
      records[i].buy_order_id = records[i].sell_order_id = seq + (uint64_t)i;
    }
    send_records(w, records, spec->batch);
    int64_t end = now_ns();
    if (seq < WARMUP) continue;
    if (!sh->writer_start) sh->writer_start = start;
    qx_histogram_record(&sh->append_latency, (uint64_t)(end - start));
  }
  sh->writer_end = now_ns();
}

static void writer_main(system_id sys, const run_spec *spec, shared *sh, const char *data_dir) {
  role = "writer";
  writer w = {0};
  if (sys == SYS_QAXDB)
    open_qaxdb_writer(&w, data_dir);
  else
    open_iceoryx_writer(&w, spec);
  pin_to_cpu(0);
  atomic_store(&sh->writer_ready, 1);
  await_count(&sh->subs_ready, spec->subscribers, 2 * ATTACH_TIMEOUT_NS, "subscribers to attach");
  long vol0, invol0, vol1, invol1;
  context_switches(&vol0, &invol0);
  send_all(&w, spec, sh);
  context_switches(&vol1, &invol1);
  sh->writer_blocked = vol1 - vol0;
  sh->writer_preempted = invol1 - invol0;
  atomic_store(&sh->writer_done, 1);
  /* Closed only after the subscribers are through, so that none sees the writer leave. */
  await_count(&sh->subs_done, spec->subscribers, 4 * STALL_TIMEOUT_NS, "subscribers to finish");
  close_writer(&w);
}

/* ---- the subscriber ----------------------------------------------------------------------- */

typedef struct reader {
  const run_spec *spec;
  qx_sub *sub;
  iox_sub_storage_t storage;
  iox_sub_t isub;
  const void *chunk; /* iceoryx: taken, to release */
} reader;

static void open_qaxdb_reader(reader *r, const char *data_dir) {
  qx_sub_options o;
  qx_sub_options_init(&o);
  o.start = QX_SUB_LIVE;
  o.spin = r->spec->spin;
  if (qx_sub_open(data_dir, &o, &r->sub) != QX_OK) fail("qx_sub_open", qx_last_error());
}

static void open_iceoryx_reader(reader *r) {
  char name[64];
  snprintf(name, sizeof name, "qaxdb-bench-s-%d", (int)getpid());
  iox_set_loglevel(Iceoryx_LogLevel_Warn); /* its default prints every registration */
  iox_runtime_init(name);
  iox_sub_options_t o;
  iox_sub_options_init(&o);
  o.queueCapacity = iox_cfg_max_subscriber_queue_capacity();
  o.historyRequest = 0;
  o.queueFullPolicy =
      r->spec->lossless ? QueueFullPolicy_BLOCK_PRODUCER : QueueFullPolicy_DISCARD_OLDEST_DATA;
  r->isub = iox_sub_init(&r->storage, "qaxdb-bench", "dist", r->spec->name, &o);
  if (!r->isub) fail("iox_sub_init", r->spec->name);
  /* RouDi connects subscriber and publisher in its discovery loop, a little later. */
  for (int64_t deadline = now_ns() + ATTACH_TIMEOUT_NS;
       iox_sub_get_subscription_state(r->isub) != SubscribeState_SUBSCRIBED;) {
    if (now_ns() > deadline) fail("iceoryx subscription", "not connected after 10 s");
    sleep_ns(1000000);
  }
}

static void close_reader(reader *r) {
  qx_sub_close(r->sub);
  if (r->isub) {
    iox_sub_deinit(r->isub);
    iox_runtime_shutdown();
  }
}

/* Waits a moment like qx_sub_next does between polls: not at all with spin, else only after
 * SPIN_POLLS polls, then ever longer. */
static void back_off(const reader *r, int polls) {
  if (r->spec->spin || polls < SPIN_POLLS) return;
  int shift = polls - SPIN_POLLS < 6 ? polls - SPIN_POLLS : 6;
  int64_t ns = (int64_t)MIN_SLEEP_NS << shift;
  sleep_ns(ns < MAX_SLEEP_NS ? ns : MAX_SLEEP_NS);
}

/* The next chunk of the iceoryx subscriber within wait_ns: its records, or 0 if none came. */
static int next_iceoryx(reader *r, const trade *records[BATCH], int64_t wait_ns) {
  int64_t deadline = now_ns() + wait_ns;
  for (int polls = 0;; polls++) {
    const void *chunk;
    enum iox_ChunkReceiveResult rc = iox_sub_take_chunk(r->isub, &chunk);
    if (rc == ChunkReceiveResult_SUCCESS) {
      r->chunk = chunk;
      for (int i = 0; i < r->spec->batch; i++)
        records[i] = (const trade *)chunk + i;
      return r->spec->batch;
    }
    if (rc != ChunkReceiveResult_NO_CHUNK_AVAILABLE) fail("iox_sub_take_chunk", "failed");
    /* A spinning poll costs about what a reading of the clock does: look at it now and then. */
    int check = polls % 256 == 255 || (!r->spec->spin && polls >= SPIN_POLLS);
    if (check && now_ns() > deadline) return 0;
    back_off(r, polls);
  }
}

/* The next records of the qaxdb subscriber, as many as are there up to BATCH (at least one).
 * Without a time limit, since one costs qx_sub_next_batch a reading of the clock per call; a
 * subscriber that hangs is killed with its run (reap). torn counts batches the writer
 * overwrote while this process still read them. */
static int next_qaxdb(reader *r, const trade *records[BATCH], uint64_t *torn) {
  qx_wal_entry e[BATCH];
  size_t n;
  int rc = qx_sub_next_batch(r->sub, e, BATCH, &n, -1);
  if (rc == QX_ERR_LAPPED) {
    ++*torn;
    rc = qx_sub_next_batch(r->sub, e, BATCH, &n, -1);
  }
  if (rc != QX_OK) fail("qx_sub_next_batch", qx_last_error());
  for (size_t i = 0; i < n; i++) {
    if (e[i].size != sizeof(trade)) fail("qx_sub_next_batch", "a record of the wrong size");
    records[i] = e[i].data;
  }
  return (int)n;
}

/* The records there are, up to BATCH: their count, or 0 if none came in wait_ns (iceoryx only:
 * qaxdb's subscriber loses nothing, so it waits for the next record). */
static int next_records(reader *r, const trade *records[BATCH], int64_t wait_ns, sub_result *res) {
  if (r->sub) return next_qaxdb(r, records, &res->torn);
  return next_iceoryx(r, records, wait_ns);
}

static void release_records(reader *r) {
  if (r->chunk) iox_sub_release_chunk(r->isub, r->chunk);
  r->chunk = NULL;
}

/* Checks and times records as they arrive. The clock is read once per call of the writer (its
 * stamp): qaxdb hands a batch out record by record, iceoryx as one chunk, and both publish a
 * batch at once, so one reading per batch times both alike. */
typedef struct tally {
  uint64_t next_seq;
  int64_t last_stamp, receipt;
} tally;

static void take_record(sub_result *res, tally *t, const trade *rec) {
  if (rec->stamp_ns != t->last_stamp) {
    t->receipt = now_ns();
    t->last_stamp = rec->stamp_ns;
  }
  if (rec->seq < t->next_seq) {
    res->duplicates++;
    return;
  }
  res->lost += rec->seq - t->next_seq;
  t->next_seq = rec->seq + 1;
  res->received++;
  if (rec->seq < WARMUP) return;
  if (!res->first_stamp) res->first_stamp = rec->stamp_ns;
  res->last_receipt = t->receipt;
  qx_histogram_record(&res->latency, (uint64_t)(t->receipt - rec->stamp_ns));
}

static void receive_all(reader *r, shared *sh, sub_result *res) {
  tally t = {0, -1, 0};
  int64_t last_progress = now_ns();
  while (t.next_seq < r->spec->records) {
    const trade *records[BATCH];
    int n = next_records(r, records, 100000000, res);
    for (int i = 0; i < n; i++)
      take_record(res, &t, records[i]);
    release_records(r);
    int64_t now = n ? t.receipt : now_ns();
    if (n) last_progress = now;
    if (!n && atomic_load(&sh->writer_done) && now - last_progress > LINGER_NS)
      break; /* the rest was dropped (iceoryx, when its queue was full) */
    if (now - last_progress > STALL_TIMEOUT_NS) fail("receive", "no record for 10 s");
  }
  res->lost += r->spec->records - t.next_seq;
}

static void subscriber_main(system_id sys, const run_spec *spec, shared *sh, const char *data_dir,
                            int index) {
  role = "subscriber";
  reader r = {.spec = spec};
  sub_result *res = &sh->subs[index];
  await_count(&sh->writer_ready, 1, ATTACH_TIMEOUT_NS, "the writer to open");
  if (sys == SYS_QAXDB)
    open_qaxdb_reader(&r, data_dir);
  else
    open_iceoryx_reader(&r);
  pin_to_cpu(1);
  atomic_fetch_add(&sh->subs_ready, 1);
  long vol, invol0, invol1;
  context_switches(&vol, &invol0);
  receive_all(&r, sh, res);
  context_switches(&vol, &invol1);
  res->preempted = invol1 - invol0;
  if (r.sub) {
    qx_sub_status st;
    qx_sub_get_status(r.sub, &st);
    res->from_wal = st.records_from_wal;
    res->laps = st.laps;
  }
  atomic_fetch_add(&sh->subs_done, 1);
  close_reader(&r);
}

/* ---- running a case ------------------------------------------------------------------------ */

static void on_alarm(int sig) {
  (void)sig; /* only interrupts waitpid */
}

/* Forks a process of the run; returns its id in the parent and 0 in the child, which dies with
 * the orchestrator. */
static pid_t fork_run_process(void) {
  fflush(NULL); /* or the child would print what the parent had buffered once more */
  pid_t pid = fork();
  if (pid < 0) fail("fork", strerror(errno));
  if (pid == 0) prctl(PR_SET_PDEATHSIG, SIGKILL);
  return pid;
}

static pid_t spawn_writer(system_id sys, const run_spec *spec, shared *sh, const char *data) {
  pid_t pid = fork_run_process();
  if (pid > 0) return pid;
  writer_main(sys, spec, sh, data);
  exit(0);
}

static pid_t spawn_subscriber(system_id sys, const run_spec *spec, shared *sh, const char *data,
                              int index) {
  pid_t pid = fork_run_process();
  if (pid > 0) return pid;
  subscriber_main(sys, spec, sh, data, index);
  exit(0);
}

/* Reaps the processes of a run; kills them all if one fails or the run outlasts timeout_s. A
 * blocking wait, not a polling one: the orchestrator must not wake up on the measured cores. */
static void reap(pid_t *pids, int count, unsigned timeout_s) {
  struct sigaction sa = {.sa_handler = on_alarm}; /* no SA_RESTART: waitpid returns EINTR */
  sigaction(SIGALRM, &sa, NULL);
  alarm(timeout_s);
  int failed = 0;
  for (int i = 0; i < count; i++) {
    int status;
    if (waitpid(pids[i], &status, 0) != pids[i]) {
      failed = 1;
      break;
    }
    pids[i] = 0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed = 1;
  }
  alarm(0);
  if (!failed) return;
  for (int i = 0; i < count; i++)
    if (pids[i] > 0) kill(pids[i], SIGKILL), waitpid(pids[i], NULL, 0);
  fail("a run failed or timed out", "see the messages above");
}

static void reset_shared(shared *sh) {
  memset(sh, 0, sizeof *sh);
  qx_histogram_reset(&sh->append_latency);
  for (int i = 0; i < MAX_SUBS; i++)
    qx_histogram_reset(&sh->subs[i].latency);
}

/* Runs one system's side of a case; returns the others' CPU load during it (percent). */
static double run(system_id sys, const run_spec *spec, shared *sh) {
  fprintf(stderr, "running %s (%s) ...\n", spec->name, system_names[sys]);
  reset_shared(sh);
  char data[PATH_MAX + 8], wal[PATH_MAX + 16];
  snprintf(data, sizeof data, "%s/%s-%s", tmp_dir, spec->name, system_names[sys]);
  snprintf(wal, sizeof wal, "%s/wal", data);
  if (sys == SYS_QAXDB && (mkdir(data, 0755) != 0 || mkdir(wal, 0755) != 0))
    fail("mkdir", strerror(errno));
  bench_cpu before = bench_sample_cpu(RUSAGE_CHILDREN);
  run_pids[0] = spawn_writer(sys, spec, sh, data);
  for (int i = 0; i < spec->subscribers; i++)
    run_pids[1 + i] = spawn_subscriber(sys, spec, sh, data, i);
  int64_t expected_s = (int64_t)spec->records * spec->period_ns / SEC;
  reap(run_pids, 1 + spec->subscribers, (unsigned)(60 + 4 * expected_s));
  double others = bench_others_percent(before, bench_sample_cpu(RUSAGE_CHILDREN));
  if (sys == SYS_QAXDB) bench_remove_tree(data);
  return others;
}

/* ---- the cases and the report ------------------------------------------------------------- */

typedef struct settings {
  uint64_t paced_records, fast_records, batch_records, append_records;
} settings;

/* One-way latency and delivered records/s, as the (only) subscriber saw them. */
static bench_side subscriber_side(const shared *sh) {
  const sub_result *res = &sh->subs[0];
  bench_side side = {.latency = res->latency};
  int64_t span = res->last_receipt - res->first_stamp;
  uint64_t measured = res->received > WARMUP ? res->received - WARMUP : 0;
  side.records_per_s = span > 0 ? (double)measured * 1e9 / (double)span : 0;
  return side;
}

/* The writer's latency per call and the records/s it sent. */
static bench_side writer_side(const shared *sh, const run_spec *spec) {
  bench_side side = {.latency = sh->append_latency};
  int64_t span = sh->writer_end - sh->writer_start;
  side.records_per_s = span > 0 ? (double)(spec->records - WARMUP) * 1e9 / (double)span : 0;
  return side;
}

/* What a run delivered and what disturbed it, for the table of checks. */
typedef struct run_check {
  const char *name, *system;
  int subscribers;
  double sent_per_s, others_percent;
  long writer_blocked, writer_preempted, subs_preempted;
  uint64_t expected, received, lost, duplicates, from_wal, laps, torn;
} run_check;

static run_check check_run(const run_spec *spec, system_id sys, const shared *sh, double others) {
  run_check c = {.name = spec->name, .system = system_names[sys]};
  c.subscribers = spec->subscribers;
  c.sent_per_s = writer_side(sh, spec).records_per_s;
  c.others_percent = others;
  c.writer_blocked = sh->writer_blocked;
  c.writer_preempted = sh->writer_preempted;
  c.expected = spec->records * (uint64_t)spec->subscribers;
  for (int i = 0; i < spec->subscribers; i++) {
    const sub_result *r = &sh->subs[i];
    c.subs_preempted += r->preempted;
    c.received += r->received, c.lost += r->lost, c.duplicates += r->duplicates;
    c.from_wal += r->from_wal, c.laps += r->laps, c.torn += r->torn;
  }
  return c;
}

static void print_check_legend(void) {
  printf(
      "Checks per run: records/s the writer sent; how often the writer thread blocked (voluntary\n"
      "context switches) and was preempted while sending; records the subscribers received of\n"
      "those sent to them (warm-up included), lost, duplicated; how often the subscribers were\n"
      "preempted; qaxdb only: laps, records read from the WAL files instead of the ring, records\n"
      "overwritten while held (torn); the machine's CPU time taken by other processes.\n");
}

static void print_checks(const run_check *checks, int count) {
  print_check_legend();
  printf("%-14s %-8s %10s %8s %8s %4s %10s %10s %6s %4s %8s %5s %6s %5s %7s\n", "run", "system",
         "sent/s", "w.block", "w.preem", "subs", "expected", "received", "lost", "dup", "s.preem",
         "laps", "files", "torn", "others");
  for (int i = 0; i < count; i++) {
    const run_check *c = &checks[i];
    printf("%-14s %-8s %10.0f %8ld %8ld %4d %10llu %10llu %6llu %4llu %8ld", c->name, c->system,
           c->sent_per_s, c->writer_blocked, c->writer_preempted, c->subscribers,
           (unsigned long long)c->expected, (unsigned long long)c->received,
           (unsigned long long)c->lost, (unsigned long long)c->duplicates, c->subs_preempted);
    if (strcmp(c->system, system_names[SYS_QAXDB]) == 0)
      printf(" %5llu %6llu %5llu", (unsigned long long)c->laps, (unsigned long long)c->from_wal,
             (unsigned long long)c->torn);
    else
      printf(" %5s %6s %5s", "-", "-", "-");
    printf(" %6.1f%%\n", c->others_percent);
  }
  printf("\n");
}

static void run_case(bench_case *c, const run_spec *spec, shared *sh, run_check *checks) {
  c->name = spec->name;
  bench_side *sides[2] = {&c->qaxdb, &c->peer};
  for (int sys = SYS_QAXDB; sys <= SYS_ICEORYX; sys++) {
    double others = run((system_id)sys, spec, sh);
    *sides[sys] = spec->writer_side ? writer_side(sh, spec) : subscriber_side(sh);
    checks[sys] = check_run(spec, (system_id)sys, sh, others);
  }
}

static uint64_t round_to_batch(uint64_t n) {
  return (n + BATCH - 1) / BATCH * BATCH;
}

static void print_legend(const settings *s) {
  printf(
      "qaxdb-bench-dist: the qaxdb log ring (qx_wal_append at `none`, 64 MiB ring, subscribers\n"
      "of qaxdb/sub.h) against iceoryx 2.0.3 (C binding, RouDi started by this program):\n"
      "128-byte records from a writer process to subscriber processes (writer on CPU 0,\n"
      "subscribers on CPU 1); the first %d records of each run are not measured.\n"
      "  oneway_*      one-way latency writer -> 1 busy-polling subscriber, 1 record per call,\n"
      "                records/s as delivered (oneway_100k: %llu records, the others %llu)\n"
      "  batch64_flat  the same flat out with 64 records per call, %llu records: qaxdb\n"
      "                qx_wal_append_batch of 64, iceoryx one 8 KiB chunk of 64 records per\n"
      "                publish; latency per record\n"
      "  append_Nsub   the writer's latency per call (qaxdb append, iceoryx loan + copy +\n"
      "                publish) at 100K records/s, %llu records, N subscriber processes polling\n"
      "                with qaxdb's idle back-off\n"
      "iceoryx's publisher waits for a full subscriber queue in the oneway and batch cases (no\n"
      "loss, like qaxdb) and drops the oldest (its default) in the append cases.\n\n",
      WARMUP, (unsigned long long)s->paced_records, (unsigned long long)s->fast_records,
      (unsigned long long)s->batch_records, (unsigned long long)s->append_records);
}

/* The cases, each run for qaxdb and then for iceoryx, with the writer and every subscriber in a
 * process of its own (forked; each opens its subscriber or iceoryx runtime itself):
 *   oneway_100k, oneway_1m, oneway_flat  one-way latency writer -> one busy-polling subscriber
 *       (stamp taken at append / loan, read on receipt), one record per call, paced at 100K/s,
 *       1M/s (busy-waiting on the monotonic clock) or flat out; records/s as delivered
 *   batch64_flat  the same flat out with 64 records per call: qaxdb qx_wal_append_batch of 64
 *       records, iceoryx one 8 KiB chunk holding 64 records per publish; the subscriber takes
 *       them with qx_sub_next_batch. Its records are several rings' worth: qaxdb's rate is then
 *       its WAL flusher's, which writes every record to the files
 *   batch64_burst  the same with records that fit in the ring: the rate of the ring itself
 *   append_{0,1,8}sub  the writer's own latency per call (qaxdb qx_wal_append at `none`,
 *       iceoryx loan + copy + publish) at 100K/s with 0, 1 or 8 subscriber processes attached
 *       that poll with qaxdb's idle back-off (spin, then sleeps of 20 us doubling to 1 ms)
 * iceoryx delivers without loss in the oneway and batch cases (the publisher waits for a full
 * subscriber queue, as nothing is lost from qaxdb's ring: a lapped subscriber reads the WAL
 * files) and with its default policy (drop the oldest) in the append cases. */
static void run_all(const settings *s, shared *sh) {
  const run_spec specs[] = {
      /* name, records, period_ns, batch, subscribers, spin, lossless, writer_side */
      {"oneway_100k", s->paced_records, 10000, 1, 1, 1, 1, 0},
      {"oneway_1m", s->fast_records, 1000, 1, 1, 1, 1, 0},
      {"oneway_flat", s->fast_records, 0, 1, 1, 1, 1, 0},
      {"batch64_burst", BURST_RECORDS, 0, BATCH, 1, 1, 1, 0},
      {"batch64_flat", s->batch_records, 0, BATCH, 1, 1, 1, 0},
      {"append_0sub", s->append_records, 10000, 1, 0, 0, 0, 1},
      {"append_1sub", s->append_records, 10000, 1, 1, 0, 0, 1},
      {"append_8sub", s->append_records, 10000, 1, 8, 0, 0, 1},
  };
  enum { CASES = sizeof specs / sizeof specs[0] };
  static bench_case cases[CASES]; /* histograms are large: keep them off the stack */
  static run_check checks[2 * CASES];
  for (int i = 0; i < CASES; i++)
    run_case(&cases[i], &specs[i], sh, &checks[2 * i]);
  print_legend(s);
  print_checks(checks, 2 * CASES);
  bench_print(stdout, "dist", "iceoryx", "records", cases, CASES);
}

static void usage(FILE *out) {
  fprintf(out, "usage: qaxdb-bench-dist [--quick] [--ws-only] [--ws-json] [--ws-clients N]\n"
               "                        [--ws-rate R]...\n\n"
               "Sends 128-byte records from a writer process to subscriber processes through\n"
               "the qaxdb log ring and through iceoryx in the same run, and prints latency\n"
               "percentiles, records/s and the ratio per case, then one JSON line per\n"
               "measurement. Starts iox-roudi itself (package iceoryx). --quick runs in about\n"
               "10 s, a full run in about a minute. Scratch data goes to a new directory\n"
               "under $TMPDIR or /tmp, rings to one under /dev/shm; both are removed.\n\n"
               "Then the WebSocket fan-out: qaxdbd's /ws (in process) against a plain\n"
               "libwebsockets broadcast, 1000 clients (--quick: 100) subscribed to trades\n"
               "while a writer writes 100K and 10K records/s (--quick: 10K), 5 s per phase.\n"
               "  --ws-only       only the WebSocket fan-out\n"
               "  --ws-json       also qaxdb's JSON records\n"
               "  --ws-clients N  clients instead of the default\n"
               "  --ws-rate R     records/s (repeat for several; replaces the default rates)\n");
}

static void setup(void) {
  orchestrator_pid = getpid();
  atexit(cleanup);
  int stops[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE}; /* SIGPIPE: piped into head, say */
  for (size_t i = 0; i < sizeof stops / sizeof stops[0]; i++)
    signal(stops[i], on_signal);
  bench_make_tmpdir(tmp_dir, "dist");
  snprintf(shm_dir, sizeof shm_dir, "/dev/shm/qaxdb-bench-dist-XXXXXX");
  if (!mkdtemp(shm_dir)) {
    shm_dir[0] = '\0';
    fail("mkdtemp /dev/shm", strerror(errno));
  }
  setenv("QAXDB_SHM_DIR", shm_dir, 1); /* the forked writers put their rings there */
  start_roudi();
}

/* The fan-out's options; returns 0 for an argument that is not one. */
static int parse_ws_option(int argc, char **argv, int *i, ws_fanout_settings *ws, int *rates) {
  if (strcmp(argv[*i], "--ws-json") == 0) {
    ws->json = 1;
  } else if (strcmp(argv[*i], "--ws-clients") == 0 && *i + 1 < argc && atoi(argv[*i + 1]) > 0) {
    ws->clients = atoi(argv[++*i]);
  } else if (strcmp(argv[*i], "--ws-rate") == 0 && *i + 1 < argc && atoi(argv[*i + 1]) > 0 &&
             *rates < WS_MAX_RATES) {
    ws->rates[(*rates)++] = atoi(argv[++*i]);
    if (*rates < WS_MAX_RATES) ws->rates[*rates] = 0;
  } else {
    return 0;
  }
  return 1;
}

int main(int argc, char **argv) {
  settings s = {500000, 1000000, 5000000, 500000};
  ws_fanout_settings ws;
  int quick = 0, ws_only = 0, rates = 0;
  for (int i = 1; i < argc; i++)
    quick |= strcmp(argv[i], "--quick") == 0;
  ws_fanout_settings_init(&ws, quick);
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) {
      s = (settings){50000, 100000, 1000000, 50000};
    } else if (strcmp(argv[i], "--ws-only") == 0) {
      ws_only = 1;
    } else if (!parse_ws_option(argc, argv, &i, &ws, &rates)) {
      usage(strcmp(argv[i], "--help") == 0 ? stdout : stderr);
      return strcmp(argv[i], "--help") == 0 ? 0 : 2;
    }
  }
  if (ws_only) return ws_fanout_run(&ws);
  s.paced_records = round_to_batch(s.paced_records);
  s.fast_records = round_to_batch(s.fast_records);
  s.batch_records = round_to_batch(s.batch_records);
  s.append_records = round_to_batch(s.append_records);
  shared *sh =
      mmap(NULL, sizeof(shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (sh == MAP_FAILED) fail("mmap", strerror(errno));
  setup();
  run_all(&s, sh);
  cleanup();
  unsetenv("QAXDB_SHM_DIR"); /* it named the folder cleanup removed: the fan-out's database
                                puts its ring where a database does by default */
  printf("\n");
  fflush(stdout); /* before the fan-out's progress on stderr */
  return ws_fanout_run(&ws);
}
