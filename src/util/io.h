/* The file I/O layer: every call in qaxdb's own code that changes a file or a directory goes
 * through one of these wrappers - creating opens, writes, syncs (of files and of directories),
 * renames, preallocation, truncation, unlinks and mkdir. Each takes the arguments of the call
 * it is named after and returns what that call returns, with errno set the same way, so a call
 * site reads exactly as before.
 *
 * Why a layer: tests arm faults here (src/util/io_fault.h): they count calls by kind, fail the
 * Nth one with ENOSPC or EIO, or simulate a power loss that drops every change not yet synced.
 * Unarmed, a wrapper costs one relaxed load of a flag and a branch predicted not taken.
 *
 * Rule for code that changes files: change them only through these calls. A store through a
 * shared writable mapping is invisible to the layer; a writer that maps files writable asks
 * qx_io_mapped_writes_allowed() (when it opens and when it starts a new file) and writes
 * through qx_io_pwrite/pwritev instead while it returns 0. Opens without O_CREAT or O_TRUNC,
 * reads and closes change nothing and need not come here. */
#ifndef QX_UTIL_IO_H
#define QX_UTIL_IO_H

#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

/* Non-zero while a test has armed the layer (io_fault.h); only io_fault.c writes it. */
extern atomic_int qx_io_fault_armed;

static inline int qx_io_armed(void) {
  return __builtin_expect(atomic_load_explicit(&qx_io_fault_armed, memory_order_relaxed), 0);
}

/* The armed paths (io.c): the same calls, routed through the fault plan. */
int qx_io_armed_open(const char *path, int flags, mode_t mode);
ssize_t qx_io_armed_pwritev(int fd, const struct iovec *iov, int iovcnt, off_t offset);
int qx_io_armed_sync(int fd, int data_only);
int qx_io_armed_rename(const char *from, const char *to);
int qx_io_armed_posix_fallocate(int fd, off_t offset, off_t len);
int qx_io_armed_ftruncate(int fd, off_t length);
int qx_io_armed_unlink(const char *path);
int qx_io_armed_mkdir(const char *path, mode_t mode);

/* open(2) for calls that create (O_CREAT) or truncate (O_TRUNC) a file. */
static inline int qx_io_open(const char *path, int flags, mode_t mode) {
  return qx_io_armed() ? qx_io_armed_open(path, flags, mode) : open(path, flags, mode);
}

static inline ssize_t qx_io_pwrite(int fd, const void *buf, size_t n, off_t offset) {
  struct iovec one = {(void *)buf, n};
  return qx_io_armed() ? qx_io_armed_pwritev(fd, &one, 1, offset) : pwrite(fd, buf, n, offset);
}

static inline ssize_t qx_io_pwritev(int fd, const struct iovec *iov, int iovcnt, off_t offset) {
  return qx_io_armed() ? qx_io_armed_pwritev(fd, iov, iovcnt, offset)
                       : pwritev(fd, iov, iovcnt, offset);
}

/* fsync(2); on a directory's descriptor it makes the creates, renames and unlinks in it
 * durable (see qx_fsync_dir). */
static inline int qx_io_fsync(int fd) {
  return qx_io_armed() ? qx_io_armed_sync(fd, 0) : fsync(fd);
}

static inline int qx_io_fdatasync(int fd) {
  return qx_io_armed() ? qx_io_armed_sync(fd, 1) : fdatasync(fd);
}

static inline int qx_io_rename(const char *from, const char *to) {
  return qx_io_armed() ? qx_io_armed_rename(from, to) : rename(from, to);
}

/* posix_fallocate(3): returns 0 or an error number (errno is not set). */
static inline int qx_io_posix_fallocate(int fd, off_t offset, off_t len) {
  return qx_io_armed() ? qx_io_armed_posix_fallocate(fd, offset, len)
                       : posix_fallocate(fd, offset, len);
}

static inline int qx_io_ftruncate(int fd, off_t length) {
  return qx_io_armed() ? qx_io_armed_ftruncate(fd, length) : ftruncate(fd, length);
}

static inline int qx_io_unlink(const char *path) {
  return qx_io_armed() ? qx_io_armed_unlink(path) : unlink(path);
}

static inline int qx_io_mkdir(const char *path, mode_t mode) {
  return qx_io_armed() ? qx_io_armed_mkdir(path, mode) : mkdir(path, mode);
}

/* 0 while a test tracks writes for a simulated power loss: then files must not be changed
 * through shared writable mappings (see the rule above). Not a per-write check: ask when a
 * file is opened or started. */
int qx_io_mapped_writes_allowed(void);

#endif
