/* qaxdbd: the qaxdb server. Owns a data folder (./qaxdb-data by default, created if needed)
 * and answers SQL over it on the PostgreSQL wire protocol (127.0.0.1:5433 by default) until
 * SIGINT or SIGTERM, which close it cleanly; SIGHUP reloads its settings (config.h). With
 * --add-user, edits the users file instead. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "add_user.h"
#include "config.h"
#include "node.h"
#include "util/log.h"

/* SIGHUP: the config file and flags again. What the server can change while it runs changes;
 * the rest is logged as waiting for the next start. */
static void reload(int argc, char **argv, qaxdbd_config *running, qx_server *srv) {
  qaxdbd_config next;
  if (qaxdbd_config_read(argc, argv, &next) != 0) {
    qx_log(QX_LOG_ERROR, "reload failed: the settings are kept as they were", NULL);
    qaxdbd_config_free(&next);
    return;
  }
  qx_log_set(next.log_level, qx_log_to_stderr, NULL);
  if (qx_server_reconfigure(srv, &next.server) != QX_OK)
    qx_log(QX_LOG_ERROR, qx_last_error(), "what=\"the users file did not read: the users stay\"");
  const qx_server_options *a = &running->server, *b = &next.server;
  if (strcmp(running->data, next.data) != 0 || a->pg_port != b->pg_port ||
      a->http_port != b->http_port || strcmp(a->listen_address, b->listen_address) != 0 ||
      a->query_memory_limit != b->query_memory_limit || a->sql_engines != b->sql_engines ||
      running->simulate != next.simulate || running->snapshot_interval != next.snapshot_interval ||
      running->snapshot_keep != next.snapshot_keep)
    qx_log(QX_LOG_WARN,
           "the data folder, ports, address, query memory, SQL engines, simulation and "
           "snapshots change "
           "at the next start",
           NULL);
  qx_log(QX_LOG_INFO, "reloaded", "log_level=%s statement_timeout_ms=%u max_connections=%d",
         qx_log_level_name(next.log_level), b->statement_timeout_ms, b->max_connections);
  running->log_level = next.log_level;
  running->server.statement_timeout_ms = b->statement_timeout_ms;
  running->server.max_connections = b->max_connections;
  qaxdbd_config_free(&next);
}

/* Serves until SIGINT or SIGTERM, taking SIGHUP as a reload, and rebuilding a replica that
 * cannot follow its primary from its own log. The signals are blocked in every thread (they are
 * started after main blocks them), so that this thread takes them in order. Returns the signal,
 * or 0 if the node could not be opened again after a rebuild. */
static int serve_until_stopped(int argc, char **argv, qaxdbd_config *c, node *n,
                               const sigset_t *signals) {
  const struct timespec check_every = {0, 250000000};
  for (;;) {
    int sig = sigtimedwait(signals, NULL, &check_every);
    if (sig == SIGHUP) reload(argc, argv, c, n->srv);
    if (sig == SIGINT || sig == SIGTERM) return sig;
    if (sig < 0 && node_rebuild_if_needed(c, n) != 0) return 0;
  }
}

int main(int argc, char **argv) {
  qaxdbd_config c;
  int rc = qaxdbd_config_read(argc, argv, &c);
  if (rc != 0) {
    qaxdbd_config_free(&c);
    return rc < 0 ? 0 : rc;
  }
  if (c.add_user) {
    rc = add_user(c.server.users_file, c.add_user);
    qaxdbd_config_free(&c);
    return rc;
  }
  qx_log_set(c.log_level, qx_log_to_stderr, NULL);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, NULL);
  node n;
  if (node_open(&c, &n) != 0) {
    qaxdbd_config_free(&c);
    return 1;
  }
  int sig = serve_until_stopped(argc, argv, &c, &n, &signals);
  if (sig) qx_log(QX_LOG_INFO, "stopping", "signal=%s", sig == SIGINT ? "SIGINT" : "SIGTERM");
  rc = node_close(&n);
  qaxdbd_config_free(&c);
  if (!sig || rc != 0) return 1;
  qx_log(QX_LOG_INFO, "stopped cleanly", NULL);
  return 0;
}
