/* The armed paths of the file I/O layer (see io.h): each call asks the fault plan whether to fail
 * (io_fault.c), and while a power loss is being simulated records what it changes around the
 * real system call. Reached only after a test has armed the layer. */
#include "util/io.h"

#include <errno.h>
#include <stdlib.h>

#include "util/io_fault.h"

static int fail_with(const qx_fault_turn *t) {
  int e = t->error;
  qx_fault_leave(t);
  errno = e;
  return -1;
}

static size_t total_length(const struct iovec *iov, int iovcnt) {
  size_t n = 0;
  for (int i = 0; i < iovcnt; i++)
    n += iov[i].iov_len;
  return n;
}

/* A short write: the first half of the bytes reach the file, the call returns their count. */
static ssize_t write_half(const qx_fault_turn *t, int fd, const struct iovec *iov, int iovcnt,
                          off_t offset) {
  size_t left = total_length(iov, iovcnt) / 2;
  ssize_t written = 0;
  for (int i = 0; i < iovcnt && left > 0; i++) {
    size_t n = iov[i].iov_len < left ? iov[i].iov_len : left;
    if (t->tracking) qx_fault_before_change(fd, offset + written, (off_t)n);
    ssize_t w = pwrite(fd, iov[i].iov_base, n, offset + written);
    if (w < 0) break;
    written += w;
    left -= (size_t)w;
  }
  if (written == 0) return fail_with(t);
  qx_fault_leave(t);
  return written;
}

ssize_t qx_io_armed_pwritev(int fd, const struct iovec *iov, int iovcnt, off_t offset) {
  qx_fault_turn t = qx_fault_enter(QX_IO_WRITE);
  if (t.error && t.short_io) return write_half(&t, fd, iov, iovcnt, offset);
  if (t.error) return fail_with(&t);
  if (t.tracking) qx_fault_before_change(fd, offset, (off_t)total_length(iov, iovcnt));
  ssize_t n = pwritev(fd, iov, iovcnt, offset);
  int e = errno;
  qx_fault_leave(&t);
  errno = e;
  return n;
}

int qx_io_armed_sync(int fd, int data_only) {
  qx_fault_turn t = qx_fault_enter(QX_IO_SYNC);
  if (t.error) return fail_with(&t);
  int rc = data_only ? fdatasync(fd) : fsync(fd);
  int e = errno;
  if (rc == 0 && t.tracking) qx_fault_after_sync(fd);
  qx_fault_leave(&t);
  errno = e;
  return rc;
}

/* While tracking, O_TRUNC is applied after the open as a recorded truncation. */
int qx_io_armed_open(const char *path, int flags, mode_t mode) {
  qx_io_kind kind = (flags & O_CREAT)   ? QX_IO_CREATE
                    : (flags & O_TRUNC) ? QX_IO_TRUNCATE
                                        : QX_IO_KINDS;
  qx_fault_turn t = qx_fault_enter(kind);
  if (t.error) return fail_with(&t);
  int existed = t.tracking ? qx_fault_path_exists(path) : 1;
  int fd = open(path, t.tracking ? flags & ~O_TRUNC : flags, mode);
  int e = errno;
  if (fd >= 0 && t.tracking) {
    if (!existed) qx_fault_after_create(path);
    if (flags & O_TRUNC) {
      qx_fault_before_change(fd, 0, -1);
      if (ftruncate(fd, 0) != 0) {
        e = errno;
        close(fd);
        fd = -1;
      }
    }
  }
  qx_fault_leave(&t);
  errno = e;
  return fd;
}

int qx_io_armed_rename(const char *from, const char *to) {
  qx_fault_turn t = qx_fault_enter(QX_IO_RENAME);
  if (t.error) return fail_with(&t);
  qx_fault_file *replaced = t.tracking ? qx_fault_before_remove(to) : NULL;
  int rc = rename(from, to);
  int e = errno;
  if (t.tracking && rc == 0) qx_fault_after_rename(from, to, replaced);
  if (t.tracking && rc != 0) qx_fault_unpin(replaced);
  qx_fault_leave(&t);
  errno = e;
  return rc;
}

int qx_io_armed_posix_fallocate(int fd, off_t offset, off_t len) {
  qx_fault_turn t = qx_fault_enter(QX_IO_FALLOCATE);
  if (t.error) {
    int e = t.error;
    qx_fault_leave(&t);
    return e;
  }
  if (t.tracking) qx_fault_before_resize(fd);
  int rc = posix_fallocate(fd, offset, len);
  qx_fault_leave(&t);
  return rc;
}

int qx_io_armed_ftruncate(int fd, off_t length) {
  qx_fault_turn t = qx_fault_enter(QX_IO_TRUNCATE);
  if (t.error) return fail_with(&t);
  if (t.tracking) qx_fault_before_change(fd, length, -1);
  int rc = ftruncate(fd, length);
  int e = errno;
  qx_fault_leave(&t);
  errno = e;
  return rc;
}

int qx_io_armed_unlink(const char *path) {
  qx_fault_turn t = qx_fault_enter(QX_IO_UNLINK);
  if (t.error) return fail_with(&t);
  qx_fault_file *removed = t.tracking ? qx_fault_before_remove(path) : NULL;
  int rc = unlink(path);
  int e = errno;
  if (t.tracking && rc == 0) qx_fault_after_unlink(path, removed);
  if (t.tracking && rc != 0) qx_fault_unpin(removed);
  qx_fault_leave(&t);
  errno = e;
  return rc;
}

int qx_io_armed_mkdir(const char *path, mode_t mode) {
  qx_fault_turn t = qx_fault_enter(QX_IO_CREATE);
  if (t.error) return fail_with(&t);
  int rc = mkdir(path, mode);
  int e = errno;
  if (t.tracking && rc == 0) qx_fault_after_mkdir(path);
  qx_fault_leave(&t);
  errno = e;
  return rc;
}
