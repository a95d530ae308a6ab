/* Bounded open after a clean close: qx_db_close flushes the MemTable, so the next open replays
 * no WAL entry (its time does not depend on how much the MemTable held), and every write is
 * still there, through a writer's open and a reader's; an open after a writer stopped without
 * closing replays exactly the writes after the last flush. */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "qaxdb/db.h"

#define KEYS 5000

static size_t key_of(int k, char *out) {
  return (size_t)sprintf(out, "reopen%05d", k);
}

static void put_keys(qx_db *db, int from, int to, uint64_t *lsn) {
  for (int k = from; k < to; k++) {
    char key[16];
    uint64_t value[8] = {(uint64_t)k};
    CHECK_OK(qx_db_put(db, key, key_of(k, key), value, sizeof value, QX_DURABILITY_NONE, lsn));
  }
}

static void check_keys(qx_db *db, int count) {
  for (int k = 0; k < count; k++) {
    char key[16];
    qx_db_value v;
    int rc = qx_db_get(db, NULL, key, key_of(k, key), &v);
    CHECK_OK(rc);
    if (rc != QX_OK) return;
    CHECK_EQ_U64(*(const uint64_t *)v.data, k);
    qx_db_value_release(&v);
  }
}

/* Reopens dir (read_only or not), checks the recovery and the first count keys, closes. */
static void reopen(const char *dir, int read_only, uint64_t replayed, uint64_t last, int count) {
  qx_db_options o;
  qx_db_options_init(&o);
  o.read_only = read_only;
  qx_db *db = NULL;
  qx_db_recovery rec;
  CHECK_OK(qx_db_open(dir, &o, &db, &rec));
  if (!db) return;
  CHECK_EQ_U64(rec.replayed, replayed);
  CHECK_EQ_U64(qx_db_last_lsn(db), last);
  check_keys(db, count);
  CHECK_OK(qx_db_close(db));
}

int main(void) {
  char dir[PATH_MAX];
  test_tmpdir(dir, "reopen");
  qx_db *db = NULL;
  uint64_t lsn = 0;
  CHECK_OK(qx_db_open(dir, NULL, &db, NULL));
  put_keys(db, 0, KEYS, &lsn);
  CHECK_OK(qx_db_close(db));
  reopen(dir, 0, 0, lsn, KEYS);
  reopen(dir, 1, 0, lsn, KEYS);

  /* A writer that stops without closing leaves its writes to replay. */
  pid_t pid = fork();
  if (pid == 0) {
    qx_db_options o;
    qx_db_options_init(&o);
    o.wal.ring_size = 0; /* no log ring left behind in /dev/shm */
    uint64_t last = 0;
    if (qx_db_open(dir, &o, &db, NULL) != QX_OK) _exit(1);
    put_keys(db, KEYS, 2 * KEYS, &last);
    _exit(qx_db_wait_durable(db, last, -1) == QX_OK ? 0 : 2);
  }
  int status = -1;
  waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  reopen(dir, 0, KEYS, lsn + KEYS, 2 * KEYS);
  reopen(dir, 0, 0, lsn + KEYS, 2 * KEYS);
  test_rmtree(dir);
  return check_failures ? 1 : 0;
}
