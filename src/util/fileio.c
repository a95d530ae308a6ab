/* File helpers (see fileio.h). */
#include "util/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/error.h"
#include "util/io.h"

/* Creates the directory path if it is missing. A new directory's name is durable only once its
 * parent is synced: without that, a power loss could take the folder with every synced file in
 * it. */
static int make_dir(char *path) {
  if (qx_io_mkdir(path, 0755) != 0)
    return errno == EEXIST ? QX_OK : qx_fail_errno(QX_ERR_IO, errno, "mkdir %s", path);
  char *slash = strrchr(path, '/');
  if (!slash) return qx_fsync_dir(".");
  if (slash == path) return qx_fsync_dir("/");
  *slash = '\0';
  int rc = qx_fsync_dir(path);
  *slash = '/';
  return rc;
}

int qx_mkdir_p(const char *dir) {
  char path[PATH_MAX];
  size_t len = strlen(dir);
  if (len == 0 || len >= sizeof path) return qx_fail(QX_ERR_INVALID_ARG, "bad directory name");
  memcpy(path, dir, len + 1);
  for (char *p = path + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    int rc = make_dir(path);
    if (rc != QX_OK) return rc;
    *p = '/';
  }
  return make_dir(path);
}

int qx_pwrite_all(int fd, const void *buf, size_t n, uint64_t offset, const char *path) {
  const char *p = buf;
  while (n > 0) {
    ssize_t w = qx_io_pwrite(fd, p, n, (off_t)offset);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0)
      return qx_fail_errno(QX_ERR_IO, errno, "write %s at offset %llu", path,
                           (unsigned long long)offset);
    p += w;
    n -= (size_t)w;
    offset += (uint64_t)w;
  }
  return QX_OK;
}

int qx_pread_all(int fd, void *buf, size_t n, uint64_t offset, const char *path) {
  char *p = buf;
  while (n > 0) {
    ssize_t r = pread(fd, p, n, (off_t)offset);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0)
      return qx_fail_errno(QX_ERR_IO, errno, "read %s at offset %llu", path,
                           (unsigned long long)offset);
    if (r == 0)
      return qx_fail(QX_ERR_CORRUPT, "%s: unexpected end of file at offset %llu", path,
                     (unsigned long long)offset);
    p += r;
    n -= (size_t)r;
    offset += (uint64_t)r;
  }
  return QX_OK;
}

int qx_fsync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return qx_fail_errno(QX_ERR_IO, errno, "open directory %s", dir);
  int rc =
      qx_io_fsync(fd) == 0 ? QX_OK : qx_fail_errno(QX_ERR_IO, errno, "fsync directory %s", dir);
  close(fd);
  return rc;
}

int qx_open_sized(const char *path, int flags, int *fd_out, uint64_t *size_out) {
  int fd = open(path, flags | O_CLOEXEC);
  if (fd < 0) return qx_fail_errno(QX_ERR_IO, errno, "open %s", path);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return qx_fail_errno(QX_ERR_IO, e, "stat %s", path);
  }
  *fd_out = fd;
  *size_out = (uint64_t)st.st_size;
  return QX_OK;
}
