/* An exclusive lock on a directory, held through an flock on DIR/LOCK, so that two processes
 * never write the same data directory. The kernel drops the lock when the process dies. */
#ifndef QX_UTIL_DIRLOCK_H
#define QX_UTIL_DIRLOCK_H

/* Creates dir if missing and locks it; *fd_out receives the descriptor that holds the lock.
 * Returns QX_ERR_LOCKED if another process (or another handle in this one) holds it. */
int qx_dirlock_acquire(const char *dir, int *fd_out);
void qx_dirlock_release(int fd);

#endif
