/* Replication: a primary streams its log to replicas over its PostgreSQL port; replicas write
 * it to their own WAL with the same LSNs, apply it to their engine and Parquet, serve reads
 * (SQL, subscriptions) at the LSN they applied, and acknowledge what they received, flushed and
 * applied. A write at QX_DURABILITY_REPLICATED is acknowledged once synced here and flushed by
 * replicas_required replicas. Every promotion starts a new epoch (<data>/EPOCHS): a replica
 * refuses a primary of an older epoch, and a node whose log went past the end of its epoch is
 * rebuilt from a copy of the primary. With etcd, nodes elect the primary themselves (a leader
 * key under a lease); without it, `qaxdb promote` makes a replica the primary.
 * docs/replication.md says how to run it; docs/formats/replication.md has the stream. */
#ifndef QAXDB_REPL_H
#define QAXDB_REPL_H

#include <stdint.h>

#include "qaxdb/db.h"
#include "qaxdb/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct qx_repl qx_repl;

typedef enum qx_repl_role {
  QX_REPL_PRIMARY = 0, /* takes writes and streams them */
  QX_REPL_REPLICA = 1, /* follows a primary; refuses writes, naming the primary */
  QX_REPL_FENCED = 2,  /* a primary that lost its lease: refuses writes until it knows more */
} qx_repl_role;

#define QX_REPL_MAX_REPLICAS 16
#define QX_REPL_DEFAULT_TIMEOUT_MS 10000
#define QX_REPL_DEFAULT_TTL_S 2

typedef struct qx_repl_options {
  const char *node_name; /* this node, unique in its cluster (required; 1..63 characters) */
  const char *advertise; /* host:port of this node's PostgreSQL port, as others reach it */
  const char *primary;   /* start as a replica of the primary at host:port; NULL: as primary */
  const char *user, *password;     /* the login at the primary (NULL: none needed) */
  int replicas_required;           /* replicas that flush a write at `replicated`; default 1 */
  uint32_t replication_timeout_ms; /* how long such a write waits for them; default 10 s */
  /* Automatic failover through etcd: its client URLs ("http://host:port,..."), NULL for none. */
  const char *etcd;
  const char *cluster; /* the cluster's name, the prefix of its keys in etcd; "qaxdb" */
  int ttl_s;           /* the leader's lease; default QX_REPL_DEFAULT_TTL_S */
} qx_repl_options;

void qx_repl_options_init(qx_repl_options *options);

/* Starts replication on db, an open database of this process, as options say: as a replica it
 * refuses callers' writes and follows the primary; as a primary it serves replicas (through
 * the server: qx_server_options.repl). */
int qx_repl_start(qx_db *db, const qx_repl_options *options, qx_repl **out);
/* Stops following or serving (replica connections end) and frees. Before qx_db_close. */
void qx_repl_stop(qx_repl *repl);

/* Makes this replica the primary in the next epoch, at its last applied LSN: for clusters
 * without etcd (with etcd the nodes elect one). QX_ERR_INVALID_ARG if it is the primary. */
int qx_repl_promote(qx_repl *repl);

typedef struct qx_repl_peer {
  char name[64];
  int connected;
  uint64_t sent_lsn, received_lsn, flushed_lsn, applied_lsn;
  uint64_t lag_lsns;  /* the primary's last LSN beyond what it applied */
  int64_t ack_age_ns; /* since its last acknowledgement */
} qx_repl_peer;

typedef struct qx_repl_status {
  qx_repl_role role;
  uint64_t epoch;
  char node[64];
  char primary[128]; /* host:port of the primary this node knows of ("" if none) */
  uint64_t last_lsn; /* this node's log */
  /* a replica: what it has of the primary's log, and the primary's last LSN it was told of */
  int streaming;
  uint64_t received_lsn, flushed_lsn, applied_lsn, primary_lsn;
  uint64_t lag_lsns; /* primary_lsn beyond applied_lsn */
  /* a replica that cannot follow: why (its log diverged, or is older than the primary keeps) */
  int needs_rebuild;
  char problem[256];
  /* a primary: its replicas */
  uint32_t peer_count;
  qx_repl_peer peers[QX_REPL_MAX_REPLICAS];
} qx_repl_status;

void qx_repl_status_get(qx_repl *repl, qx_repl_status *out);
const char *qx_repl_role_name(qx_repl_role role);

/* Copies the primary's data folder into dir (absent, or empty), at a consistent LSN, for a new
 * replica or one to rebuild; primary, user and password as in qx_repl_options. Prints nothing;
 * *lsn_out (may be NULL) is the LSN the copy holds every write up to. */
int qx_repl_basebackup(const char *primary, const char *user, const char *password, const char *dir,
                       uint64_t *lsn_out);

#ifdef __cplusplus
}
#endif
#endif
