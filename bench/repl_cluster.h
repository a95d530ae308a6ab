/* The qaxdb side of qaxdb-bench-repl's failover case: three qaxdbd processes on loopback that
 * elect their primary through etcd, a client that writes to whichever takes writes, and the
 * measured failover after a kill -9 of the primary. */
#ifndef QX_BENCH_REPL_CLUSTER_H
#define QX_BENCH_REPL_CLUSTER_H

#include <stdint.h>

typedef struct qx_cluster qx_cluster;

/* Starts 3 nodes under root_dir with --etcd etcd_endpoint --ttl ttl_s --durability
 * replicated, and waits (bounded) for a primary and two replicas. 0, or -1 with why on stderr. */
int qx_cluster_start(const char *root_dir, const char *etcd_endpoint, int ttl_s, qx_cluster **out);
/* Writes rows at `replicated` while it kills the primary with SIGKILL after 300 acknowledged
 * rows: *failover_s is the time from the kill to the first row a new primary acknowledged,
 * *acked_lost the acknowledged rows missing on the new primary after 300 more. The killed
 * node is restarted and the cluster waits until it caught up. 0, or -1 with why on stderr. */
int qx_cluster_failover(qx_cluster *c, double *failover_s, uint64_t *acked_lost);
void qx_cluster_stop(qx_cluster *c);

#endif
