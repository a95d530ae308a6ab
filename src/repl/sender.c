/* A primary's side of one replica's stream (`QAXDB REPLICATE`): checks that the replica's log
 * is a prefix of this one, then sends the log from the LSN it asks for, read from the log ring
 * in shared memory or, for a replica that is behind, the WAL files (qaxdb/sub.h), whole
 * batches at a time; reads its acknowledgements; and sends keepalives while idle. */
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qaxdb/sub.h"
#include "repl/protocol.h"
#include "repl/repl_impl.h"
#include "server/pg_session.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"

#define KEEPALIVE_MS 100 /* an idle stream says this often that it is alive, and how far */
#define BATCH_MAX 512    /* entries taken from the subscriber per call */

typedef struct stream {
  qx_repl *r;
  pg_conn *c;
  const char *name;
  int slot;
  uint64_t session;
  qx_sub *sub;
  uint64_t next_lsn; /* the LSN the replica gets next */
  qx_buffer out;     /* the entries message being built */
} stream;

/* Why this node cannot serve a replica with that log: NULL if it can. */
static const char *refusal(qx_repl *r, uint64_t next_lsn, uint64_t epoch, uint64_t first,
                           const char **sqlstate) {
  static _Thread_local char why[512];
  pthread_mutex_lock(&r->mu);
  qx_repl_role role = r->role;
  uint64_t mine = qx_epochs_current(&r->epochs);
  int prefix = qx_epochs_has_prefix(&r->epochs, epoch, first, next_lsn - 1);
  char primary[128];
  snprintf(primary, sizeof primary, "%s", r->primary);
  pthread_mutex_unlock(&r->mu);
  uint64_t last = qx_db_last_lsn(r->db);
  *sqlstate = QX_SQLSTATE_NOT_PRIMARY;
  if (role != QX_REPL_PRIMARY) {
    snprintf(why, sizeof why, "%s is not the primary (%s); the primary is %s", r->node,
             qx_repl_role_name(role), primary[0] ? primary : "unknown");
    return why;
  }
  *sqlstate = QX_SQLSTATE_FENCED;
  if (epoch > mine) {
    snprintf(why, sizeof why,
             "the replica knows epoch %" PRIu64 ", newer than this primary's %" PRIu64, epoch,
             mine);
    return why;
  }
  *sqlstate = QX_SQLSTATE_REBUILD;
  if (!prefix || next_lsn > last + 1) {
    snprintf(why, sizeof why,
             "the replica's log (epoch %" PRIu64 " from LSN %" PRIu64 ", up to LSN %" PRIu64
             ") diverged from the primary's (epoch %" PRIu64 ", last LSN %" PRIu64
             "): it must be rebuilt from a copy of the primary",
             epoch, first, next_lsn - 1, mine, last);
    return why;
  }
  return NULL;
}

static int open_sub(stream *st) {
  qx_sub_options o;
  qx_sub_options_init(&o);
  o.start = QX_SUB_FROM_LSN;
  o.from_lsn = st->next_lsn;
  return qx_sub_open(qx_db_dir(st->r->db), &o, &st->sub);
}

int qx_repl_send(pg_conn *c, const qx_buffer *b) {
  if (b->failed) return -1;
  qx_pg_begin(c, 'd');
  qx_pg_put_bytes(c, b->p, b->len);
  qx_pg_end(c);
  return qx_pg_flush(c);
}

int qx_repl_send_history(qx_repl *r, pg_conn *c) {
  qx_buffer b = {0};
  uint8_t type = QX_REPL_HELLO;
  qx_buffer_put(&b, &type, 1);
  pthread_mutex_lock(&r->mu);
  qx_repl_put_history(&b, &r->epochs);
  pthread_mutex_unlock(&r->mu);
  int rc = qx_repl_send(c, &b);
  qx_buffer_free(&b);
  return rc;
}

static int send_keepalive(stream *st) {
  qx_buffer b = {0};
  uint8_t type = QX_REPL_KEEPALIVE;
  qx_buffer_put(&b, &type, 1);
  qx_repl_put_u64(&b, qx_db_last_lsn(st->r->db));
  pthread_mutex_lock(&st->r->mu);
  qx_repl_put_u64(&b, qx_epochs_current(&st->r->epochs));
  pthread_mutex_unlock(&st->r->mu);
  int rc = qx_repl_send(st->c, &b);
  qx_buffer_free(&b);
  return rc;
}

/* Packs what the subscriber has now into one message and sends it: 1 if it sent entries, 0
 * if there were none, -1 if the stream must end. Entries are copied out of the ring and the
 * copy is checked to be intact before it goes: a lapped read is read again from the files. */
static int send_available(stream *st) {
  qx_wal_entry e[BATCH_MAX];
  size_t n = 0;
  int rc = qx_sub_next_batch(st->sub, e, BATCH_MAX, &n, 0);
  if (rc == QX_ERR_TIMEOUT) return 0;
  /* About records handed out before, which were checked intact when they were sent. */
  if (rc == QX_ERR_LAPPED) return 1;
  if (rc != QX_OK || n == 0) {
    qx_log(QX_LOG_WARN, "replication: cannot read the log", "replica=%s error=\"%s\"", st->name,
           qx_last_error());
    return -1;
  }
  st->out.len = 0;
  uint8_t type = QX_REPL_ENTRIES;
  qx_buffer_put(&st->out, &type, 1);
  for (size_t i = 0; i < n; i++)
    qx_repl_put_entry(&st->out, &e[i]);
  if (st->out.failed) return -1;
  if (!qx_sub_held_valid(st->sub) || e[0].lsn != st->next_lsn) {
    qx_sub_close(st->sub);
    st->sub = NULL;
    return open_sub(st) == QX_OK ? 1 : -1;
  }
  if (qx_repl_send(st->c, &st->out) != 0) return -1;
  st->next_lsn = e[n - 1].lsn + 1;
  qx_repl_peer_sent(st->r, st->slot, e[n - 1].lsn);
  return 1;
}

/* Reads one message of the replica: 0 to go on, -1 when the stream ends. */
static int read_reply(stream *st) {
  uint8_t type;
  const uint8_t *body;
  uint32_t len;
  if (qx_pg_read_message(st->c, &type, &body, &len) != 0 || type != 'd' || len == 0) return -1;
  qx_repl_reader rd = {body + 1, body + len, 0};
  if (body[0] != QX_REPL_ACK) return 0;
  uint64_t received = qx_repl_get_u64(&rd), flushed = qx_repl_get_u64(&rd);
  uint64_t applied = qx_repl_get_u64(&rd);
  if (rd.short_read) return -1;
  qx_repl_peer_ack(st->r, st->slot, received, flushed, applied);
  return 0;
}

static int readable_now(pg_conn *c) {
  struct pollfd p = {c->fd, POLLIN, 0};
  return qx_pg_pending(c) || poll(&p, 1, 0) > 0;
}

/* Sleeps until a commit, a reply or the keepalive period; -1 when the stream must end. */
static int wait_for_work(stream *st) {
  repl_peer *p = &st->r->peers[st->slot];
  atomic_store(&p->waiting, 1);
  /* A commit between the last read and the flag above would be missed: look once more. */
  int sent = send_available(st);
  if (sent != 0) {
    atomic_store(&p->waiting, 0);
    return sent < 0 ? -1 : 0;
  }
  struct pollfd fds[2] = {{st->c->fd, POLLIN, 0}, {p->wake_fd, POLLIN, 0}};
  int ready = qx_pg_pending(st->c) ? 1 : poll(fds, 2, KEEPALIVE_MS);
  atomic_store(&p->waiting, 0);
  uint64_t count;
  if (fds[1].revents & POLLIN) {
    ssize_t n = read(p->wake_fd, &count, sizeof count);
    (void)n; /* resets the counter; a failed read leaves a spurious wake-up */
  }
  if (ready == 0) return send_keepalive(st);
  return 0;
}

static void run_stream(stream *st) {
  while (!st->c->failed) {
    pthread_mutex_lock(&st->r->mu);
    int go_on = !st->r->stopping && st->r->role == QX_REPL_PRIMARY &&
                st->r->peers[st->slot].session == st->session;
    pthread_mutex_unlock(&st->r->mu);
    if (!go_on) break;
    if (readable_now(st->c) && read_reply(st) != 0) break;
    int sent = send_available(st);
    if (sent < 0 || (sent == 0 && wait_for_work(st) != 0)) break;
  }
}

static int start_copy_both(pg_conn *c) {
  qx_pg_begin(c, 'W');
  qx_pg_put_u8(c, 1); /* binary */
  qx_pg_put_i16(c, 0);
  qx_pg_end(c);
  return qx_pg_flush(c);
}

void qx_repl_serve(qx_repl *r, pg_conn *c, const char *name, uint64_t next_lsn, uint64_t epoch,
                   uint64_t epoch_first_lsn) {
  const char *sqlstate;
  const char *why = refusal(r, next_lsn, epoch, epoch_first_lsn, &sqlstate);
  stream st = {.r = r, .c = c, .name = name, .next_lsn = next_lsn, .slot = -1};
  if (!why && open_sub(&st) != QX_OK) {
    sqlstate = QX_SQLSTATE_REBUILD;
    why = qx_last_error();
  }
  if (!why && (st.slot = qx_repl_peer_attach(r, name, &st.session)) < 0) {
    sqlstate = "53300"; /* too_many_connections */
    why = qx_last_error();
  }
  if (why) {
    qx_log(QX_LOG_WARN, "replication: replica refused", "replica=%s reason=\"%s\"", name, why);
    qx_pg_send_error(c, "ERROR", sqlstate, why);
    if (st.sub) qx_sub_close(st.sub);
    return;
  }
  qx_log(QX_LOG_INFO, "replication: replica connected", "replica=%s from_lsn=%" PRIu64, name,
         next_lsn);
  if (start_copy_both(c) == 0 && qx_repl_send_history(r, c) == 0) run_stream(&st);
  qx_repl_peer_detach(r, st.slot, st.session);
  qx_sub_close(st.sub);
  qx_buffer_free(&st.out);
  c->failed = 1; /* the stream ends the connection */
  qx_log(QX_LOG_INFO, "replication: replica disconnected", "replica=%s sent_lsn=%" PRIu64, name,
         st.next_lsn - 1);
}
