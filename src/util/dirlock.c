/* Directory locks through flock on DIR/LOCK (see dirlock.h). flock locks belong to the open file
 * description, so a second open in the same process conflicts too. */
#include "util/dirlock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/file.h>
#include <unistd.h>

#include "util/error.h"
#include "util/fileio.h"
#include "util/io.h"

static void lock_path(const char *dir, char path[PATH_MAX]) {
  snprintf(path, PATH_MAX, "%s/LOCK", dir);
}

int qx_dirlock_acquire(const char *dir, int *fd_out) {
  int rc = qx_mkdir_p(dir);
  if (rc != QX_OK) return rc;
  char path[PATH_MAX];
  lock_path(dir, path);
  int fd = qx_io_open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return qx_fail_errno(QX_ERR_IO, errno, "open %s", path);
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    close(fd);
    if (e == EWOULDBLOCK) return qx_fail(QX_ERR_LOCKED, "%s is in use by another process", dir);
    return qx_fail_errno(QX_ERR_IO, e, "lock %s", path);
  }
  *fd_out = fd;
  return QX_OK;
}

int qx_dirlock_acquire_shared(const char *dir, int *fd_out) {
  char path[PATH_MAX];
  lock_path(dir, path);
  *fd_out = -1;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? QX_OK : qx_fail_errno(QX_ERR_IO, errno, "open %s", path);
  if (flock(fd, LOCK_SH | LOCK_NB) != 0) {
    int e = errno;
    close(fd);
    if (e == EWOULDBLOCK)
      return qx_fail(QX_ERR_LOCKED, "%s: a writer holds this folder (LOCK is taken)", dir);
    return qx_fail_errno(QX_ERR_IO, e, "lock %s", path);
  }
  *fd_out = fd;
  return QX_OK;
}

int qx_dirlock_writer_holds(const char *dir) {
  int fd;
  int rc = qx_dirlock_acquire_shared(dir, &fd);
  qx_dirlock_release(fd);
  return rc == QX_ERR_LOCKED;
}

void qx_dirlock_release(int fd) {
  if (fd >= 0) close(fd); /* closing the last descriptor releases the flock */
}
