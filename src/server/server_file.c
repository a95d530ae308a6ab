/* The SERVER file in a served data folder: which process serves it and where, so that the
 * qaxdb CLI, finding the folder locked, asks the server instead (docs/server.md). Written when
 * the listeners are up, removed when they stop; one left by a killed server is stale, which
 * the CLI finds out by its connection being refused. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include "server/server_impl.h"
#include "util/error.h"
#include "util/log.h"

static void server_file_path(const qx_server *srv, char out[PATH_MAX]) {
  snprintf(out, PATH_MAX, "%s/" QX_SERVER_FILE, qx_db_dir(srv->db));
}

/* Written to a temporary name and renamed: a reader sees the whole file or none. */
int qx_server_file_write(qx_server *srv) {
  char path[PATH_MAX], tmp[PATH_MAX + 8];
  server_file_path(srv, path);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f) return qx_fail_errno(QX_ERR_IO, errno, "create %s", tmp);
  fprintf(f, "pid=%ld\naddress=%s\npg_port=%d\nhttp_port=%d\n", (long)getpid(),
          srv->opt.listen_address, srv->port, qx_server_http_port(srv));
  if (fclose(f) != 0 || rename(tmp, path) != 0) {
    int e = errno;
    unlink(tmp);
    return qx_fail_errno(QX_ERR_IO, e, "write %s", path);
  }
  srv->wrote_server_file = 1;
  return QX_OK;
}

void qx_server_file_remove(const qx_server *srv) {
  char path[PATH_MAX];
  server_file_path(srv, path);
  if (unlink(path) != 0 && errno != ENOENT)
    qx_log(QX_LOG_WARN, "cannot remove the SERVER file", "path=%s", path);
}
