/* The inside of a qx_repl (qaxdb/repl.h), shared by node.c (roles, epochs, start and stop),
 * peers.c (the primary's replicas: acknowledgements, `replicated` waits, waking senders),
 * sender.c (serving one replica), follower.c (a replica following its primary),
 * basebackup_send.c / basebackup.c (copying a primary) and election.c (etcd).
 *
 * Locking: mu guards every field below it; the peers' `waiting` flags and wake descriptors are
 * also read by the commit hook, which runs under the engine's write lock and takes no lock. */
#ifndef QX_REPL_REPL_IMPL_H
#define QX_REPL_REPL_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "qaxdb/repl.h"
#include "repl/epochs.h"
#include "server/pg_wire.h"
#include "util/grow.h"

typedef struct repl_peer {
  int in_use; /* a replica of this name connected since the start */
  qx_repl_peer s;
  int64_t last_ack_ns;
  uint64_t session; /* which connection of this name is the live one */
  int wake_fd;      /* an eventfd: the commit hook's way to wake the sender */
  atomic_int waiting;
} repl_peer;

typedef struct repl_election repl_election; /* election.c */
typedef struct follower
    follower; /* checksum.c: CRC-32C of the entries from..to of db's log (QX_ERR_INVALID_ARG if it
               * does not hold them all), and how many. */
int qx_repl_log_checksum(qx_db *db, uint64_t from, uint64_t to, uint32_t *crc, uint64_t *count);

/* follower.c */

struct qx_repl {
  qx_db *db;
  char node[64], advertise[128], user[64], password[128], etcd[512], cluster[64];
  int replicas_required;
  uint32_t timeout_ms;
  int ttl_s;

  pthread_mutex_t mu;
  pthread_cond_t changed_cv; /* an acknowledgement came, the role changed, or stopping */
  int stopping;
  qx_repl_role role;
  qx_epochs epochs;
  char primary[128]; /* the primary this node follows or knows of */
  /* With etcd, a primary acknowledges writes only before this (monotonic ns): its lease is
   * then still its own, whatever its election thread is doing. 0: no lease (no etcd). */
  int64_t lease_deadline_ns;

  /* a primary's replicas */
  repl_peer peers[QX_REPL_MAX_REPLICAS];
  uint64_t next_session;

  /* a replica's following (follower.c) */
  pthread_t follower;
  int follower_started;
  int follower_quit; /* asks the follower to end */
  follower *follower_state;
  int repoint; /* the primary changed: reconnect */
  int streaming;
  uint64_t received, flushed, applied, primary_lsn;
  int needs_rebuild;
  char problem[256];

  repl_election *election;
};

/* node.c */
/* Starts epoch as the primary of this node (saved to EPOCHS first), and takes writes. */
int qx_repl_become_primary(qx_repl *r, uint64_t epoch);
/* Follows the primary at address (host:port), refusing writes. */
void qx_repl_become_replica(qx_repl *r, const char *address);
/* Refuses writes without following anyone: a primary that lost its lease. */
void qx_repl_fence(qx_repl *r, const char *why);
/* Adopts the primary's history (saved), as a replica that follows it. REQUIRES: not mu. */
int qx_repl_adopt_history(qx_repl *r, const qx_epochs *h);
/* "host:port" into host and port; QX_ERR_INVALID_ARG naming it otherwise. */
int qx_repl_split_address(const char *address, char *host, size_t host_cap, int *port);

/* peers.c */
void qx_repl_peers_init(qx_repl *r);
void qx_repl_peers_free(qx_repl *r);
/* Registers the connection of replica name (replacing an older one of that name); the slot,
 * or -1 with an error if every slot is taken. */
int qx_repl_peer_attach(qx_repl *r, const char *name, uint64_t *session);
void qx_repl_peer_detach(qx_repl *r, int slot, uint64_t session);
void qx_repl_peer_sent(qx_repl *r, int slot, uint64_t lsn);
void qx_repl_peer_ack(qx_repl *r, int slot, uint64_t received, uint64_t flushed, uint64_t applied);
/* The engine's hooks on a primary: the commit wakes the senders; `replicated` waits here. */
void qx_repl_on_commit(uint64_t lsn, void *ctx);
int qx_repl_wait_replicated(uint64_t lsn, void *ctx);

/* connect.c: libpq's connection to the primary at address (NULL if it is not host:port). */
typedef struct pg_conn PGconn; /* libpq's */
PGconn *qx_repl_connect(const char *address, const char *user, const char *password,
                        const char *application);
/* The same without blocking for long: gives up (NULL) when leave(ctx) says so or after the
 * connect timeout. A connection that failed is returned, for its message. */
PGconn *qx_repl_connect_while(const char *address, const char *user, const char *password,
                              const char *application, int (*leave)(void *), void *ctx);
/* Sends command and waits for its first result the same way (NULL: given up, or the connection
 * failed). */
typedef struct pg_result PGresult; /* libpq's */
PGresult *qx_repl_exec_while(PGconn *c, const char *command, int (*leave)(void *), void *ctx);

/* sender.c: sends b as one CopyData message and flushes; 0, or -1 if the peer is gone. */
int qx_repl_send(pg_conn *c, const qx_buffer *b);
/* Sends the node's epoch history (an `h` message). */
int qx_repl_send_history(qx_repl *r, pg_conn *c);
/* Serves `QAXDB REPLICATE` on the server's connection c, until it ends. */
void qx_repl_serve(qx_repl *r, pg_conn *c, const char *name, uint64_t next_lsn, uint64_t epoch,
                   uint64_t epoch_first_lsn);
/* basebackup_send.c: serves `QAXDB BASEBACKUP` on c. */
void qx_repl_serve_basebackup(qx_repl *r, pg_conn *c);

/* checksum.c: CRC-32C of the entries from..to of db's log (QX_ERR_INVALID_ARG if it does not
 * hold them all), and how many. */
int qx_repl_log_checksum(qx_db *db, uint64_t from, uint64_t to, uint32_t *crc, uint64_t *count);

/* follower.c */
int qx_repl_follower_start(qx_repl *r);
void qx_repl_follower_stop(qx_repl *r);

/* election.c: with etcd, keeps or wins the leader key (and fences when it cannot). */
int qx_repl_election_start(qx_repl *r);
void qx_repl_election_stop(qx_repl *r);

/* SQLSTATEs of the stream's refusals: the replica needs a copy of the primary, or the node
 * asked is not the primary (with its address in the message). */
#define QX_SQLSTATE_REBUILD "QX001"
#define QX_SQLSTATE_NOT_PRIMARY "25006" /* read_only_sql_transaction */
#define QX_SQLSTATE_FENCED "QX003"      /* the replica knows a newer epoch */

#endif
