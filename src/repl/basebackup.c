/* A replica's side of a base backup (qx_repl_basebackup): receives the primary's snapshot
 * over `QAXDB BASEBACKUP` into "<dir>.tmp", writes the epoch history with it, and renames it to
 * dir once everything is in and synced, so that dir is either absent or a whole copy. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lsm/snapshot_folder.h"
#include "repl/protocol.h"
#include "repl/repl_impl.h"
#include "util/error.h"
#include "util/fileio.h"

typedef struct receiving {
  const char *root;
  int fd;
  char path[PATH_MAX];
  uint64_t left; /* bytes of the current file still to come */
  int have_history, done;
  qx_epochs history;
  uint64_t lsn;
} receiving;

static int close_file(receiving *rv) {
  if (rv->fd < 0) return QX_OK;
  int ok = fdatasync(rv->fd) == 0;
  ok &= close(rv->fd) == 0;
  rv->fd = -1;
  if (!ok) return qx_fail_errno(QX_ERR_IO, errno, "write %s", rv->path);
  return rv->left == 0 ? QX_OK
                       : qx_fail(QX_ERR_FORMAT, "base backup: %s ends %" PRIu64 " bytes short",
                                 rv->path, rv->left);
}

static int open_file(receiving *rv, qx_repl_reader *rd) {
  int rc = close_file(rv);
  uint32_t len = qx_repl_get_u32(rd);
  const uint8_t *name = qx_repl_get_bytes(rd, len);
  rv->left = qx_repl_get_u64(rd);
  if (rc != QX_OK) return rc;
  if (!name || len == 0 || memmem(name, len, "..", 2) || name[0] == '/')
    return qx_fail(QX_ERR_FORMAT, "base backup: a file with a bad name");
  snprintf(rv->path, sizeof rv->path, "%s/%.*s", rv->root, (int)len, (const char *)name);
  char *slash = strrchr(rv->path, '/');
  *slash = '\0';
  rc = qx_mkdir_p(rv->path);
  *slash = '/';
  if (rc != QX_OK) return rc;
  rv->fd = open(rv->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  return rv->fd < 0 ? qx_fail_errno(QX_ERR_IO, errno, "create %s", rv->path) : QX_OK;
}

static int write_chunk(receiving *rv, const uint8_t *p, size_t n) {
  if (rv->fd < 0 || n > rv->left)
    return qx_fail(QX_ERR_FORMAT, "base backup: bytes beyond the end of %s", rv->path);
  for (size_t done = 0; done < n;) {
    ssize_t w = write(rv->fd, p + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return qx_fail_errno(QX_ERR_IO, errno, "write %s", rv->path);
    done += (size_t)w;
  }
  rv->left -= n;
  return QX_OK;
}

static int take(receiving *rv, const uint8_t *m, size_t len) {
  if (len == 0) return qx_fail(QX_ERR_FORMAT, "base backup: an empty message");
  qx_repl_reader rd = {m + 1, m + len, 0};
  switch (m[0]) {
  case QX_REPL_FILE:
    return open_file(rv, &rd);
  case QX_REPL_CHUNK:
    return write_chunk(rv, m + 1, len - 1);
  case QX_REPL_HELLO:
    rv->have_history = 1;
    return qx_repl_get_history(&rd, &rv->history);
  case QX_REPL_DONE:
    rv->lsn = qx_repl_get_u64(&rd);
    rv->done = !rd.short_read;
    return close_file(rv);
  default:
    return qx_fail(QX_ERR_FORMAT, "base backup: unknown message '%c'", m[0]);
  }
}

static int receive(PGconn *pg, receiving *rv) {
  PGresult *res = PQexec(pg, "QAXDB BASEBACKUP");
  int rc = PQresultStatus(res) == PGRES_COPY_OUT
               ? QX_OK
               : qx_fail(QX_ERR_IO, "base backup refused: %s", PQresultErrorMessage(res));
  PQclear(res);
  for (;;) {
    char *buf;
    int n = rc == QX_OK ? PQgetCopyData(pg, &buf, 0) : -1;
    if (n < 0) break;
    rc = take(rv, (const uint8_t *)buf, (size_t)n);
    PQfreemem(buf);
  }
  while ((res = PQgetResult(pg))) {
    if (rc == QX_OK && PQresultStatus(res) != PGRES_COMMAND_OK)
      rc = qx_fail(QX_ERR_IO, "base backup failed: %s", PQresultErrorMessage(res));
    PQclear(res);
  }
  if (rc == QX_OK && (!rv->done || !rv->have_history))
    rc = qx_fail(QX_ERR_IO, "base backup: the primary ended before the end of the copy");
  return rc;
}

int qx_repl_basebackup(const char *primary, const char *user, const char *password, const char *dir,
                       uint64_t *lsn_out) {
  char tmp[PATH_MAX];
  int rc = qx_snapfolder_begin(dir, tmp, sizeof tmp);
  if (rc != QX_OK) return rc;
  PGconn *pg = qx_repl_connect(primary, user, password, "qaxdb-basebackup");
  receiving rv = {.root = tmp, .fd = -1};
  if (!pg || PQstatus(pg) != CONNECTION_OK)
    rc = qx_fail(QX_ERR_IO, "cannot reach the primary %s: %s", primary ? primary : "(none)",
                 pg ? PQerrorMessage(pg) : "not host:port");
  else
    rc = receive(pg, &rv);
  if (rv.fd >= 0) close(rv.fd);
  PQfinish(pg);
  if (rc == QX_OK) rc = qx_epochs_save(tmp, &rv.history);
  if (rc == QX_OK) rc = qx_snapfolder_finish(tmp, dir);
  if (rc != QX_OK) {
    qx_snapfolder_remove(tmp);
    return rc;
  }
  if (lsn_out) *lsn_out = rv.lsn;
  return QX_OK;
}
