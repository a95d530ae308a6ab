/* Snapshots and restores (qx_db_snapshot, qx_db_restore): a snapshot taken while a writer keeps
 * writing, and while tiny MemTables keep the flush and compaction threads busy, opens on its
 * own and holds exactly the writes up to its LSN, which covers every write acknowledged before
 * the call; a restore of it holds the same; a restore refuses a non-empty folder, a folder that
 * is not a snapshot and a snapshot with a flipped byte, naming the damaged file. */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "qaxdb/db.h"

#define WRITES 30000

typedef struct writer_state {
  qx_db *db;
  atomic_uint_fast64_t acked; /* writes 1..acked have returned */
} writer_state;

static size_t key_of(uint64_t i, char *out) {
  return (size_t)sprintf(out, "k%08" PRIu64, i);
}

/* Write i goes to key i with value i; on a fresh folder it gets LSN i. */
static void *writer(void *arg) {
  writer_state *w = arg;
  for (uint64_t i = 1; i <= WRITES; i++) {
    char key[16];
    uint64_t value[12] = {i};
    uint64_t lsn = 0;
    CHECK_OK(qx_db_put(w->db, key, key_of(i, key), value, sizeof value, QX_DURABILITY_NONE, &lsn));
    CHECK_EQ_U64(lsn, i);
    atomic_store(&w->acked, i);
  }
  return NULL;
}

static void small_options(qx_db_options *o) {
  qx_db_options_init(o);
  o->memtable_size = 64u << 10;
  o->sst_file_size = 64u << 10;
  o->l1_size = 256u << 10;
}

/* Checks that dir holds exactly the keys 1..lsn, each with its own value. */
static void check_prefix(const char *dir, uint64_t lsn) {
  qx_db *db = NULL;
  qx_db_options o;
  small_options(&o);
  CHECK_OK(qx_db_open(dir, &o, &db, NULL));
  if (!db) return;
  CHECK_EQ_U64(qx_db_last_lsn(db), lsn);
  qx_db_iter *it = NULL;
  CHECK_OK(qx_db_iter_create(db, NULL, NULL, 0, NULL, 0, &it));
  uint64_t expect = 1;
  for (; it && qx_db_iter_valid(it); qx_db_iter_next(it), expect++) {
    char key[16];
    size_t klen, vlen;
    const void *k = qx_db_iter_key(it, &klen);
    const uint64_t *v = qx_db_iter_value(it, &vlen);
    if (klen != key_of(expect, key) || memcmp(k, key, klen) != 0 || v[0] != expect) {
      CHECK(!"snapshot holds a key out of the prefix");
      break;
    }
  }
  CHECK_EQ_U64(expect - 1, lsn);
  qx_db_iter_destroy(it);
  CHECK_OK(qx_db_close(db));
}

static uint64_t snapshot_under_writes(const char *data, const char *snap) {
  qx_db_options o;
  small_options(&o);
  writer_state w = {0};
  CHECK_OK(qx_db_open(data, &o, &w.db, NULL));
  pthread_t t;
  pthread_create(&t, NULL, writer, &w);
  while (atomic_load(&w.acked) < WRITES / 3)
    usleep(1000);
  uint64_t acked_before = atomic_load(&w.acked), lsn = 0;
  CHECK_OK(qx_db_snapshot(w.db, snap, &lsn));
  CHECK(lsn >= acked_before);
  CHECK(lsn <= WRITES);
  pthread_join(t, NULL);
  qx_db_stats st;
  CHECK_OK(qx_db_stats_get(w.db, &st));
  CHECK(st.flushes > 0); /* the snapshot was taken over table files, not only a WAL */
  CHECK_OK(qx_db_close(w.db));
  return lsn;
}

static int file_contains(const char *path, const char *text) {
  char buf[256] = "";
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = 0;
  fclose(f);
  return strstr(buf, text) != NULL;
}

/* Flips one byte in the middle of the snapshot's first table file. */
static void flip_table_byte(const char *snap, char *damaged) {
  char sst_dir[PATH_MAX];
  test_join(sst_dir, snap, "sst");
  for (int n = 1; n < 100000; n++) {
    struct stat st;
    if (snprintf(damaged, PATH_MAX, "%s/%06d.sst", sst_dir, n) >= PATH_MAX ||
        stat(damaged, &st) != 0)
      continue;
    int fd = open(damaged, O_RDWR);
    uint8_t b;
    CHECK(pread(fd, &b, 1, st.st_size / 3) == 1);
    b ^= 0x40;
    CHECK(pwrite(fd, &b, 1, st.st_size / 3) == 1);
    close(fd);
    return;
  }
  CHECK(!"the snapshot has no table file");
}

int main(void) {
  char root[PATH_MAX], data[PATH_MAX], snap[PATH_MAX], restored[PATH_MAX], other[PATH_MAX];
  test_tmpdir(root, "snapshot");
  test_join(data, root, "data");
  test_join(snap, root, "snap");
  test_join(restored, root, "restored");
  test_join(other, root, "other");

  uint64_t lsn = snapshot_under_writes(data, snap);
  char marker[PATH_MAX], line[64];
  test_join(marker, snap, "SNAPSHOT");
  snprintf(line, sizeof line, "lsn=%" PRIu64 "\n", lsn);
  CHECK(file_contains(marker, line));

  uint64_t restored_lsn = 0;
  CHECK_OK(qx_db_restore(snap, restored, &restored_lsn));
  CHECK_EQ_U64(restored_lsn, lsn);
  check_prefix(restored, lsn);
  check_prefix(snap, lsn); /* opening it writes to it: checked after the restore copied it */

  /* A snapshot into a folder that holds something is refused. */
  qx_db *db = NULL;
  CHECK_OK(qx_db_open(restored, NULL, &db, NULL));
  CHECK_RC(qx_db_snapshot(db, data, NULL), QX_ERR_INVALID_ARG);
  CHECK_OK(qx_db_close(db));
  CHECK_RC(qx_db_restore(snap, data, NULL), QX_ERR_INVALID_ARG);
  CHECK_RC(qx_db_restore(data, other, NULL), QX_ERR_NOT_FOUND); /* not a snapshot */

  char damaged[PATH_MAX];
  flip_table_byte(snap, damaged);
  CHECK_RC(qx_db_restore(snap, other, NULL), QX_ERR_CORRUPT);
  CHECK(strstr(qx_last_error(), damaged) != NULL);
  CHECK(access(other, F_OK) != 0); /* nothing was written */
  test_rmtree(root);
  return check_failures ? 1 : 0;
}
