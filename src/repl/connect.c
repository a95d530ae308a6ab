/* A replica's libpq connection to its primary, for the stream and for base backups: the
 * primary's address as host:port, the replication login, a short connect timeout; and the
 * waits of a follower on it, which give up when it is told to leave (a primary that hangs
 * must not hold up a promotion). */
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>

#include "repl/repl_impl.h"
#include "util/clock.h"

#define CONNECT_TIMEOUT_S 2

static PGconn *start(const char *address, const char *user, const char *password,
                     const char *application, int wait) {
  char host[128], port_text[8];
  int port;
  if (qx_repl_split_address(address, host, sizeof host, &port) != QX_OK) return NULL;
  snprintf(port_text, sizeof port_text, "%d", port);
  const char *keys[] = {"host",     "port", "user", "dbname", "connect_timeout", "application_name",
                        "password", NULL};
  char timeout[8];
  snprintf(timeout, sizeof timeout, "%d", CONNECT_TIMEOUT_S);
  const char *values[] = {host,     port_text, user && *user ? user : "qaxdb",
                          "qaxdb",  timeout,   application,
                          password, NULL};
  if (!password || !*password) keys[6] = NULL; /* the list ends before it */
  return wait ? PQconnectdbParams(keys, values, 0) : PQconnectStartParams(keys, values, 0);
}

PGconn *qx_repl_connect(const char *address, const char *user, const char *password,
                        const char *application) {
  return start(address, user, password, application, 1);
}

/* Waits up to ms for fd to be ready for events; 0 when it is, -1 on a timeout or when leave
 * says so (checked every 50 ms). */
static int wait_ready(int fd, short events, int64_t end_ns, int (*leave)(void *), void *ctx) {
  for (;;) {
    if (leave(ctx) || qx_monotonic_ns() > end_ns) return -1;
    struct pollfd p = {fd, events, 0};
    int n = poll(&p, 1, 50);
    if (n > 0) return 0;
    if (n < 0 && errno != EINTR) return -1;
  }
}

PGconn *qx_repl_connect_while(const char *address, const char *user, const char *password,
                              const char *application, int (*leave)(void *), void *ctx) {
  PGconn *c = start(address, user, password, application, 0);
  int64_t end = qx_monotonic_ns() + CONNECT_TIMEOUT_S * 1000000000ll;
  for (PostgresPollingStatusType st = PGRES_POLLING_WRITING; c;) {
    if (st == PGRES_POLLING_OK || st == PGRES_POLLING_FAILED) return c;
    short events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
    if (PQsocket(c) < 0 || wait_ready(PQsocket(c), events, end, leave, ctx) != 0) break;
    st = PQconnectPoll(c);
  }
  PQfinish(c);
  return NULL;
}

PGresult *qx_repl_exec_while(PGconn *c, const char *command, int (*leave)(void *), void *ctx) {
  if (!PQsendQuery(c, command)) return NULL;
  int64_t end = qx_monotonic_ns() + CONNECT_TIMEOUT_S * 1000000000ll;
  while (PQisBusy(c))
    if (wait_ready(PQsocket(c), POLLIN, end, leave, ctx) != 0 || !PQconsumeInput(c)) return NULL;
  return PQgetResult(c);
}
