/* qx_db_restore: checks a snapshot (qx_db_snapshot) and puts a copy of it in place as a data
 * folder. Table and Parquet files are linked (the restored engine never writes them); the
 * MANIFEST, CURRENT and WAL are copied, since the restored engine appends to them and the
 * snapshot must stay as it was. */
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "lsm/snapshot_folder.h"
#include "qaxdb/db.h"
#include "util/error.h"
#include "util/filecopy.h"
#include "util/fileio.h"

/* Every checksum a snapshot has: MANIFEST, table files, Parquet sizes (qx_db_verify), WAL. */
static int check_snapshot(const char *snapshot, uint64_t *lsn) {
  int rc = qx_snapfolder_read_marker(snapshot, lsn);
  if (rc != QX_OK) return rc;
  qx_db_verify_report report;
  rc = qx_db_verify(snapshot, &report);
  if (rc != QX_OK) return rc;
  char wal_dir[PATH_MAX + 8];
  snprintf(wal_dir, sizeof wal_dir, "%s/wal", snapshot);
  qx_wal_recovery rec;
  rc = qx_wal_scan(wal_dir, 1, NULL, NULL, &rec);
  if (rc == QX_OK && rec.truncated_bytes)
    rc = qx_fail(QX_ERR_CORRUPT, "%s: damaged at offset %" PRIu64 " (%" PRIu64 " bytes unreadable)",
                 rec.truncated_file, rec.truncated_offset, rec.truncated_bytes);
  if (rc == QX_OK && rec.last_lsn != *lsn)
    rc = qx_fail(QX_ERR_CORRUPT, "%s: the WAL ends at LSN %" PRIu64 ", the snapshot is at %" PRIu64,
                 wal_dir, rec.last_lsn, *lsn);
  return rc;
}

/* The walk's state; nftw has no context argument, and restores are not run concurrently
 * within one process (each has its own folders, but this state is shared). */
static struct {
  size_t from_len;
  char to[PATH_MAX];
  int rc;
} walk;

/* The marker describes the snapshot, not the data folder made from it, which changes. */
static int is_marker(const char *relative) {
  return strcmp(relative, "/" QX_SNAPSHOT_MARKER) == 0;
}

static int immutable(const char *relative) {
  return strncmp(relative, "/sst/", 5) == 0 || strncmp(relative, "/olap/", 6) == 0;
}

static int put_entry(const char *path, const struct stat *st, int flag, struct FTW *f) {
  (void)st;
  (void)f;
  const char *relative = path + walk.from_len;
  char to[PATH_MAX * 2];
  snprintf(to, sizeof to, "%s%s", walk.to, relative);
  if (flag == FTW_D)
    walk.rc = *relative ? qx_mkdir_p(to) : QX_OK;
  else if (flag == FTW_F && strcmp(relative, "/wal/LOCK") != 0 && !is_marker(relative))
    walk.rc = immutable(relative) ? qx_link_or_copy(path, to) : qx_copy_file(path, to);
  return walk.rc != QX_OK;
}

static pthread_mutex_t walk_mu = PTHREAD_MUTEX_INITIALIZER;

static int put_files(const char *snapshot, const char *tmp) {
  pthread_mutex_lock(&walk_mu);
  walk.from_len = strlen(snapshot);
  snprintf(walk.to, sizeof walk.to, "%s", tmp);
  walk.rc = QX_OK;
  int failed = nftw(snapshot, put_entry, 16, FTW_PHYS);
  int rc = walk.rc;
  pthread_mutex_unlock(&walk_mu);
  if (failed && rc == QX_OK) rc = qx_fail(QX_ERR_IO, "cannot read the files of %s", snapshot);
  return rc;
}

int qx_db_restore(const char *snapshot_dir, const char *dest_dir, uint64_t *lsn_out) {
  uint64_t lsn = 0;
  char tmp[PATH_MAX];
  int rc = qx_snapfolder_begin(dest_dir, tmp, sizeof tmp);
  if (rc != QX_OK) return rc;
  rc = check_snapshot(snapshot_dir, &lsn);
  if (rc == QX_OK) rc = put_files(snapshot_dir, tmp);
  if (rc == QX_OK) rc = qx_snapfolder_finish(tmp, dest_dir);
  if (rc != QX_OK) {
    qx_snapfolder_remove(tmp);
    return rc;
  }
  if (lsn_out) *lsn_out = lsn;
  return QX_OK;
}
