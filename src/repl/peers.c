/* A primary's replicas: who is connected, what each acknowledged, the waits of writes at
 * durability `replicated`, and the wake-up of senders when a write commits. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "repl/repl_impl.h"
#include "util/clock.h"
#include "util/error.h"

void qx_repl_peers_init(qx_repl *r) {
  for (int i = 0; i < QX_REPL_MAX_REPLICAS; i++) {
    r->peers[i].wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    atomic_init(&r->peers[i].waiting, 0);
  }
}

void qx_repl_peers_free(qx_repl *r) {
  for (int i = 0; i < QX_REPL_MAX_REPLICAS; i++)
    if (r->peers[i].wake_fd >= 0) close(r->peers[i].wake_fd);
}

static int find_slot(qx_repl *r, const char *name) {
  int free_slot = -1;
  for (int i = 0; i < QX_REPL_MAX_REPLICAS; i++) {
    if (r->peers[i].in_use && strcmp(r->peers[i].s.name, name) == 0) return i;
    if (!r->peers[i].in_use && free_slot < 0) free_slot = i;
  }
  return free_slot;
}

int qx_repl_peer_attach(qx_repl *r, const char *name, uint64_t *session) {
  pthread_mutex_lock(&r->mu);
  int slot = find_slot(r, name);
  if (slot >= 0) {
    repl_peer *p = &r->peers[slot];
    if (!p->in_use) {
      memset(&p->s, 0, sizeof p->s);
      snprintf(p->s.name, sizeof p->s.name, "%s", name);
    }
    p->in_use = 1;
    p->s.connected = 1;
    p->session = *session = ++r->next_session;
    p->last_ack_ns = qx_monotonic_ns();
    if (p->wake_fd < 0) slot = -1;
  }
  pthread_mutex_unlock(&r->mu);
  if (slot < 0)
    return qx_fail(QX_ERR_TOO_LARGE, "no room for replica %s: %d replicas at most", name,
                   QX_REPL_MAX_REPLICAS);
  return slot;
}

void qx_repl_peer_detach(qx_repl *r, int slot, uint64_t session) {
  pthread_mutex_lock(&r->mu);
  if (r->peers[slot].session == session) r->peers[slot].s.connected = 0;
  pthread_cond_broadcast(&r->changed_cv);
  pthread_mutex_unlock(&r->mu);
}

void qx_repl_peer_sent(qx_repl *r, int slot, uint64_t lsn) {
  pthread_mutex_lock(&r->mu);
  r->peers[slot].s.sent_lsn = lsn;
  pthread_mutex_unlock(&r->mu);
}

void qx_repl_peer_ack(qx_repl *r, int slot, uint64_t received, uint64_t flushed, uint64_t applied) {
  pthread_mutex_lock(&r->mu);
  qx_repl_peer *s = &r->peers[slot].s;
  s->received_lsn = received;
  s->flushed_lsn = flushed;
  s->applied_lsn = applied;
  r->peers[slot].last_ack_ns = qx_monotonic_ns();
  pthread_cond_broadcast(&r->changed_cv);
  pthread_mutex_unlock(&r->mu);
}

/* Runs under the engine's write lock on every commit: it must not block. A sender that is
 * about to sleep sets `waiting`; exactly one commit after that writes its eventfd. */
void qx_repl_on_commit(uint64_t lsn, void *ctx) {
  (void)lsn;
  qx_repl *r = ctx;
  for (int i = 0; i < QX_REPL_MAX_REPLICAS; i++) {
    repl_peer *p = &r->peers[i];
    if (atomic_load_explicit(&p->waiting, memory_order_relaxed) &&
        atomic_exchange(&p->waiting, 0)) {
      uint64_t one = 1;
      ssize_t n = write(p->wake_fd, &one, sizeof one);
      (void)n; /* a full counter means a wake-up is pending anyway */
    }
  }
}

/* Replicas whose flushed LSN is at least lsn; a replica that disconnected keeps what it
 * flushed, so it still counts. REQUIRES: mu. */
static int flushed_by(const qx_repl *r, uint64_t lsn) {
  int n = 0;
  for (int i = 0; i < QX_REPL_MAX_REPLICAS; i++)
    n += r->peers[i].in_use && r->peers[i].s.flushed_lsn >= lsn;
  return n;
}

int qx_repl_wait_replicated(uint64_t lsn, void *ctx) {
  qx_repl *r = ctx;
  int64_t deadline = qx_monotonic_ns() + (int64_t)r->timeout_ms * 1000000;
  int rc = QX_OK;
  pthread_mutex_lock(&r->mu);
  while (flushed_by(r, lsn) < r->replicas_required) {
    if (r->role != QX_REPL_PRIMARY || r->stopping) {
      rc = qx_fail(QX_ERR_DENIED,
                   "the write at LSN %" PRIu64 " is synced here, but this node stopped being "
                   "the primary before %d replica(s) flushed it: it may be lost",
                   lsn, r->replicas_required);
      break;
    }
    struct timespec ts = {deadline / 1000000000, deadline % 1000000000};
    if (pthread_cond_timedwait(&r->changed_cv, &r->mu, &ts) == ETIMEDOUT &&
        flushed_by(r, lsn) < r->replicas_required) {
      rc = qx_fail(QX_ERR_TIMEOUT,
                   "the write at LSN %" PRIu64 " is synced here, but only %d of %d replica(s) "
                   "flushed it within %u ms",
                   lsn, flushed_by(r, lsn), r->replicas_required, r->timeout_ms);
      break;
    }
  }
  if (rc == QX_OK && r->lease_deadline_ns && qx_monotonic_ns() > r->lease_deadline_ns)
    rc = qx_fail(QX_ERR_DENIED,
                 "the write at LSN %" PRIu64 " is on %d replica(s), but this node's leader lease "
                 "ran out before it could be acknowledged: it may or may not survive a failover",
                 lsn, flushed_by(r, lsn));
  pthread_mutex_unlock(&r->mu);
  return rc;
}
