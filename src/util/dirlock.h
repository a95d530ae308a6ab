/* The lock on a data directory, held through an flock on DIR/LOCK: a writer holds it exclusively
 * so that two processes never write the same directory; read-only users share it, so that no
 * writer starts under them. The kernel drops the lock when the process dies. */
#ifndef QX_UTIL_DIRLOCK_H
#define QX_UTIL_DIRLOCK_H

/* Creates dir if missing and locks it exclusively; *fd_out receives the descriptor that holds
 * the lock. Returns QX_ERR_LOCKED if another process (or another handle in this one) holds it. */
int qx_dirlock_acquire(const char *dir, int *fd_out);

/* Takes a shared lock on an existing dir/LOCK without creating anything; *fd_out is -1 if there
 * is no LOCK file (then nobody can be writing). Returns QX_ERR_LOCKED if a writer holds it. */
int qx_dirlock_acquire_shared(const char *dir, int *fd_out);

/* 1 if a writer holds dir's lock now, 0 if not. It probes with a shared lock taken and dropped
 * at once, so a writer that starts in that instant fails to lock, as with any reader. */
int qx_dirlock_writer_holds(const char *dir);

void qx_dirlock_release(int fd);

#endif
