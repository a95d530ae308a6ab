/* qx_db_repair: a folder whose CURRENT is gone, whose MANIFEST is damaged, whose table file or
 * WAL is damaged, is brought back with every write it still holds; damaged files and the old
 * MANIFEST are moved to lost/, never deleted. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "qaxdb/db.h"
#include "qaxdb/records.h"

#define KEYS 3000

static qx_db_options options(void) {
  qx_db_options o;
  qx_db_options_init(&o);
  o.memtable_size = 64 << 10; /* many flushes, compactions over several levels */
  o.l1_size = 128 << 10;
  o.sst_file_size = 32 << 10;
  o.wal.segment_size = 64 << 10; /* small segments: the WAL is trimmed behind the flushes */
  o.olap = 0;
  return o;
}

static size_t key_of(int k, char *out) {
  return (size_t)sprintf(out, "key%05d", k);
}

/* Deletes every seventh key from a writer that stops without closing, as a crash would, so
 * that the deletes are in the WAL only (a clean close flushes them to a table file). */
static void delete_in_wal_only(const char *dir) {
  pid_t pid = fork();
  if (pid == 0) {
    qx_db_options o = options();
    o.wal.ring_size = 0; /* no log ring left behind in /dev/shm */
    qx_db *db;
    uint64_t lsn = 0;
    if (qx_db_open(dir, &o, &db, NULL) != QX_OK) _exit(1);
    for (int k = 0; k < KEYS; k += 7) {
      char key[16];
      if (qx_db_delete(db, key, key_of(k, key), QX_DURABILITY_NONE, &lsn) != QX_OK) _exit(2);
    }
    _exit(qx_db_wait_durable(db, lsn, -1) == QX_OK ? 0 : 3);
  }
  int status = -1;
  waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Writes every key twice and deletes every seventh, flushing on the way, then leaves the last
 * writes in the WAL only. The expected state: key k holds "v2-k" unless k % 7 == 0. */
static void make_db(const char *dir) {
  qx_db_options o = options();
  qx_db *db;
  CHECK_OK(qx_db_open(dir, &o, &db, NULL));
  for (int round = 1; round <= 2; round++)
    for (int k = 0; k < KEYS; k++) {
      char key[16], value[64];
      int n = sprintf(value, "v%d-%d-%040d", round, k, k);
      CHECK_OK(qx_db_put(db, key, key_of(k, key), value, (size_t)n, QX_DURABILITY_NONE, NULL));
    }
  /* Nothing left for the deleting writer's background threads to flush or compact when it
   * stops: what it leaves must differ from this state by its deletes alone. */
  CHECK_OK(qx_db_compact(db));
  CHECK_OK(qx_db_close(db));
  delete_in_wal_only(dir);
}

/* Checks every key against the state make_db leaves; returns how many keys were wrong. */
static int count_wrong(const char *dir) {
  qx_db_options o = options();
  qx_db *db;
  int rc = qx_db_open(dir, &o, &db, NULL);
  CHECK_OK(rc);
  if (rc != QX_OK) return KEYS;
  int wrong = 0;
  for (int k = 0; k < KEYS; k++) {
    char key[16], want[64];
    int n = sprintf(want, "v2-%d-%040d", k, k);
    qx_db_value v;
    int got = qx_db_get(db, NULL, key, key_of(k, key), &v);
    if (k % 7 == 0) {
      wrong += got != QX_ERR_NOT_FOUND;
      if (got == QX_OK) qx_db_value_release(&v);
      continue;
    }
    wrong += got != QX_OK || v.size != (size_t)n || memcmp(v.data, want, (size_t)n) != 0;
    if (got == QX_OK) qx_db_value_release(&v);
  }
  CHECK_OK(qx_db_close(db));
  return wrong;
}

static void remove_current(const char *dir) {
  char path[PATH_MAX + 16];
  snprintf(path, sizeof path, "%s/CURRENT", dir);
  CHECK(unlink(path) == 0);
}

static int lost_files(const char *dir, const char *prefix) {
  char lost[PATH_MAX + 8];
  snprintf(lost, sizeof lost, "%s/lost", dir);
  DIR *d = opendir(lost);
  int n = 0;
  struct dirent *de;
  while (d && (de = readdir(d)) != NULL)
    n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
  if (d) closedir(d);
  return n;
}

/* The path of the file in dir/sub ending in suffix whose name sorts last (or, !highest,
 * first); 0 if there is none. */
static int last_named(const char *dir, const char *sub, const char *suffix, int highest,
                      char out[PATH_MAX + 300]) {
  char folder[PATH_MAX + 8];
  snprintf(folder, sizeof folder, "%s/%s", dir, sub);
  DIR *d = opendir(folder);
  struct dirent *de;
  out[0] = 0;
  while (d && (de = readdir(d)) != NULL) {
    if (!strstr(de->d_name, suffix)) continue;
    int order = out[0] ? strcmp(de->d_name, strrchr(out, '/') + 1) : 0;
    if (!out[0] || (highest ? order > 0 : order < 0))
      snprintf(out, PATH_MAX + 300, "%s/%s", folder, de->d_name);
  }
  if (d) closedir(d);
  return out[0] != 0;
}

static void current_manifest(const char *dir, char out[PATH_MAX + 80]) {
  char path[PATH_MAX + 16], name[64] = "";
  snprintf(path, sizeof path, "%s/CURRENT", dir);
  FILE *f = fopen(path, "r");
  CHECK(f && fgets(name, sizeof name, f));
  if (f) fclose(f);
  name[strcspn(name, "\n")] = 0;
  snprintf(out, PATH_MAX + 80, "%s/%s", dir, name);
}

static void test_missing_current(void) {
  char dir[PATH_MAX];
  test_tmpdir(dir, "repair-current");
  make_db(dir);
  CHECK_EQ_U64(count_wrong(dir), 0);
  remove_current(dir);
  qx_db_options o = options();
  qx_db *db;
  CHECK_RC(qx_db_open(dir, &o, &db, NULL), QX_ERR_CORRUPT);
  qx_db_repair_report r;
  CHECK_OK(qx_db_repair(dir, &o, NULL, NULL, &r));
  CHECK(r.tables_kept > 1);
  CHECK_EQ_U64(r.tables_lost, 0);
  CHECK_EQ_U64(r.lost_first_lsn, 0);
  CHECK_EQ_U64(count_wrong(dir), 0);
  CHECK_OK(qx_db_verify(dir, NULL));
  CHECK_EQ_U64(lost_files(dir, "MANIFEST-"), 1);
  test_rmtree(dir);
}

static void test_damaged_manifest(void) {
  char dir[PATH_MAX], manifest[PATH_MAX + 80];
  test_tmpdir(dir, "repair-manifest");
  make_db(dir);
  current_manifest(dir, manifest);
  /* Inside the first edit, the MANIFEST's only one (the deleting writer stopped before it added
   * another): corruption, not a torn tail, so open deletes no table file as an orphan. */
  test_flip_byte(manifest, 30);
  qx_db_options o = options();
  qx_db *db;
  CHECK_RC(qx_db_open(dir, &o, &db, NULL), QX_ERR_CORRUPT);
  CHECK_OK(qx_db_repair(dir, &o, NULL, NULL, NULL));
  CHECK_EQ_U64(count_wrong(dir), 0);
  CHECK_EQ_U64(lost_files(dir, "CURRENT"), 1);
  test_rmtree(dir);
}

/* The newest table file is damaged: it goes to lost/, and every key another file or the WAL
 * holds comes back. */
static void test_damaged_table_file(void) {
  char dir[PATH_MAX], newest[PATH_MAX + 300];
  test_tmpdir(dir, "repair-sst");
  make_db(dir);
  CHECK(last_named(dir, "sst", ".sst", 1, newest));
  test_flip_byte(newest, 100);
  remove_current(dir);
  qx_db_options o = options();
  qx_db_repair_report r;
  CHECK_OK(qx_db_repair(dir, &o, NULL, NULL, &r));
  CHECK_EQ_U64(r.tables_lost, 1);
  CHECK(access(newest, F_OK) != 0);
  CHECK_EQ_U64(lost_files(dir, strrchr(newest, '/') + 1), 1);
  int wrong = count_wrong(dir);
  /* Its keys come back where the WAL or an older file still holds them (how much of the WAL
   * is left depends on when it was trimmed); the rest of the folder comes back whole. */
  printf("a damaged table file: %d of %d keys wrong\n", wrong, KEYS);
  CHECK(wrong < KEYS / 2);
  test_rmtree(dir);
}

/* Damage in the WAL's oldest segment: every entry before it is kept, and as the WAL then ends
 * below the table files, it continues after them. */
static void test_damaged_wal(void) {
  char dir[PATH_MAX], segment[PATH_MAX + 300];
  test_tmpdir(dir, "repair-wal");
  make_db(dir);
  CHECK(last_named(dir, "wal", ".wal", 0, segment)); /* the oldest: all after it goes too */
  test_flip_byte(segment, 64 + 40);                  /* the first entry's payload */
  qx_db_options o = options();
  qx_db *db;
  CHECK_RC(qx_db_open(dir, &o, &db, NULL), QX_ERR_CORRUPT);
  qx_db_repair_report r;
  CHECK_OK(qx_db_repair(dir, &o, NULL, NULL, &r));
  CHECK(r.wal_discarded_bytes > 0);
  /* The WAL now ends below the table files: its entries joined them, a new log starts. */
  CHECK(lost_files(dir, "0000") >= 1);
  int wrong = count_wrong(dir);
  CHECK(wrong > 0 && wrong <= KEYS / 7 + 1); /* the deletes were only in the WAL */
  CHECK_OK(qx_db_open(dir, &o, &db, NULL));
  uint64_t lsn = 0;
  CHECK_OK(qx_db_put(db, "after", 5, "x", 1, QX_DURABILITY_GROUP, &lsn));
  CHECK(lsn > 2 * KEYS);
  CHECK_OK(qx_db_close(db));
  test_rmtree(dir);
}

int main(void) {
  test_missing_current();
  test_damaged_manifest();
  test_damaged_table_file();
  test_damaged_wal();
  return test_finish("test_db_repair");
}
