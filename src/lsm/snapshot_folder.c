/* Building a snapshot or restore folder under a temporary name and putting it in place
 * atomically, and the SNAPSHOT marker file (snapshot_folder.h). */
#include "lsm/snapshot_folder.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/error.h"
#include "util/fileio.h"

/* 1 if path is a folder with no entries, 0 if it has some, -1 if it is not a folder. */
static int folder_is_empty(const char *path) {
  DIR *d = opendir(path);
  if (!d) return -1;
  int empty = 1;
  struct dirent *de;
  while (empty && (de = readdir(d)) != NULL)
    empty = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0;
  closedir(d);
  return empty;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *f) {
  (void)st;
  (void)f;
  return flag == FTW_DP ? rmdir(path) : unlink(path);
}

void qx_snapfolder_remove(const char *path) {
  nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int qx_snapfolder_begin(const char *dest, char *tmp, size_t cap) {
  struct stat st;
  if (stat(dest, &st) == 0 && folder_is_empty(dest) != 1)
    return qx_fail(QX_ERR_INVALID_ARG, "%s: exists and is not an empty folder; nothing was written",
                   dest);
  int n = snprintf(tmp, cap, "%s.tmp", dest);
  if (n < 0 || (size_t)n >= cap || (size_t)n + 128 >= PATH_MAX)
    return qx_fail(QX_ERR_INVALID_ARG, "path too long: %s", dest);
  qx_snapfolder_remove(tmp);
  return qx_mkdir_p(tmp);
}

static int sync_folder(const char *path, const struct stat *st, int flag, struct FTW *f) {
  (void)st;
  (void)f;
  return flag == FTW_DP && qx_fsync_dir(path) != QX_OK;
}

int qx_snapfolder_finish(const char *tmp, const char *dest) {
  if (nftw(tmp, sync_folder, 16, FTW_DEPTH | FTW_PHYS) != 0)
    return qx_fail(QX_ERR_IO, "cannot sync the folders under %s", tmp);
  /* rename(2) replaces dest only if it is an empty folder, which begin checked. */
  if (rename(tmp, dest) != 0) return qx_fail_errno(QX_ERR_IO, errno, "rename %s to %s", tmp, dest);
  char parent[PATH_MAX];
  snprintf(parent, sizeof parent, "%s", dest);
  return qx_fsync_dir(dirname(parent));
}

int qx_snapfolder_write_marker(const char *dir, uint64_t lsn, uint64_t checkpoint_lsn,
                               const char *source) {
  char path[PATH_MAX + 16], when[32];
  snprintf(path, sizeof path, "%s/" QX_SNAPSHOT_MARKER, dir);
  time_t now = time(NULL);
  struct tm tm;
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
  char text[PATH_MAX + 128];
  int n = snprintf(text, sizeof text,
                   "lsn=%" PRIu64 "\ncheckpoint_lsn=%" PRIu64 "\ntime=%s\nsource=%s\n", lsn,
                   checkpoint_lsn, when, source);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return qx_fail_errno(QX_ERR_IO, errno, "create %s", path);
  int rc = qx_pwrite_all(fd, text, (size_t)n, 0, path);
  if (rc == QX_OK && fsync(fd) != 0) rc = qx_fail_errno(QX_ERR_IO, errno, "fsync %s", path);
  close(fd);
  return rc;
}

int qx_snapfolder_read_marker(const char *dir, uint64_t *lsn) {
  char path[PATH_MAX + 16], line[PATH_MAX + 16];
  snprintf(path, sizeof path, "%s/" QX_SNAPSHOT_MARKER, dir);
  FILE *f = fopen(path, "r");
  if (!f)
    return qx_fail_errno(errno == ENOENT ? QX_ERR_NOT_FOUND : QX_ERR_IO, errno,
                         "%s: not a snapshot (no marker file)", path);
  int found = 0;
  while (!found && fgets(line, sizeof line, f))
    found = sscanf(line, "lsn=%" SCNu64, lsn) == 1;
  fclose(f);
  return found ? QX_OK : qx_fail(QX_ERR_CORRUPT, "%s: no lsn= line", path);
}
