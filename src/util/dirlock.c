/* Directory lock through flock(LOCK_EX | LOCK_NB) on DIR/LOCK (see dirlock.h). flock locks
 * belong to the open file description, so a second open in the same process conflicts too. */
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

int qx_dirlock_acquire(const char *dir, int *fd_out) {
  int rc = qx_mkdir_p(dir);
  if (rc != QX_OK) return rc;
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/LOCK", dir);
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

void qx_dirlock_release(int fd) {
  if (fd >= 0) close(fd); /* closing the last descriptor releases the flock */
}
