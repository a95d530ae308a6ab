/* A primary's side of `QAXDB BASEBACKUP`: takes a snapshot of its data folder (qx_db_snapshot:
 * hard links and the WAL tail, at a consistent LSN) and streams its files, then its epoch
 * history and the LSN, to a replica that is new or must be rebuilt. */
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lsm/snapshot_folder.h"
#include "repl/protocol.h"
#include "repl/repl_impl.h"
#include "server/pg_session.h"
#include "util/error.h"
#include "util/log.h"

#define CHUNK (1u << 20)

typedef struct sending {
  pg_conn *c;
  size_t root_len;
  uint64_t files, bytes;
} sending;

static _Thread_local sending *current; /* nftw passes no context */

static int send_message(pg_conn *c, qx_buffer *b) {
  int rc = qx_repl_send(c, b);
  b->len = 0;
  return rc;
}

static int send_file(sending *s, const char *path, uint64_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  qx_buffer b = {0};
  uint8_t type = QX_REPL_FILE;
  const char *name = path + s->root_len + 1;
  qx_buffer_put(&b, &type, 1);
  qx_repl_put_u32(&b, (uint32_t)strlen(name));
  qx_buffer_put(&b, name, strlen(name));
  qx_repl_put_u64(&b, size);
  int rc = send_message(s->c, &b);
  static _Thread_local uint8_t chunk[CHUNK];
  for (uint64_t sent = 0; rc == 0 && sent < size;) {
    ssize_t n = read(fd, chunk, CHUNK);
    if (n <= 0) rc = -1;
    type = QX_REPL_CHUNK;
    qx_buffer_put(&b, &type, 1);
    if (n > 0) qx_buffer_put(&b, chunk, (size_t)n);
    if (rc == 0) rc = send_message(s->c, &b);
    sent += n > 0 ? (uint64_t)n : 0;
  }
  close(fd);
  qx_buffer_free(&b);
  s->files++;
  s->bytes += size;
  return rc;
}

static int visit(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)ftw;
  if (flag != FTW_F) return 0;
  return send_file(current, path, (uint64_t)st->st_size) == 0 ? 0 : 1;
}

static int send_tail(qx_repl *r, pg_conn *c, uint64_t lsn) {
  qx_buffer b = {0};
  uint8_t type = QX_REPL_DONE;
  qx_buffer_put(&b, &type, 1);
  qx_repl_put_u64(&b, lsn);
  int rc = qx_repl_send_history(r, c) == 0 ? send_message(c, &b) : -1;
  qx_buffer_free(&b);
  return rc;
}

static int stream_folder(qx_repl *r, pg_conn *c, const char *dir, uint64_t lsn) {
  qx_pg_begin(c, 'H'); /* CopyOutResponse: binary, no columns */
  qx_pg_put_u8(c, 1);
  qx_pg_put_i16(c, 0);
  qx_pg_end(c);
  sending s = {c, strlen(dir), 0, 0};
  current = &s;
  int rc = qx_pg_flush(c) == 0 && nftw(dir, visit, 16, FTW_PHYS) == 0 ? send_tail(r, c, lsn) : -1;
  if (rc == 0) {
    qx_pg_begin(c, 'c'); /* CopyDone */
    qx_pg_end(c);
    qx_pg_begin(c, 'C');
    qx_pg_put_str(c, "BASEBACKUP");
    qx_pg_end(c);
  }
  qx_log(rc == 0 ? QX_LOG_INFO : QX_LOG_WARN, "replication: base backup sent",
         "ok=%d lsn=%" PRIu64 " files=%" PRIu64 " bytes=%" PRIu64, rc == 0, lsn, s.files, s.bytes);
  return rc;
}

void qx_repl_serve_basebackup(qx_repl *r, pg_conn *c) {
  static atomic_uint next;
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s/basebackup.%d.%u", qx_db_dir(r->db), (int)getpid(),
           atomic_fetch_add(&next, 1));
  uint64_t lsn = 0;
  int rc = qx_db_snapshot(r->db, dir, &lsn);
  if (rc != QX_OK) {
    qx_pg_send_error(c, "ERROR", "58030", qx_last_error());
  } else if (stream_folder(r, c, dir, lsn) != 0) {
    c->failed = 1;
  }
  qx_snapfolder_remove(dir);
}
