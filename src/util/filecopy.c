/* Hard links with a copy as the fallback, and synced whole-file copies (filecopy.h). */
#include "util/filecopy.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/error.h"

static int copy_fd(int in, int out, const char *from, const char *to) {
  static __thread char buf[1 << 16];
  for (;;) {
    ssize_t n = read(in, buf, sizeof buf);
    if (n == 0) return QX_OK;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return qx_fail_errno(QX_ERR_IO, errno, "read %s", from);
    for (ssize_t done = 0; done < n;) {
      ssize_t w = write(out, buf + done, (size_t)(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return qx_fail_errno(QX_ERR_IO, errno, "write %s", to);
      done += w;
    }
  }
}

int qx_copy_file(const char *from, const char *to) {
  int in = open(from, O_RDONLY | O_CLOEXEC);
  if (in < 0)
    return qx_fail_errno(errno == ENOENT ? QX_ERR_NOT_FOUND : QX_ERR_IO, errno, "open %s", from);
  int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (out < 0) {
    int e = errno;
    close(in);
    return qx_fail_errno(QX_ERR_IO, e, "create %s", to);
  }
  int rc = copy_fd(in, out, from, to);
  if (rc == QX_OK && fsync(out) != 0) rc = qx_fail_errno(QX_ERR_IO, errno, "fsync %s", to);
  close(in);
  if (close(out) != 0 && rc == QX_OK) rc = qx_fail_errno(QX_ERR_IO, errno, "close %s", to);
  return rc;
}

int qx_link_or_copy(const char *from, const char *to) {
  if (link(from, to) == 0) return QX_OK;
  if (errno == EXDEV || errno == EPERM || errno == EMLINK || errno == ENOTSUP)
    return qx_copy_file(from, to);
  return qx_fail_errno(errno == ENOENT ? QX_ERR_NOT_FOUND : QX_ERR_IO, errno, "link %s to %s", from,
                       to);
}
