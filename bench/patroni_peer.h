/* The PostgreSQL 15 + Patroni + etcd peer of qaxdb-bench-repl: a 3-node Patroni cluster on
 * loopback, started and stopped by the bench, and the replication measurements taken on it
 * (commit latency per synchronous_commit mode, replica lag, kill -9 failover). */
#ifndef QX_BENCH_PATRONI_PEER_H
#define QX_BENCH_PATRONI_PEER_H

#include <stdint.h>

#include "util/histogram.h"

typedef struct patroni_cluster patroni_cluster;

/* Starts 3 Patroni-managed PostgreSQL 15 nodes on free loopback ports under root_dir (created),
 * coordinated by the already-running etcd at etcd_endpoint ("http://127.0.0.1:P"), with the
 * given ttl/loop_wait/retry_timeout. Waits (bounded) until there is a leader and 2 streaming
 * replicas. As root, everything runs as the user postgres (dirs chowned). Returns 0 or -1 with a
 * message on stderr. root_dir is left in place (logs) by patroni_cluster_stop. The first call
 * installs an atexit hook and SIGINT/SIGTERM/SIGHUP handlers that stop every running cluster;
 * Patroni also gets SIGTERM if the bench dies by SIGKILL (PR_SET_PDEATHSIG), which fires when
 * the calling *thread* ends: call start and patroni_failover from the main thread.
 * Patroni 3.0.2 with etcd3 needs integer ttl >= 2, loop_wait >= 1, retry_timeout >= 2 (checked;
 * retry_timeout 1 leaves the cluster leaderless after the first lease loss). */
int patroni_cluster_start(const char *root_dir, const char *etcd_endpoint, int ttl, int loop_wait,
                          int retry_timeout, patroni_cluster **out);

/* Changes ttl/loop_wait/retry_timeout live (PATCH /config on the REST API) and waits until the
 * leader has re-granted its lease at the new TTL (bounded). */
int patroni_cluster_set_timing(patroni_cluster *c, int ttl, int loop_wait, int retry_timeout);

/* Commit latency of single-row INSERT commits on the leader over one libpq connection, n
 * commits, with synchronous_commit = mode ("local", "remote_write", "remote_apply", "on") and
 * one synchronous standby (Patroni synchronous_mode, switched off again before returning so the
 * cluster is back to async). Records each commit's latency (ns) in *out. */
int patroni_commit_latency(patroni_cluster *c, const char *mode, int n, histogram *out);

/* Replication lag under a steady write load (async replication): a writer commits rows at
 * rate_per_s for seconds; lag per row = time from the commit ack on the leader to the row being
 * visible on a replica, measured directly by polling the replica. Records samples in *out. */
int patroni_replication_lag(patroni_cluster *c, int rate_per_s, int seconds, histogram *out);

/* kill -9 of the leader (patroni + postmaster + its children) under a single autocommit INSERT
 * client (async replication); failover_s = kill to the first INSERT acknowledged by a new
 * leader; acked_lost = acknowledged ids missing on the new leader. Restarts the killed node and
 * waits (bounded) until it rejoined as a streaming replica. */
int patroni_failover(patroni_cluster *c, double *failover_s, uint64_t *acked_lost);

/* Stops all nodes (SIGTERM, bounded, then SIGKILL of patroni and postgres) and frees c. */
void patroni_cluster_stop(patroni_cluster *c);

#endif
