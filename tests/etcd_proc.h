/* A real single-member etcd for tests and benchmarks: started on free loopback ports with its
 * data and log in a folder of the caller's, stopped with SIGTERM (SIGKILL if it lingers). */
#ifndef QX_TESTS_ETCD_PROC_H
#define QX_TESTS_ETCD_PROC_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

typedef struct etcd_proc {
  pid_t pid;
  char endpoint[64];  /* "http://127.0.0.1:PORT", for qx_etcd_open */
  char dir[PATH_MAX]; /* holds data/ and etcd.log */
} etcd_proc;

/* Starts etcd (the program in $ETCD, default "etcd" on the PATH) with its folder at
 * parent_dir/etcd and waits up to 20 s for /health to say {"health":"true"}. fast_timings
 * shortens heartbeats (10 ms) and elections (100 ms) so that leases down to 1 s work. Returns
 * QX_OK, or a failure with qx_last_error() naming the log. */
int etcd_proc_start(const char *parent_dir, bool fast_timings, etcd_proc *out);
/* SIGTERM, then SIGKILL after 10 s; a no-op once stopped. */
void etcd_proc_stop(etcd_proc *proc);

/* A loopback TCP port that was free a moment ago (the kernel's pick for port 0), or -1. */
int etcd_proc_free_port(void);

#endif
