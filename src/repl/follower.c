/* A replica following its primary: connects with libpq (the primary's logins and TLS), asks
 * for the log from its own next LSN, writes each batch to its WAL with the primary's LSNs and
 * applies it, and acknowledges what it received, flushed and applied. A second thread waits
 * for the syncs, so that applying never waits for the disk. It reconnects when the stream
 * ends, and follows a new primary when told (a re-point). */
#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lsm/engine.h"
#include "repl/protocol.h"
#include "repl/repl_impl.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/grow.h"
#include "util/log.h"
#include "util/thread.h"

#define RETRY_MS 200     /* between attempts to reach the primary */
#define ACK_EVERY_MS 100 /* an acknowledgement at least this often, for the primary's view */

typedef struct follower {
  qx_repl *r;
  PGconn *pg;
  int synced_fd; /* eventfd: the syncer flushed more */
  /* the batch being received: its records, their payloads (8-byte aligned) in data */
  qx_wal_record *records;
  size_t count, cap;
  qx_buffer data;
  uint64_t batch_first, next_lsn;
  int64_t last_ack_ns;
  uint64_t acked_flushed;
  /* the syncer thread */
  pthread_t syncer;
  pthread_mutex_t sync_mu;
  pthread_cond_t sync_cv;
  uint64_t sync_target;
  int sync_quit;
} follower;

/* ---- the syncer ----------------------------------------------------------------------------- */

static void *syncer_main(void *arg) {
  follower *f = arg;
  qx_thread_name("qx-repl-sync");
  pthread_mutex_lock(&f->sync_mu);
  uint64_t done = 0;
  while (!f->sync_quit) {
    if (f->sync_target <= done) {
      pthread_cond_wait(&f->sync_cv, &f->sync_mu);
      continue;
    }
    uint64_t target = f->sync_target;
    pthread_mutex_unlock(&f->sync_mu);
    int rc = qx_db_wait_durable(f->r->db, target, -1);
    pthread_mutex_lock(&f->sync_mu);
    if (rc != QX_OK) break; /* the engine failed: it takes nothing more */
    done = target;
    pthread_mutex_lock(&f->r->mu);
    f->r->flushed = done;
    pthread_mutex_unlock(&f->r->mu);
    uint64_t one = 1;
    ssize_t n = write(f->synced_fd, &one, sizeof one);
    (void)n;
  }
  pthread_mutex_unlock(&f->sync_mu);
  return NULL;
}

static void sync_up_to(follower *f, uint64_t lsn) {
  pthread_mutex_lock(&f->sync_mu);
  f->sync_target = lsn;
  pthread_cond_signal(&f->sync_cv);
  pthread_mutex_unlock(&f->sync_mu);
}

/* ---- applying ------------------------------------------------------------------------------- */

static int add_to_batch(follower *f, const qx_wal_entry *e) {
  if (qx_grow((void **)&f->records, &f->cap, f->count + 1, sizeof *f->records,
              "a replicated batch") != QX_OK)
    return QX_ERR_NOMEM;
  if (f->count == 0) {
    f->batch_first = e->lsn;
    f->data.len = 0;
    f->data.failed = 0; /* a batch that ran out of memory ended its stream, not this one */
  }
  /* data holds the payload's offset until the batch is whole (data may move as it grows) */
  f->records[f->count++] = (qx_wal_record){e->table_id, e->schema_version, e->size, e->ts_ns,
                                           (const void *)(uintptr_t)f->data.len};
  static const uint8_t zeros[8] = {0};
  qx_buffer_put(&f->data, e->data, e->size);
  qx_buffer_put(&f->data, zeros, (8 - e->size % 8) % 8);
  return f->data.failed ? qx_fail(QX_ERR_NOMEM, "out of memory for a replicated batch") : QX_OK;
}

static int apply_batch(follower *f) {
  for (size_t i = 0; i < f->count; i++)
    f->records[i].data = f->data.p + (uintptr_t)f->records[i].data;
  int rc = qx_db_apply_replicated(f->r->db, f->batch_first, f->records, f->count);
  uint64_t last = f->batch_first + f->count - 1;
  f->count = 0;
  if (rc != QX_OK) return rc;
  pthread_mutex_lock(&f->r->mu);
  f->r->received = f->r->applied = last;
  pthread_mutex_unlock(&f->r->mu);
  sync_up_to(f, last);
  return QX_OK;
}

static int take_entries(follower *f, qx_repl_reader *rd) {
  while (rd->p < rd->end) {
    qx_wal_entry e;
    int rc = qx_repl_get_entry(rd, &e);
    if (rc != QX_OK) return rc;
    if (e.lsn != f->next_lsn)
      return qx_fail(QX_ERR_CORRUPT,
                     "replication stream: LSN %" PRIu64 " came where %" PRIu64 " was due", e.lsn,
                     f->next_lsn);
    f->next_lsn++;
    rc = add_to_batch(f, &e);
    if (rc == QX_OK && !(e.flags & QX_WAL_BATCH_CONTINUES)) rc = apply_batch(f);
    if (rc != QX_OK) return rc;
  }
  return QX_OK;
}

/* The primary's history: refused if it is older than what this node knows (a primary deposed
 * since), else kept as this node's. */
static int take_hello(follower *f, qx_repl_reader *rd) {
  qx_epochs h;
  int rc = qx_repl_get_history(rd, &h);
  if (rc != QX_OK) return rc;
  pthread_mutex_lock(&f->r->mu);
  uint64_t known = qx_epochs_current(&f->r->epochs);
  pthread_mutex_unlock(&f->r->mu);
  if (qx_epochs_current(&h) < known)
    return qx_fail(QX_ERR_DENIED,
                   "the primary is in epoch %" PRIu64 ", older than epoch %" PRIu64
                   " this node knows: it was deposed",
                   qx_epochs_current(&h), known);
  return qx_repl_adopt_history(f->r, &h);
}

static int take_message(follower *f, const uint8_t *m, size_t len) {
  qx_repl_reader rd = {m + 1, m + len, 0};
  if (len == 0) return qx_fail(QX_ERR_FORMAT, "replication stream: an empty message");
  switch (m[0]) {
  case QX_REPL_ENTRIES:
    return take_entries(f, &rd);
  case QX_REPL_HELLO:
    return take_hello(f, &rd);
  case QX_REPL_KEEPALIVE: {
    uint64_t lsn = qx_repl_get_u64(&rd);
    pthread_mutex_lock(&f->r->mu);
    f->r->primary_lsn = lsn;
    pthread_mutex_unlock(&f->r->mu);
    return QX_OK;
  }
  default:
    return qx_fail(QX_ERR_FORMAT, "replication stream: unknown message '%c'", m[0]);
  }
}

/* ---- the connection ------------------------------------------------------------------------- */

static int send_ack(follower *f) {
  pthread_mutex_lock(&f->r->mu);
  uint64_t received = f->r->received, flushed = f->r->flushed, applied = f->r->applied;
  pthread_mutex_unlock(&f->r->mu);
  qx_buffer b = {0};
  uint8_t type = QX_REPL_ACK;
  qx_buffer_put(&b, &type, 1);
  qx_repl_put_u64(&b, received);
  qx_repl_put_u64(&b, flushed);
  qx_repl_put_u64(&b, applied);
  int ok =
      !b.failed && PQputCopyData(f->pg, (const char *)b.p, (int)b.len) == 1 && PQflush(f->pg) == 0;
  qx_buffer_free(&b);
  f->last_ack_ns = qx_monotonic_ns();
  f->acked_flushed = flushed;
  return ok ? QX_OK : qx_fail(QX_ERR_IO, "replication: %s", PQerrorMessage(f->pg));
}

/* Takes every message that has arrived; QX_ERR_CLOSED when the primary ended the stream. */
static int drain(follower *f) {
  if (!PQconsumeInput(f->pg)) return qx_fail(QX_ERR_IO, "replication: %s", PQerrorMessage(f->pg));
  for (;;) {
    char *buf;
    int n = PQgetCopyData(f->pg, &buf, 1);
    if (n == 0) return QX_OK;
    if (n < 0)
      return qx_fail(QX_ERR_CLOSED, "replication: the primary ended the stream: %s",
                     PQerrorMessage(f->pg));
    int rc = take_message(f, (const uint8_t *)buf, (size_t)n);
    PQfreemem(buf);
    if (rc != QX_OK) return rc;
  }
}

static int should_leave(follower *f) {
  pthread_mutex_lock(&f->r->mu);
  int leave = f->r->follower_quit || f->r->stopping || f->r->repoint;
  pthread_mutex_unlock(&f->r->mu);
  return leave;
}

static int leave_now(void *f) {
  return should_leave(f);
}

static int stream(follower *f) {
  pthread_mutex_lock(&f->r->mu);
  f->r->streaming = 1;
  pthread_mutex_unlock(&f->r->mu);
  int rc = QX_OK;
  while (rc == QX_OK && !should_leave(f)) {
    struct pollfd fds[2] = {{PQsocket(f->pg), POLLIN, 0}, {f->synced_fd, POLLIN, 0}};
    poll(fds, 2, ACK_EVERY_MS);
    if (fds[1].revents & POLLIN) {
      uint64_t count;
      ssize_t n = read(f->synced_fd, &count, sizeof count);
      (void)n;
    }
    rc = drain(f);
    pthread_mutex_lock(&f->r->mu);
    int flushed_more = f->r->flushed != f->acked_flushed;
    pthread_mutex_unlock(&f->r->mu);
    if (rc == QX_OK &&
        (flushed_more || qx_monotonic_ns() - f->last_ack_ns > ACK_EVERY_MS * 1000000ll))
      rc = send_ack(f);
  }
  pthread_mutex_lock(&f->r->mu);
  f->r->streaming = 0;
  pthread_mutex_unlock(&f->r->mu);
  return rc;
}

static void record_problem(qx_repl *r, int rebuild, const char *why) {
  pthread_mutex_lock(&r->mu);
  r->needs_rebuild = rebuild;
  snprintf(r->problem, sizeof r->problem, "%s", why);
  pthread_mutex_unlock(&r->mu);
}

/* Asks for the stream; QX_OK once it flows, else why not (a refusal that needs a rebuild is
 * QX_ERR_FORMAT). */
static int request_stream(follower *f) {
  uint64_t last = qx_db_last_lsn(f->r->db);
  pthread_mutex_lock(&f->r->mu);
  /* the epoch that wrote this node's last LSN, which the primary checks its log against */
  qx_epoch_start at = qx_epochs_of_lsn(&f->r->epochs, last);
  pthread_mutex_unlock(&f->r->mu);
  char command[256];
  snprintf(command, sizeof command, "QAXDB REPLICATE %s %" PRIu64 " %" PRIu64 " %" PRIu64,
           f->r->node, last + 1, at.epoch, at.first_lsn);
  PGresult *res = qx_repl_exec_while(f->pg, command, leave_now, f);
  ExecStatusType status = PQresultStatus(res);
  const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
  int rc = status == PGRES_COPY_BOTH ? QX_OK
           : !res ? qx_fail(QX_ERR_IO, "the primary did not answer: %s", PQerrorMessage(f->pg))
           : state && strcmp(state, QX_SQLSTATE_REBUILD) == 0
               ? qx_fail(QX_ERR_FORMAT, "%s", PQresultErrorMessage(res))
               : qx_fail(QX_ERR_IO, "%s", PQresultErrorMessage(res));
  PQclear(res);
  f->next_lsn = last + 1;
  f->count = 0;
  if (rc == QX_OK) {
    /* What this node already holds counts as received and applied, and flushed once synced. */
    pthread_mutex_lock(&f->r->mu);
    f->r->received = f->r->applied = last;
    pthread_mutex_unlock(&f->r->mu);
    sync_up_to(f, last);
  }
  return rc;
}

static PGconn *connect_primary(follower *f) {
  qx_repl *r = f->r;
  char primary[128], app[96];
  pthread_mutex_lock(&r->mu);
  snprintf(primary, sizeof primary, "%s", r->primary);
  r->repoint = 0;
  pthread_mutex_unlock(&r->mu);
  snprintf(app, sizeof app, "qaxdb-replica-%s", r->node);
  return qx_repl_connect_while(primary, r->user, r->password, app, leave_now, f);
}

static void follow_once(follower *f) {
  f->pg = connect_primary(f);
  int rc = !f->pg || PQstatus(f->pg) != CONNECTION_OK
               ? qx_fail(QX_ERR_IO, "cannot reach the primary: %s",
                         f->pg ? PQerrorMessage(f->pg) : "no address")
               : request_stream(f);
  if (rc == QX_OK) {
    record_problem(f->r, 0, "");
    qx_log(QX_LOG_INFO, "replication: streaming", "node=%s from_lsn=%" PRIu64, f->r->node,
           f->next_lsn);
    rc = stream(f);
  }
  if (rc != QX_OK && !should_leave(f)) {
    char why[256];
    snprintf(why, sizeof why, "%s", qx_last_error());
    why[strcspn(why, "\n")] = '\0';
    record_problem(f->r, rc == QX_ERR_FORMAT, why);
    qx_log(rc == QX_ERR_FORMAT ? QX_LOG_ERROR : QX_LOG_WARN, "replication: not streaming",
           "node=%s reason=\"%s\"", f->r->node, why);
  }
  if (f->pg) PQfinish(f->pg);
  f->pg = NULL;
}

static void *follower_main(void *arg) {
  follower *f = arg;
  qx_thread_name("qx-repl-follow");
  for (;;) {
    pthread_mutex_lock(&f->r->mu);
    int quit = f->r->follower_quit || f->r->stopping;
    int rebuild = f->r->needs_rebuild && !f->r->repoint;
    pthread_mutex_unlock(&f->r->mu);
    if (quit) break;
    if (!rebuild) follow_once(f);
    pthread_mutex_lock(&f->r->mu);
    int64_t at = qx_monotonic_ns() + RETRY_MS * 1000000ll;
    struct timespec ts = {at / 1000000000, at % 1000000000};
    if (!f->r->follower_quit && !f->r->stopping && !f->r->repoint)
      pthread_cond_timedwait(&f->r->changed_cv, &f->r->mu, &ts);
    pthread_mutex_unlock(&f->r->mu);
  }
  return NULL;
}

/* ---- start and stop ------------------------------------------------------------------------- */

static void free_follower(follower *f) {
  if (f->synced_fd >= 0) close(f->synced_fd);
  pthread_mutex_destroy(&f->sync_mu);
  pthread_cond_destroy(&f->sync_cv);
  free(f->records);
  qx_buffer_free(&f->data);
  free(f);
}

static follower *new_follower(qx_repl *r) {
  follower *f = calloc(1, sizeof *f);
  if (!f) return NULL;
  f->r = r;
  f->synced_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  pthread_mutex_init(&f->sync_mu, NULL);
  pthread_cond_init(&f->sync_cv, NULL);
  if (f->synced_fd < 0 || pthread_create(&f->syncer, NULL, syncer_main, f) != 0) {
    free_follower(f);
    return NULL;
  }
  return f;
}

static void stop_syncer(follower *f) {
  pthread_mutex_lock(&f->sync_mu);
  f->sync_quit = 1;
  pthread_cond_signal(&f->sync_cv);
  pthread_mutex_unlock(&f->sync_mu);
  pthread_join(f->syncer, NULL);
}

int qx_repl_follower_start(qx_repl *r) {
  pthread_mutex_lock(&r->mu);
  int started = r->follower_started;
  pthread_mutex_unlock(&r->mu);
  if (started) return QX_OK;
  follower *f = new_follower(r);
  if (!f) return qx_fail(QX_ERR_NOMEM, "replication: cannot start following");
  pthread_mutex_lock(&r->mu);
  r->follower_quit = 0;
  r->follower_state = f;
  r->follower_started = pthread_create(&r->follower, NULL, follower_main, f) == 0;
  started = r->follower_started;
  pthread_mutex_unlock(&r->mu);
  if (started) return QX_OK;
  stop_syncer(f);
  free_follower(f);
  return qx_fail(QX_ERR_NOMEM, "replication: cannot start the follower thread");
}

void qx_repl_follower_stop(qx_repl *r) {
  pthread_mutex_lock(&r->mu);
  int started = r->follower_started;
  r->follower_quit = 1;
  pthread_cond_broadcast(&r->changed_cv);
  pthread_mutex_unlock(&r->mu);
  if (!started) return;
  pthread_join(r->follower, NULL);
  follower *f = r->follower_state;
  stop_syncer(f);
  free_follower(f);
  pthread_mutex_lock(&r->mu);
  r->follower_started = 0;
  r->follower_state = NULL;
  pthread_mutex_unlock(&r->mu);
}
