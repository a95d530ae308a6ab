/* Small POSIX file helpers that retry short writes and report failures through qx_fail. */
#ifndef QX_UTIL_FILEIO_H
#define QX_UTIL_FILEIO_H

#include <stddef.h>
#include <stdint.h>

int qx_mkdir_p(const char *dir);
/* Opens path with flags (O_CLOEXEC added) and reports its size. */
int qx_open_sized(const char *path, int flags, int *fd_out, uint64_t *size_out);
int qx_pwrite_all(int fd, const void *buf, size_t n, uint64_t offset, const char *path);
int qx_pread_all(int fd, void *buf, size_t n, uint64_t offset, const char *path);
/* fsync a directory so that a create, rename or unlink inside it is durable. */
int qx_fsync_dir(const char *dir);

#endif
