/* A node's replication (qaxdb/repl.h): its role and epoch, the switches between roles (each
 * one refuses or takes callers' writes in the engine and starts or stops following), start,
 * stop, promote and status. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lsm/engine.h"
#include "repl/repl_impl.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"

void qx_repl_options_init(qx_repl_options *o) {
  memset(o, 0, sizeof *o);
  o->replicas_required = 1;
  o->replication_timeout_ms = QX_REPL_DEFAULT_TIMEOUT_MS;
  o->cluster = "qaxdb";
  o->ttl_s = QX_REPL_DEFAULT_TTL_S;
}

const char *qx_repl_role_name(qx_repl_role role) {
  switch (role) {
  case QX_REPL_PRIMARY:
    return "primary";
  case QX_REPL_REPLICA:
    return "replica";
  default:
    return "fenced";
  }
}

int qx_repl_split_address(const char *address, char *host, size_t host_cap, int *port) {
  const char *colon = address ? strrchr(address, ':') : NULL;
  char *end = NULL;
  long p = colon ? strtol(colon + 1, &end, 10) : 0;
  if (!colon || colon == address || (size_t)(colon - address) >= host_cap || *end || p < 1 ||
      p > 65535)
    return qx_fail(QX_ERR_INVALID_ARG, "%s is not host:port", address ? address : "(none)");
  memcpy(host, address, (size_t)(colon - address));
  host[colon - address] = '\0';
  *port = (int)p;
  return QX_OK;
}

/* ---- roles ---------------------------------------------------------------------------------- */

static void refuse_as_replica(qx_repl *r) {
  char why[300];
  snprintf(why, sizeof why, "this node (%s) is a replica; the primary is %s", r->node,
           r->primary[0] ? r->primary : "unknown");
  qx_db_refuse_writes(r->db, why);
}

int qx_repl_become_primary(qx_repl *r, uint64_t epoch) {
  qx_repl_follower_stop(r);
  pthread_mutex_lock(&r->mu);
  qx_epochs next = r->epochs;
  uint64_t first = qx_db_last_lsn(r->db) + 1;
  int rc = qx_epochs_begin(&next, epoch, first);
  if (rc == QX_OK) rc = qx_epochs_save(qx_db_dir(r->db), &next);
  if (rc == QX_OK) {
    r->epochs = next;
    r->role = QX_REPL_PRIMARY;
    snprintf(r->primary, sizeof r->primary, "%s", r->advertise);
    r->streaming = 0;
    pthread_cond_broadcast(&r->changed_cv);
  }
  pthread_mutex_unlock(&r->mu);
  if (rc != QX_OK) return rc;
  qx_db_refuse_writes(r->db, NULL);
  qx_log(QX_LOG_INFO, "replication: promoted to primary",
         "node=%s epoch=%" PRIu64 " first_lsn=%" PRIu64, r->node, epoch, first);
  return QX_OK;
}

void qx_repl_become_replica(qx_repl *r, const char *address) {
  pthread_mutex_lock(&r->mu);
  int changed = r->role != QX_REPL_REPLICA || strcmp(r->primary, address) != 0;
  r->role = QX_REPL_REPLICA;
  snprintf(r->primary, sizeof r->primary, "%s", address);
  r->repoint |= changed;
  pthread_cond_broadcast(&r->changed_cv);
  pthread_mutex_unlock(&r->mu);
  refuse_as_replica(r);
  if (changed)
    qx_log(QX_LOG_INFO, "replication: following", "node=%s primary=%s", r->node, address);
  qx_repl_follower_start(r);
}

void qx_repl_fence(qx_repl *r, const char *why) {
  pthread_mutex_lock(&r->mu);
  int was = r->role;
  r->role = QX_REPL_FENCED;
  pthread_cond_broadcast(&r->changed_cv);
  pthread_mutex_unlock(&r->mu);
  char message[400];
  snprintf(message, sizeof message, "this node (%s) is fenced and takes no writes: %s", r->node,
           why);
  qx_db_refuse_writes(r->db, message);
  if (was != QX_REPL_FENCED)
    qx_log(QX_LOG_WARN, "replication: fenced", "node=%s reason=\"%s\"", r->node, why);
}

int qx_repl_adopt_history(qx_repl *r, const qx_epochs *h) {
  int rc = qx_epochs_save(qx_db_dir(r->db), h);
  if (rc != QX_OK) return rc;
  pthread_mutex_lock(&r->mu);
  r->epochs = *h;
  pthread_mutex_unlock(&r->mu);
  return QX_OK;
}

int qx_repl_promote(qx_repl *r) {
  pthread_mutex_lock(&r->mu);
  qx_repl_role role = r->role;
  uint64_t epoch = qx_epochs_current(&r->epochs) + 1;
  pthread_mutex_unlock(&r->mu);
  if (role == QX_REPL_PRIMARY)
    return qx_fail(QX_ERR_INVALID_ARG, "%s is already the primary", r->node);
  if (r->election)
    return qx_fail(QX_ERR_INVALID_ARG,
                   "%s is in a cluster with etcd, which elects the primary itself", r->node);
  return qx_repl_become_primary(r, epoch);
}

/* ---- start and stop ------------------------------------------------------------------------- */

static void copy_option(char *dst, size_t cap, const char *src) {
  snprintf(dst, cap, "%s", src ? src : "");
}

static int check_options(const qx_repl_options *o) {
  if (!o->node_name || !o->node_name[0] || strlen(o->node_name) > 63 ||
      strpbrk(o->node_name, " /\t\n"))
    return qx_fail(QX_ERR_INVALID_ARG, "a node needs a name of 1 to 63 characters without "
                                       "spaces or '/'");
  if (o->replicas_required < 0 || o->replicas_required > QX_REPL_MAX_REPLICAS)
    return qx_fail(QX_ERR_INVALID_ARG, "replicas required must be 0 to %d", QX_REPL_MAX_REPLICAS);
  char host[128];
  int port;
  if (o->primary && qx_repl_split_address(o->primary, host, sizeof host, &port) != QX_OK)
    return qx_fail(QX_ERR_INVALID_ARG, "the primary's address %s is not host:port", o->primary);
  if (o->etcd && (!o->advertise || o->ttl_s < 1))
    return qx_fail(QX_ERR_INVALID_ARG,
                   "failover through etcd needs this node's address (advertise) and a TTL");
  return QX_OK;
}

static qx_repl *new_repl(qx_db *db, const qx_repl_options *o) {
  qx_repl *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->db = db;
  copy_option(r->node, sizeof r->node, o->node_name);
  copy_option(r->advertise, sizeof r->advertise, o->advertise);
  copy_option(r->user, sizeof r->user, o->user);
  copy_option(r->password, sizeof r->password, o->password);
  copy_option(r->etcd, sizeof r->etcd, o->etcd);
  copy_option(r->cluster, sizeof r->cluster, o->cluster ? o->cluster : "qaxdb");
  r->replicas_required = o->replicas_required;
  r->timeout_ms =
      o->replication_timeout_ms ? o->replication_timeout_ms : QX_REPL_DEFAULT_TIMEOUT_MS;
  r->ttl_s = o->ttl_s;
  pthread_mutex_init(&r->mu, NULL);
  pthread_condattr_t monotonic;
  pthread_condattr_init(&monotonic);
  pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC);
  pthread_cond_init(&r->changed_cv, &monotonic);
  pthread_condattr_destroy(&monotonic);
  qx_repl_peers_init(r);
  return r;
}

static void free_repl(qx_repl *r) {
  qx_repl_peers_free(r);
  pthread_mutex_destroy(&r->mu);
  pthread_cond_destroy(&r->changed_cv);
  free(r);
}

/* The first role: the one options name, or, with etcd, a replica until an election says. */
static int take_first_role(qx_repl *r, const qx_repl_options *o) {
  if (o->etcd) {
    qx_repl_fence(r, "waiting for the leader election");
    return qx_repl_election_start(r);
  }
  if (o->primary) {
    qx_repl_become_replica(r, o->primary);
    return QX_OK;
  }
  pthread_mutex_lock(&r->mu);
  r->role = QX_REPL_PRIMARY;
  snprintf(r->primary, sizeof r->primary, "%s", r->advertise);
  pthread_mutex_unlock(&r->mu);
  return QX_OK;
}

int qx_repl_start(qx_db *db, const qx_repl_options *o, qx_repl **out) {
  if (!db || !o || !out) return qx_fail(QX_ERR_INVALID_ARG, "qx_repl_start: missing argument");
  int rc = check_options(o);
  if (rc != QX_OK) return rc;
  qx_repl *r = new_repl(db, o);
  if (!r) return qx_fail(QX_ERR_NOMEM, "out of memory for replication");
  rc = qx_epochs_load(qx_db_dir(db), &r->epochs);
  if (rc == QX_OK) {
    qx_db_set_commit_hook(db, qx_repl_on_commit, r);
    qx_db_set_replication_wait(db, qx_repl_wait_replicated, r);
    rc = take_first_role(r, o);
  }
  if (rc != QX_OK) {
    qx_repl_stop(r);
    return rc;
  }
  *out = r;
  return QX_OK;
}

void qx_repl_stop(qx_repl *r) {
  if (!r) return;
  pthread_mutex_lock(&r->mu);
  r->stopping = 1;
  pthread_cond_broadcast(&r->changed_cv);
  pthread_mutex_unlock(&r->mu);
  qx_repl_election_stop(r);
  qx_repl_follower_stop(r);
  qx_db_set_commit_hook(r->db, NULL, NULL);
  qx_db_set_replication_wait(r->db, NULL, NULL);
  free_repl(r);
}

static uint64_t lsns_beyond(uint64_t lsn, uint64_t reached) {
  return lsn > reached ? lsn - reached : 0;
}

void qx_repl_status_get(qx_repl *r, qx_repl_status *out) {
  memset(out, 0, sizeof *out);
  out->last_lsn = qx_db_last_lsn(r->db);
  int64_t now = qx_monotonic_ns();
  pthread_mutex_lock(&r->mu);
  out->role = r->role;
  out->epoch = qx_epochs_current(&r->epochs);
  snprintf(out->node, sizeof out->node, "%s", r->node);
  snprintf(out->primary, sizeof out->primary, "%s", r->primary);
  out->streaming = r->streaming;
  out->received_lsn = r->received;
  out->flushed_lsn = r->flushed;
  out->applied_lsn = r->applied;
  out->primary_lsn = r->primary_lsn;
  out->lag_lsns = lsns_beyond(out->primary_lsn, out->applied_lsn);
  out->needs_rebuild = r->needs_rebuild;
  snprintf(out->problem, sizeof out->problem, "%s", r->problem);
  for (int i = 0; i < QX_REPL_MAX_REPLICAS; i++) {
    if (!r->peers[i].in_use) continue;
    qx_repl_peer *p = &out->peers[out->peer_count++];
    *p = r->peers[i].s;
    p->ack_age_ns = now - r->peers[i].last_ack_ns;
    p->lag_lsns = lsns_beyond(out->last_lsn, p->applied_lsn);
  }
  pthread_mutex_unlock(&r->mu);
}
