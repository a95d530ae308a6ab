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
typedef enum qx_cluster_fault {
  QX_FAULT_KILL,   /* SIGKILL: the process is gone, its host is up (its port refuses) */
  QX_FAULT_FREEZE, /* SIGSTOP: the process hangs (its port still accepts): only the lease says */
} qx_cluster_fault;

/* Writes rows at `replicated` while it strikes the primary with fault after 300 acknowledged
 * rows: *failover_s is the time from the fault to the first row a new primary acknowledged,
 * *acked_lost the acknowledged rows missing on the new primary after 300 more. The node is
 * then restarted (or continued) and the cluster waits until it caught up. 0, or -1 with why on
 * stderr. */
int qx_cluster_failover(qx_cluster *c, qx_cluster_fault fault, double *failover_s,
                        uint64_t *acked_lost);
void qx_cluster_stop(qx_cluster *c);

#endif
