/* qaxdb-bench-open: how long qx_db_open takes against the size of the data folder, after a
 * clean close and after a SIGKILL of the writing process (issue #14: < 1 s and < 10 s for
 * 10 GB). Fills a folder's table files to each size with 1000-byte values under ascending keys, closes it,
 * times an open; then a child process reopens it, writes more than a MemTable holds and is
 * killed mid-write, and the open that recovers is timed. The "peer" is the goal, so ratio > 1
 * means under it. Open times are with the folder in the page cache (a fresh boot reads the
 * table files' indexes and blooms from disk as well). */
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_report.h"
#include "qaxdb/db.h"

#define VALUE_SIZE 1000

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t walked_bytes;
static int add_size(const char *path, const struct stat *st, int flag, struct FTW *f) {
  (void)path;
  (void)f;
  if (flag == FTW_F) walked_bytes += (uint64_t)st->st_blocks * 512;
  return 0;
}

/* Bytes the folder takes on disk (du). */
static uint64_t folder_bytes(const char *dir) {
  walked_bytes = 0;
  nftw(dir, add_size, 16, FTW_PHYS);
  return walked_bytes;
}

static void die(const char *what, int rc) {
  fprintf(stderr, "qaxdb-bench-open: %s: %s: %s\n", what, qx_strerror(rc), qx_last_error());
  exit(1);
}

/* Writes n records from *next on; keys ascend, so compactions mostly move files down. */
static void put_range(qx_db *db, uint64_t *next, uint64_t n) {
  uint64_t value[VALUE_SIZE / 8];
  for (uint64_t end = *next + n; *next < end; (*next)++) {
    char key[24];
    int len = snprintf(key, sizeof key, "open%016" PRIu64, *next);
    for (size_t i = 0; i < VALUE_SIZE / 8; i++)
      value[i] = *next * 0x9E3779B97F4A7C15ull + i;
    int rc = qx_db_put(db, key, (size_t)len, value, sizeof value, QX_DURABILITY_NONE, NULL);
    if (rc != QX_OK) die("put", rc);
  }
}

/* Grows the table files (the data; the WAL is a bounded tail) to at least target bytes;
 * returns the next key to write. */
static uint64_t fill(const char *dir, uint64_t target, uint64_t next) {
  char sst_dir[PATH_MAX + 8];
  snprintf(sst_dir, sizeof sst_dir, "%s/sst", dir);
  qx_db *db;
  int rc = qx_db_open(dir, NULL, &db, NULL);
  if (rc != QX_OK) die("open to fill", rc);
  while (folder_bytes(sst_dir) < target)
    put_range(db, &next, 65536); /* ~64 MiB between looks at the folder */
  if ((rc = qx_db_close(db)) != QX_OK) die("close after filling", rc);
  return next;
}

static double timed_open(const char *dir, qx_db_recovery *rec) {
  qx_db *db;
  double t0 = now_s();
  int rc = qx_db_open(dir, NULL, &db, rec);
  double took = now_s() - t0;
  if (rc != QX_OK) die("open", rc);
  if ((rc = qx_db_close(db)) != QX_OK) die("close", rc);
  return took;
}

/* A child reopens the folder, writes 1.5 MemTables' worth (so the WAL tail to replay is at
 * least one full MemTable) and tells the parent, then keeps writing until SIGKILLed. */
static void write_and_kill(const char *dir, uint64_t next) {
  int ready[2];
  if (pipe(ready) != 0) die("pipe", QX_ERR_IO);
  pid_t pid = fork();
  if (pid == 0) {
    close(ready[0]);
    qx_db *db;
    if (qx_db_open(dir, NULL, &db, NULL) != QX_OK) _exit(1);
    put_range(db, &next, (192u << 20) / VALUE_SIZE);
    if (write(ready[1], "r", 1) != 1) _exit(1);
    for (;;)
      put_range(db, &next, 1024);
  }
  close(ready[1]);
  char c;
  if (read(ready[0], &c, 1) != 1) die("the writing child ended early", QX_ERR_IO);
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  close(ready[0]);
}

static void run_size(const char *dir, double gib, uint64_t *next) {
  uint64_t target = (uint64_t)(gib * (double)(1ull << 30));
  double t0 = now_s();
  *next = fill(dir, target, *next);
  double fill_s = now_s() - t0;
  uint64_t bytes = folder_bytes(dir);
  qx_db_recovery rec;
  double clean = timed_open(dir, &rec);
  write_and_kill(dir, *next);
  *next += 1ull << 40; /* the child's keys are unknown: continue far above them */
  uint64_t killed_bytes = folder_bytes(dir);
  qx_db_recovery crash_rec;
  double crash = timed_open(dir, &crash_rec);
  printf("%6.2f GiB folder (filled in %.0f s): open after clean close %.3f s (replayed %" PRIu64
         " entries); after SIGKILL (%.2f GiB) %.3f s (replayed %" PRIu64 ")\n",
         (double)bytes / (1ull << 30), fill_s, clean, rec.replayed,
         (double)killed_bytes / (1ull << 30), crash, crash_rec.replayed);
  char name[64];
  snprintf(name, sizeof name, "open_clean_%.4gGiB", gib);
  bench_print_metric(stdout, "open", name, "open_s", clean, "goal", 1.0, 1.0 / clean);
  snprintf(name, sizeof name, "open_sigkill_%.4gGiB", gib);
  bench_print_metric(stdout, "open", name, "open_s", crash, "goal", 10.0, 10.0 / crash);
  snprintf(name, sizeof name, "replayed_sigkill_%.4gGiB", gib);
  bench_print_metric(stdout, "open", name, "entries", (double)crash_rec.replayed, "none", 0, 0);
  fflush(stdout);
}

int main(int argc, char **argv) {
  double sizes[8] = {1, 4, 10};
  size_t count = 3;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) {
      sizes[0] = 0.25, sizes[1] = 0.5, count = 2;
    } else if (strcmp(argv[i], "--sizes") == 0 && i + 1 < argc) {
      count = 0;
      for (char *s = strtok(argv[++i], ","); s && count < 8; s = strtok(NULL, ","))
        sizes[count++] = atof(s);
    } else {
      fprintf(stderr, "usage: qaxdb-bench-open [--quick] [--sizes GIB,GIB,...]\n"
                      "Grows one folder through each size (GiB, ascending; default 1,4,10) and "
                      "times qx_db_open after a clean close and after a SIGKILL at each.\n");
      return 2;
    }
  }
  char buf[PATH_MAX];
  const char *dir = bench_make_tmpdir(buf, "open");
  uint64_t next = 0;
  for (size_t i = 0; i < count; i++)
    run_size(dir, sizes[i], &next);
  bench_remove_tree(dir);
  return 0;
}
