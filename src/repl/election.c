/* Automatic failover through etcd (its v3 JSON gateway, repl/etcd.h). Every node keeps a member
 * key under its own lease with its address and where its log ends. The primary holds the
 * leader key under the leader lease and renews it; if it cannot renew in time it fences itself
 * (refuses writes) before the lease can expire in etcd, so that two primaries never take
 * writes at once. When the leader key is gone, the node whose log is furthest on (ties: the
 * smaller name) creates it, takes the next epoch from the epoch key (compare-and-swap) and is
 * promoted; the others follow the address in the leader key. A replica that lost its stream
 * and finds the primary's port refusing connections (the process is gone, its host is not)
 * revokes the leader lease at once instead of waiting out the TTL.
 * Keys: /qaxdb/<cluster>/{leader,epoch,members/<node>}. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "repl/etcd.h"
#include "repl/repl_impl.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"
#include "util/thread.h"

#define PERIOD_MS 100        /* how often a node looks at etcd and renews its leases */
#define PROBE_TIMEOUT_MS 200 /* a connection to a primary that may be gone */
/* A primary fences itself when this part of its lease has passed since the last renewal it
 * sent was answered; etcd expires the lease no sooner than the whole TTL after that. */
#define FENCE_AT_PERCENT 75

struct repl_election {
  qx_repl *r;
  qx_etcd *etcd;
  pthread_t thread;
  char prefix[128];
  int64_t member_lease, leader_lease;
  int64_t renewed_ns; /* when the last answered leader renewal was sent */
};

typedef struct leader_info {
  int present;
  char node[64], address[128];
  int64_t lease; /* the lease the key is held under */
} leader_info;

static void key_of(const repl_election *e, const char *name, char *out, size_t cap) {
  snprintf(out, cap, "%s/%s", e->prefix, name);
}

static int read_leader(repl_election *e, leader_info *out) {
  char key[256], value[256];
  size_t len;
  key_of(e, "leader", key, sizeof key);
  memset(out, 0, sizeof *out);
  int rc = qx_etcd_get(e->etcd, key, value, sizeof value, &len, NULL, &out->lease);
  if (rc == QX_ERR_NOT_FOUND) return QX_OK;
  if (rc != QX_OK) return rc;
  out->present = sscanf(value, "%63s %127s", out->node, out->address) == 2;
  return QX_OK;
}

/* The epoch that wrote lsn, in this node's history. */
static uint64_t last_epoch(qx_repl *r, uint64_t lsn) {
  pthread_mutex_lock(&r->mu);
  uint64_t epoch = qx_epochs_of_lsn(&r->epochs, lsn).epoch;
  pthread_mutex_unlock(&r->mu);
  return epoch;
}

/* Publishes this node's address, the epoch of its last LSN and that LSN under its member
 * lease (granted on first use). */
static int publish_member(repl_election *e) {
  int expired = e->member_lease == 0 ||
                qx_etcd_lease_keepalive(e->etcd, e->member_lease, NULL) == QX_ERR_NOT_FOUND;
  int rc = expired ? qx_etcd_lease_grant(e->etcd, e->r->ttl_s, &e->member_lease, NULL) : QX_OK;
  if (rc != QX_OK) return rc;
  qx_repl_status st;
  qx_repl_status_get(e->r, &st);
  char key[256], value[256];
  snprintf(key, sizeof key, "%s/members/%s", e->prefix, e->r->node);
  int len = snprintf(value, sizeof value, "%s %" PRIu64 " %" PRIu64 " %d", e->r->advertise,
                     last_epoch(e->r, st.last_lsn), st.last_lsn, st.needs_rebuild);
  return qx_etcd_put(e->etcd, key, value, (size_t)len, e->member_lease);
}

/* ---- a primary keeping its lease ------------------------------------------------------------ */

static int64_t fence_after(const repl_election *e) {
  return (int64_t)e->r->ttl_s * 1000000000ll * FENCE_AT_PERCENT / 100;
}

/* The lease was renewed by a request sent at sent_ns: writes may be acknowledged until the
 * fence time after it. */
static void renewed(repl_election *e, int64_t sent_ns) {
  e->renewed_ns = sent_ns;
  pthread_mutex_lock(&e->r->mu);
  e->r->lease_deadline_ns = sent_ns + fence_after(e);
  pthread_mutex_unlock(&e->r->mu);
}

static void keep_leadership(repl_election *e) {
  int64_t sent = qx_monotonic_ns();
  int rc = qx_etcd_lease_keepalive(e->etcd, e->leader_lease, NULL);
  if (rc == QX_OK) {
    renewed(e, sent);
    return;
  }
  if (rc == QX_ERR_NOT_FOUND || sent - e->renewed_ns > fence_after(e)) {
    e->leader_lease = 0;
    qx_repl_fence(e->r, rc == QX_ERR_NOT_FOUND ? "the leader lease expired"
                                               : "the leader lease could not be renewed in time");
  }
}

/* ---- an election ---------------------------------------------------------------------------- */

/* Who is further on, as Raft compares logs: the epoch of the last entry first (a log that went
 * on under a newer primary holds what that primary acknowledged, however short), then its
 * LSN, then the smaller name. */
typedef struct best_member {
  const char *me;
  uint64_t my_epoch, my_lsn;
  int beaten; /* a live member is further on */
} best_member;

static int compare_member(const char *key, const char *value, size_t len, void *ctx) {
  (void)len;
  best_member *b = ctx;
  const char *name = strrchr(key, '/') + 1;
  char address[128];
  uint64_t epoch, lsn;
  int rebuild;
  if (strcmp(name, b->me) == 0 ||
      sscanf(value, "%127s %" SCNu64 " %" SCNu64 " %d", address, &epoch, &lsn, &rebuild) != 4 ||
      rebuild)
    return 0;
  if (epoch != b->my_epoch)
    b->beaten |= epoch > b->my_epoch;
  else if (lsn != b->my_lsn)
    b->beaten |= lsn > b->my_lsn;
  else
    b->beaten |= strcmp(name, b->me) < 0;
  return 0;
}

static int next_epoch(repl_election *e, uint64_t *epoch) {
  char key[256], value[64];
  key_of(e, "epoch", key, sizeof key);
  for (int attempt = 0; attempt < 5; attempt++) {
    size_t len;
    int64_t revision = 0;
    uint64_t current = 0;
    int rc = qx_etcd_get(e->etcd, key, value, sizeof value, &len, &revision, NULL);
    if (rc != QX_OK && rc != QX_ERR_NOT_FOUND) return rc;
    if (rc == QX_OK) current = strtoull(value, NULL, 10);
    pthread_mutex_lock(&e->r->mu);
    uint64_t mine = qx_epochs_current(&e->r->epochs);
    pthread_mutex_unlock(&e->r->mu);
    *epoch = (current > mine ? current : mine) + 1;
    int n = snprintf(value, sizeof value, "%" PRIu64, *epoch);
    rc = qx_etcd_cas(e->etcd, key, rc == QX_OK ? revision : 0, value, (size_t)n, 0);
    if (rc != QX_ERR_EXISTS) return rc;
  }
  return qx_fail(QX_ERR_TIMEOUT, "etcd: the epoch kept changing under this node");
}

static void try_to_lead(repl_election *e) {
  qx_repl_status st;
  qx_repl_status_get(e->r, &st);
  if (st.needs_rebuild) return;
  best_member b = {e->r->node, last_epoch(e->r, st.last_lsn), st.last_lsn, 0};
  char members[256], key[256], value[256];
  snprintf(members, sizeof members, "%s/members/", e->prefix);
  if (qx_etcd_get_prefix(e->etcd, members, compare_member, &b) != QX_OK || b.beaten) return;
  int64_t lease, granted_at = qx_monotonic_ns();
  if (qx_etcd_lease_grant(e->etcd, e->r->ttl_s, &lease, NULL) != QX_OK) return;
  renewed(e, granted_at); /* before the promotion takes any write */
  key_of(e, "leader", key, sizeof key);
  int n = snprintf(value, sizeof value, "%s %s", e->r->node, e->r->advertise);
  if (qx_etcd_create(e->etcd, key, value, (size_t)n, lease) != QX_OK) {
    qx_etcd_lease_revoke(e->etcd, lease);
    return;
  }
  uint64_t epoch;
  int rc = next_epoch(e, &epoch);
  if (rc == QX_OK) rc = qx_repl_become_primary(e->r, epoch);
  if (rc != QX_OK) {
    qx_log(QX_LOG_ERROR, "election: won the leader key but could not take over",
           "node=%s error=\"%s\"", e->r->node, qx_last_error());
    qx_etcd_lease_revoke(e->etcd, lease); /* let another node try */
    return;
  }
  e->leader_lease = lease;
}

/* ---- a primary whose process is gone -------------------------------------------------------- */

/* 1 if a TCP connection to address is refused: its host is up, and nothing listens on the port.
 * qaxdbd listens for as long as it can acknowledge a write, so its process is gone (or
 * stopping, and then it revokes its lease itself). A timeout or any other answer is not proof. */
static int refused(const char *address) {
  char host[128];
  int port;
  struct sockaddr_in a = {.sin_family = AF_INET};
  if (qx_repl_split_address(address, host, sizeof host, &port) != QX_OK ||
      inet_pton(AF_INET, host, &a.sin_addr) != 1)
    return 0;
  a.sin_port = htons((uint16_t)port);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  int rc = connect(fd, (struct sockaddr *)&a, sizeof a) == 0 ? 0 : errno;
  if (rc == EINPROGRESS) {
    struct pollfd p = {fd, POLLOUT, 0};
    socklen_t len = sizeof rc;
    rc = poll(&p, 1, PROBE_TIMEOUT_MS) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &rc, &len) == 0
             ? rc
             : ETIMEDOUT;
  }
  close(fd);
  return rc == ECONNREFUSED;
}

/* A replica that lost its stream and finds the primary's port refused twice revokes the
 * primary's lease rather than wait out the TTL: the election that follows starts at once. */
static void end_dead_leadership(repl_election *e, const leader_info *leader) {
  pthread_mutex_lock(&e->r->mu);
  int lost = e->r->role == QX_REPL_REPLICA && !e->r->streaming &&
             strcmp(e->r->primary, leader->address) == 0;
  pthread_mutex_unlock(&e->r->mu);
  if (!lost || !refused(leader->address)) return;
  struct timespec pause = {0, PROBE_TIMEOUT_MS * 1000000L / 4};
  nanosleep(&pause, NULL);
  if (!refused(leader->address)) return;
  char member[256];
  snprintf(member, sizeof member, "%s/members/%s", e->prefix, leader->node);
  if (qx_etcd_lease_revoke(e->etcd, leader->lease) == QX_OK) {
    qx_etcd_delete(e->etcd, member); /* its LSN must not hold up the election */
    qx_log(QX_LOG_WARN, "election: the primary's port refuses connections: its lease revoked",
           "node=%s primary=%s address=%s", e->r->node, leader->node, leader->address);
  }
}

/* ---- the loop ------------------------------------------------------------------------------- */

static void step(repl_election *e) {
  if (publish_member(e) != QX_OK) {
    if (e->leader_lease) keep_leadership(e); /* fences once the lease is as good as gone */
    return;
  }
  if (e->leader_lease) {
    keep_leadership(e);
    return;
  }
  leader_info leader;
  if (read_leader(e, &leader) != QX_OK) return;
  if (leader.present && strcmp(leader.node, e->r->node) != 0) {
    qx_repl_become_replica(e->r, leader.address);
    end_dead_leadership(e, &leader);
    return;
  }
  if (leader.present) {
    /* This node's name under a lease it does not hold: its run before this one, gone. */
    qx_etcd_lease_revoke(e->etcd, leader.lease);
    return;
  }
  pthread_mutex_lock(&e->r->mu);
  int was_primary = e->r->role == QX_REPL_PRIMARY;
  pthread_mutex_unlock(&e->r->mu);
  if (was_primary) qx_repl_fence(e->r, "the leader key is gone");
  try_to_lead(e);
}

static int stopping(qx_repl *r) {
  pthread_mutex_lock(&r->mu);
  int s = r->stopping;
  pthread_mutex_unlock(&r->mu);
  return s;
}

static void *election_main(void *arg) {
  repl_election *e = arg;
  qx_thread_name("qx-repl-elect");
  while (!stopping(e->r)) {
    step(e);
    pthread_mutex_lock(&e->r->mu);
    int64_t at = qx_monotonic_ns() + PERIOD_MS * 1000000ll;
    struct timespec ts = {at / 1000000000, at % 1000000000};
    if (!e->r->stopping) pthread_cond_timedwait(&e->r->changed_cv, &e->r->mu, &ts);
    pthread_mutex_unlock(&e->r->mu);
  }
  return NULL;
}

int qx_repl_election_start(qx_repl *r) {
  repl_election *e = calloc(1, sizeof *e);
  if (!e) return qx_fail(QX_ERR_NOMEM, "out of memory for the election");
  e->r = r;
  snprintf(e->prefix, sizeof e->prefix, "/qaxdb/%s", r->cluster);
  int timeout_ms = r->ttl_s * 1000 / 4;
  int rc = qx_etcd_open(r->etcd, timeout_ms < 200 ? 200 : timeout_ms, &e->etcd);
  if (rc == QX_OK && pthread_create(&e->thread, NULL, election_main, e) != 0)
    rc = qx_fail(QX_ERR_NOMEM, "cannot start the election thread");
  if (rc != QX_OK) {
    qx_etcd_close(e->etcd);
    free(e);
    return rc;
  }
  r->election = e;
  return QX_OK;
}

void qx_repl_election_stop(qx_repl *r) {
  repl_election *e = r->election;
  if (!e) return;
  pthread_join(e->thread, NULL);
  /* Leaving cleanly hands the leadership over at once instead of after the TTL. */
  if (e->leader_lease) qx_etcd_lease_revoke(e->etcd, e->leader_lease);
  if (e->member_lease) qx_etcd_lease_revoke(e->etcd, e->member_lease);
  qx_etcd_close(e->etcd);
  free(e);
  r->election = NULL;
}
