/* Fault injection on the engine's files: a damaged MANIFEST edit (corruption, named with file
 * and offset), a torn last edit (dropped and reported), a wrong magic, a CURRENT naming
 * nothing, a missing CURRENT (refused, nothing deleted), a table file missing or damaged,
 * leftovers of an interrupted flush; writes beyond the engine's limits; and a failed sync, write,
 * create or rename at every point of a workload (through util/io_fault.h): once the engine
 * reports a failure it takes no more writes, close says what failed, and a reopen finds every
 * acknowledged write. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "qaxdb/db.h"
#include "qaxdb/wal.h"
#include "util/io_fault.h"

static qx_db_options small_options(void) {
  qx_db_options o;
  qx_db_options_init(&o);
  o.memtable_size = 64 << 10;
  o.l0_compaction_trigger = 8; /* no compaction: each test knows exactly which files exist */
  o.olap = 0;                  /* nor Parquet edits: each test knows which edit is last */
  return o;
}

/* A closed database with a few flushed files, so its MANIFEST holds several edits. */
static void make_db(const char *dir) {
  qx_db_options o = small_options();
  qx_db *db;
  CHECK_OK(qx_db_open(dir, &o, &db, NULL));
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < 200; i++) {
      char key[32], value[100];
      int n = sprintf(key, "r%d-key%04d", round, i);
      memset(value, 'a' + round, sizeof value);
      CHECK_OK(qx_db_put(db, key, (size_t)n, value, sizeof value, QX_DURABILITY_NONE, NULL));
    }
    CHECK_OK(qx_db_flush(db));
  }
  CHECK_OK(qx_db_close(db));
}

static void manifest_path(const char *dir, char *out) {
  char current[PATH_MAX + 16], name[64] = "";
  snprintf(current, sizeof current, "%s/CURRENT", dir);
  FILE *f = fopen(current, "r");
  CHECK(f != NULL);
  if (f) {
    CHECK(fgets(name, sizeof name, f) != NULL);
    fclose(f);
  }
  name[strcspn(name, "\n")] = 0;
  snprintf(out, PATH_MAX, "%s/%s", dir, name);
}

static int open_status(const char *dir, qx_db_recovery *rec) {
  qx_db_options o = small_options();
  qx_db *db;
  int rc = qx_db_open(dir, &o, &db, rec);
  if (rc == QX_OK) CHECK_OK(qx_db_close(db));
  return rc;
}

/* make_db, then one more flush: each open rewrites the MANIFEST as one edit, so this leaves
 * a MANIFEST of three edits (the state at open, the flush of key "z", the totals at close). */
static void make_db_and_flush_z(const char *dir) {
  make_db(dir);
  qx_db_options o = small_options();
  qx_db *db;
  CHECK_OK(qx_db_open(dir, &o, &db, NULL));
  CHECK_OK(qx_db_put(db, "z", 1, "v", 1, QX_DURABILITY_NONE, NULL));
  CHECK_OK(qx_db_flush(db));
  CHECK_OK(qx_db_close(db));
}

/* The offset of the last edit of a MANIFEST (each is u32 length, u32 CRC, payload). */
static long last_edit_offset(const char *manifest) {
  FILE *f = fopen(manifest, "rb");
  CHECK(f != NULL);
  long at = 16, last = -1;
  uint32_t frame[2];
  while (f && fseek(f, at, SEEK_SET) == 0 && fread(frame, 4, 2, f) == 2) {
    last = at;
    at += 8 + (long)frame[0];
  }
  if (f) fclose(f);
  return last;
}

/* Cuts the flush's edit short: a crash mid-append (so the close's totals never came). */
static void test_torn_edit(void) {
  char dir[PATH_MAX], manifest[PATH_MAX];
  test_tmpdir(dir, "faults-torn");
  make_db_and_flush_z(dir);
  manifest_path(dir, manifest);
  CHECK(truncate(manifest, last_edit_offset(manifest) - 5) == 0);
  qx_db_recovery rec;
  CHECK_OK(open_status(dir, &rec));
  CHECK(rec.torn_manifest_bytes > 0);
  /* The dropped edit's file is an orphan now; its writes come back from the WAL. */
  CHECK_EQ_U64(rec.orphan_files, 1);
  CHECK(open_status(dir, &rec) == QX_OK && rec.torn_manifest_bytes == 0);
  qx_db_options o = small_options();
  qx_db *db;
  CHECK_OK(qx_db_open(dir, &o, &db, NULL));
  qx_db_value v;
  CHECK_OK(qx_db_get(db, NULL, "z", 1, &v));
  qx_db_value_release(&v);
  CHECK_OK(qx_db_close(db));
  test_rmtree(dir);
}

static void test_damaged_edit(void) {
  char dir[PATH_MAX], manifest[PATH_MAX];
  test_tmpdir(dir, "faults-edit");
  make_db_and_flush_z(dir);
  manifest_path(dir, manifest);
  test_flip_byte(manifest, 16 + 8 + 3); /* inside the first edit, with another after it */
  CHECK_RC(open_status(dir, NULL), QX_ERR_CORRUPT);
  CHECK(strstr(qx_last_error(), "MANIFEST-") != NULL);
  CHECK(strstr(qx_last_error(), "offset 16") != NULL);
  CHECK_RC(qx_db_verify(dir, NULL), QX_ERR_CORRUPT);
  test_rmtree(dir);
}

static void test_bad_magic_and_current(void) {
  char dir[PATH_MAX], manifest[PATH_MAX], current[PATH_MAX + 16];
  test_tmpdir(dir, "faults-magic");
  make_db(dir);
  manifest_path(dir, manifest);
  test_flip_byte(manifest, 0);
  CHECK_RC(open_status(dir, NULL), QX_ERR_FORMAT);
  CHECK(strstr(qx_last_error(), "offset 0") != NULL);
  snprintf(current, sizeof current, "%s/CURRENT", dir);
  FILE *f = fopen(current, "w");
  fputs("garbage\n", f);
  fclose(f);
  CHECK_RC(open_status(dir, NULL), QX_ERR_CORRUPT);
  CHECK(strstr(qx_last_error(), "CURRENT") != NULL);
  test_rmtree(dir);
}

/* Appends one line per file under dir (path and size) to out, recursively. */
static void list_files(const char *dir, char *out, size_t cap) {
  DIR *d = opendir(dir);
  struct dirent *de;
  while (d && (de = readdir(d)) != NULL) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    char path[PATH_MAX + 300];
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    struct stat st;
    if (stat(path, &st) != 0) continue;
    size_t used = strlen(out);
    snprintf(out + used, cap - used, "%s %lld\n", path, (long long)st.st_size);
    if (S_ISDIR(st.st_mode)) list_files(path, out, cap);
  }
  if (d) closedir(d);
}

/* A folder whose CURRENT is gone is not new: open refuses and changes nothing (it used to
 * delete every table file as an orphan of an empty version). */
static void test_missing_current(void) {
  char dir[PATH_MAX], current[PATH_MAX + 16];
  test_tmpdir(dir, "faults-current");
  make_db(dir);
  snprintf(current, sizeof current, "%s/CURRENT", dir);
  CHECK(unlink(current) == 0);
  static char before[1 << 16], after[1 << 16];
  before[0] = after[0] = 0;
  list_files(dir, before, sizeof before);
  CHECK_RC(open_status(dir, NULL), QX_ERR_CORRUPT);
  CHECK(strstr(qx_last_error(), "CURRENT is missing") != NULL);
  CHECK(strstr(qx_last_error(), "qaxdb repair") != NULL);
  list_files(dir, after, sizeof after);
  CHECK_STR(after, before);
  CHECK_RC(qx_db_verify(dir, NULL), QX_ERR_NOT_FOUND);
  test_rmtree(dir);
}

/* Raw puts carried as records are held to the same limits as qx_db_put. */
static void test_write_records_limits(void) {
  char dir[PATH_MAX];
  test_tmpdir(dir, "faults-limits");
  qx_db_options o = small_options();
  qx_db *db;
  CHECK_OK(qx_db_open(dir, &o, &db, NULL));
  size_t value_len = QX_DB_MAX_VALUE + 1;
  uint8_t *payload = calloc(1, 16 + value_len);
  uint32_t key_len = 3;
  memcpy(payload, &key_len, 4);
  memcpy(payload + 8, "big", 3);
  qx_wal_record r = {0x7F01, 1, (uint32_t)(16 + value_len), 0, payload}; /* a raw put */
  CHECK_RC(qx_db_write_records(db, &r, 1, QX_DURABILITY_NONE, NULL), QX_ERR_TOO_LARGE);
  CHECK(strstr(qx_last_error(), "record 1 of 1") != NULL);
  r.size = 16 + QX_DB_MAX_VALUE;
  CHECK_OK(qx_db_write_records(db, &r, 1, QX_DURABILITY_NONE, NULL));
  free(payload);
  CHECK_OK(qx_db_close(db));
  test_rmtree(dir);
}

/* A WAL entry beyond the engine's limits (written by something other than the engine) is
 * refused at replay with its LSN, not taken into the MemTable to fail a flush later. */
static void test_replay_limits(void) {
  char dir[PATH_MAX], wal_dir[PATH_MAX + 8];
  test_tmpdir(dir, "faults-replay");
  qx_db_options o = small_options();
  qx_db *db;
  CHECK_OK(qx_db_open(dir, &o, &db, NULL));
  CHECK_OK(qx_db_close(db));
  snprintf(wal_dir, sizeof wal_dir, "%s/wal", dir);
  qx_wal *wal;
  CHECK_OK(qx_wal_open(wal_dir, NULL, &wal, NULL));
  size_t size = 16 + QX_DB_MAX_VALUE + 1;
  uint8_t *payload = calloc(1, size);
  uint32_t key_len = 3;
  memcpy(payload, &key_len, 4);
  memcpy(payload + 8, "big", 3);
  qx_wal_record r = {0x7F01, 1, (uint32_t)size, 0, payload}; /* a raw put */
  uint64_t lsn = 0;
  CHECK_OK(qx_wal_append(wal, &r, QX_DURABILITY_GROUP, &lsn));
  CHECK_OK(qx_wal_close(wal));
  free(payload);
  CHECK_RC(qx_db_open(dir, &o, &db, NULL), QX_ERR_TOO_LARGE);
  char want[64];
  snprintf(want, sizeof want, "lsn %llu", (unsigned long long)lsn);
  CHECK(strstr(qx_last_error(), want) != NULL);
  test_rmtree(dir);
}

/* ---- failed file calls ---- */

#define SWEEP_KEYS 600

/* Puts keys 0.. (every fifth at durability group, the rest none) with flushes between, until a
 * call fails or all are written; acked[k] is set for each write acknowledged at group and for
 * every write before it. Returns the first failure, QX_OK if none. */
static int sweep_workload(qx_db *db, int *acked) {
  int unacked_from = 0;
  for (int k = 0; k < SWEEP_KEYS; k++) {
    char key[16], value[120];
    int n = sprintf(key, "k%05d", k);
    memset(value, 'a' + k % 26, sizeof value);
    int group = k % 5 == 4;
    int rc = qx_db_put(db, key, (size_t)n, value, sizeof value,
                       group ? QX_DURABILITY_GROUP : QX_DURABILITY_NONE, NULL);
    if (rc == QX_OK && k % 150 == 149) rc = qx_db_flush(db);
    if (rc != QX_OK) return rc;
    if (group) {
      for (int j = unacked_from; j <= k; j++)
        acked[j] = 1;
      unacked_from = k + 1;
    }
  }
  return QX_OK;
}

static int missing_acked(const char *dir, const int *acked) {
  qx_db_options o = small_options();
  qx_db *db;
  int rc = qx_db_open(dir, &o, &db, NULL);
  CHECK_OK(rc);
  if (rc != QX_OK) return SWEEP_KEYS;
  int missing = 0;
  for (int k = 0; k < SWEEP_KEYS; k++) {
    char key[16];
    int n = sprintf(key, "k%05d", k);
    qx_db_value v;
    int got = qx_db_get(db, NULL, key, (size_t)n, &v);
    if (got == QX_OK) qx_db_value_release(&v);
    missing += acked[k] && got != QX_OK;
  }
  CHECK_OK(qx_db_close(db));
  return missing;
}

/* One run with the nth call of kind failing; returns 1 if the failure reached the caller. */
static int fail_run(qx_io_kind kind, uint64_t nth) {
  char dir[PATH_MAX];
  test_tmpdir(dir, "faults-sweep");
  qx_db_options o = small_options();
  qx_db *db;
  static int acked[SWEEP_KEYS];
  memset(acked, 0, sizeof acked);
  qx_fault_arm(&(qx_fault_rule){.kind = kind, .nth = nth, .error = EIO});
  int rc = qx_db_open(dir, &o, &db, NULL);
  int reported = rc != QX_OK;
  if (rc == QX_OK) {
    rc = sweep_workload(db, acked);
    reported = rc != QX_OK;
    if (reported) { /* stopped for good: no write, flush or retry succeeds after it */
      CHECK(qx_db_put(db, "after", 5, "x", 1, QX_DURABILITY_NONE, NULL) != QX_OK);
      CHECK(qx_db_flush(db) != QX_OK);
      CHECK_RC(qx_db_health(db), QX_ERR_CLOSED);
    }
    int close_rc = qx_db_close(db);
    if (reported && close_rc == QX_OK) {
      fprintf(stderr, "kind %d call %llu: close returned OK after %s\n", (int)kind,
              (unsigned long long)nth, qx_strerror(rc));
      CHECK(close_rc != QX_OK);
    }
    if (close_rc != QX_OK) CHECK(qx_last_error()[0] != 0); /* it says what failed */
  }
  qx_fault_reset();
  CHECK_EQ_U64(missing_acked(dir, acked), 0);
  test_rmtree(dir);
  return reported;
}

static int full_sweep; /* every call, not every fifteenth (the stress run) */

/* Fails each call of kind in turn (every one, or every fifteenth) over the whole workload. */
static void sweep(qx_io_kind kind, const char *name) {
  char dir[PATH_MAX];
  test_tmpdir(dir, "faults-count");
  qx_db_options o = small_options();
  qx_db *db;
  static int acked[SWEEP_KEYS];
  qx_fault_count_calls();
  CHECK_OK(qx_db_open(dir, &o, &db, NULL));
  CHECK_OK(sweep_workload(db, acked));
  CHECK_OK(qx_db_close(db));
  uint64_t calls = qx_fault_calls(kind);
  qx_fault_reset();
  test_rmtree(dir);
  uint64_t step = full_sweep ? 1 : calls / 15 + 1, reported = 0, runs = 0;
  for (uint64_t n = 1; n <= calls && check_failures == 0; n += step, runs++)
    reported += (uint64_t)fail_run(kind, n);
  printf("%s: %llu calls, %llu runs, %llu failures reported to the caller\n", name,
         (unsigned long long)calls, (unsigned long long)runs, (unsigned long long)reported);
  CHECK(reported > 0);
}

/* The path of the first table file in dir/sst. */
static int first_table_file(const char *dir, char *out) {
  char sst[PATH_MAX + 8];
  snprintf(sst, sizeof sst, "%s/sst", dir);
  DIR *d = opendir(sst);
  struct dirent *de;
  int found = 0;
  while (d && (de = readdir(d)) != NULL && !found)
    if (strstr(de->d_name, ".sst"))
      found = snprintf(out, PATH_MAX, "%s/%s", sst, de->d_name) < PATH_MAX;
  if (d) closedir(d);
  return found;
}

static void test_table_files(void) {
  char dir[PATH_MAX], table[PATH_MAX], orphan[PATH_MAX + 32];
  test_tmpdir(dir, "faults-sst");
  make_db(dir);
  snprintf(orphan, sizeof orphan, "%s/sst/999999.sst", dir);
  FILE *f = fopen(orphan, "w");
  fputs("half a file", f);
  fclose(f);
  qx_db_recovery rec;
  CHECK_OK(open_status(dir, &rec));
  CHECK_EQ_U64(rec.orphan_files, 1);
  CHECK(access(orphan, F_OK) != 0);
  qx_db_verify_report vr;
  CHECK_OK(qx_db_verify(dir, &vr));
  CHECK_EQ_U64(vr.table_files, 3);
  CHECK_EQ_U64(vr.table_entries, 600);
  CHECK(first_table_file(dir, table));
  test_flip_byte(table, 40); /* inside the first data block */
  CHECK_RC(qx_db_verify(dir, NULL), QX_ERR_CORRUPT);
  CHECK(strstr(qx_last_error(), strrchr(table, '/') + 1) != NULL);
  CHECK(strstr(qx_last_error(), "offset") != NULL);
  CHECK(unlink(table) == 0);
  CHECK(open_status(dir, NULL) < 0);
  CHECK(strstr(qx_last_error(), strrchr(table, '/') + 1) != NULL);
  test_rmtree(dir);
}

int main(int argc, char **argv) {
  full_sweep = argc > 1 && strcmp(argv[1], "full") == 0;
  test_torn_edit();
  test_damaged_edit();
  test_bad_magic_and_current();
  test_table_files();
  test_missing_current();
  test_write_records_limits();
  test_replay_limits();
  sweep(QX_IO_SYNC, "failed syncs");
  sweep(QX_IO_WRITE, "failed writes");
  sweep(QX_IO_CREATE, "failed creates");
  sweep(QX_IO_RENAME, "failed renames");
  return test_finish("test_db_faults");
}
