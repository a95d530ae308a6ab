/* qaxdbd's node (node.h): the order things open and close in, and the rebuild of a replica. */
#include "node.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/log.h"

static int fail(const char *what, int rc) {
  qx_log(QX_LOG_ERROR, qx_last_error(), "what=\"%s\" status=\"%s\"", what, qx_strerror(rc));
  return 1;
}

/* 1 if dir is missing or holds nothing. */
static int is_empty_folder(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return errno == ENOENT;
  int empty = 1;
  for (struct dirent *e; empty && (e = readdir(d));)
    empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
  closedir(d);
  return empty;
}

static int copy_primary(const char *primary, const qaxdbd_config *c) {
  qx_log(QX_LOG_INFO, "copying the primary into the data folder", "primary=%s data=%s", primary,
         c->data);
  uint64_t lsn = 0;
  int rc = qx_repl_basebackup(primary, c->repl.user, c->repl.password, c->data, &lsn);
  if (rc != QX_OK) return fail("cannot copy the primary", rc);
  qx_log(QX_LOG_INFO, "copied the primary", "primary=%s lsn=%" PRIu64, primary, lsn);
  return 0;
}

/* Says where to connect: the first two lines, which scripts read the ports from. */
static void announce(const qaxdbd_config *c, const qx_server *srv) {
  const char *host = c->server.listen_address;
  int port = qx_server_pg_port(srv);
  const char *users = c->server.users_file;
  printf("qaxdbd: serving %s on %s:%d (PostgreSQL wire protocol%s%s%s): psql -h %s -p %d\n",
         c->data, host, port, users ? "; users of " : "; loopback trusted", users ? users : "",
         c->server.tls_cert_file ? "; TLS offered" : "", host, port);
  int http = qx_server_http_port(srv);
  printf("qaxdbd: metrics at http://%s:%d/metrics, health at /health", host, http);
  if (c->server.console_dir) printf(", web console at http://%s:%d/", host, http);
  putchar('\n');
}

static void start_extras(const qaxdbd_config *c, node *n) {
  int rc;
  if (c->simulate && (rc = venue_feed_start(n->db, c->simulate_rate, &n->feed)) != QX_OK)
    fail("the simulator did not start", rc);
  if (n->feed) printf("qaxdbd: simulating the venue, %u events/s\n", c->simulate_rate);
  if (c->snapshot_interval == 0) return;
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", c->snapshot_dir ? c->snapshot_dir : "");
  if (!c->snapshot_dir) snprintf(dir, sizeof dir, "%s/snapshots", c->data);
  if (snapshot_timer_start(n->db, dir, c->snapshot_interval, c->snapshot_keep, &n->snapshots) !=
      QX_OK)
    qx_log(QX_LOG_ERROR, qx_last_error(), "what=\"periodic snapshots did not start\"");
  else
    qx_log(QX_LOG_INFO, "periodic snapshots", "interval_s=%u dir=%s keep=%u", c->snapshot_interval,
           dir, c->snapshot_keep);
}

int node_open(qaxdbd_config *c, node *n) {
  memset(n, 0, sizeof *n);
  if (c->repl.primary && is_empty_folder(c->data) && copy_primary(c->repl.primary, c) != 0)
    return 1;
  int rc = qx_db_open(c->data, NULL, &n->db, NULL);
  if (rc != QX_OK) return fail("cannot open the data folder", rc);
  rc = qx_repl_start(n->db, &c->repl, &n->repl);
  if (rc == QX_OK) {
    c->server.repl = n->repl;
    rc = qx_server_start(n->db, &c->server, &n->srv);
  }
  if (rc != QX_OK) {
    int result = fail("cannot start", rc);
    node_close(n);
    return result;
  }
  announce(c, n->srv);
  start_extras(c, n);
  fflush(stdout);
  return 0;
}

int node_close(node *n) {
  snapshot_timer_stop(n->snapshots);
  if (n->feed)
    qx_log(QX_LOG_INFO, "the simulator stopped", "events=%llu",
           (unsigned long long)venue_feed_stop(n->feed));
  qx_server_stop(n->srv);
  qx_repl_stop(n->repl);
  int rc = n->db ? qx_db_close(n->db) : QX_OK;
  memset(n, 0, sizeof *n);
  return rc == QX_OK ? 0 : fail("closing the data folder", rc);
}

int node_rebuild_if_needed(qaxdbd_config *c, node *n) {
  qx_repl_status st;
  qx_repl_status_get(n->repl, &st);
  if (!st.needs_rebuild || !c->auto_rebuild || !st.primary[0]) return 0;
  qx_log(QX_LOG_WARN, "rebuilding this replica from the primary", "primary=%s reason=\"%s\"",
         st.primary, st.problem);
  char primary[128], aside[PATH_MAX];
  snprintf(primary, sizeof primary, "%s", st.primary);
  snprintf(aside, sizeof aside, "%s.diverged-%" PRIu64 "-%lld", c->data, st.epoch,
           (long long)time(NULL));
  if (node_close(n) != 0) return 1;
  if (rename(c->data, aside) != 0) {
    qx_log(QX_LOG_ERROR, "cannot move the data folder aside", "from=%s to=%s error=\"%s\"", c->data,
           aside, strerror(errno));
    return 1;
  }
  qx_log(QX_LOG_INFO, "moved the diverged data folder aside", "to=%s", aside);
  /* The copy comes from the primary this node was told of, with or without etcd. */
  const char *configured = c->repl.primary;
  if (!c->repl.etcd) c->repl.primary = primary;
  int rc = copy_primary(primary, c) != 0 ? 1 : node_open(c, n);
  c->repl.primary = configured;
  return rc;
}
