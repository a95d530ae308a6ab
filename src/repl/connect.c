/* A replica's libpq connection to its primary, for the stream and for base backups: the
 * primary's address as host:port, the replication login, a short connect timeout. */
#include <libpq-fe.h>
#include <stdio.h>

#include "repl/repl_impl.h"

PGconn *qx_repl_connect(const char *address, const char *user, const char *password,
                        const char *application) {
  char host[128], port_text[8];
  int port;
  if (qx_repl_split_address(address, host, sizeof host, &port) != QX_OK) return NULL;
  snprintf(port_text, sizeof port_text, "%d", port);
  const char *keys[] = {"host",     "port", "user", "dbname", "connect_timeout", "application_name",
                        "password", NULL};
  const char *values[] = {
      host, port_text, user && *user ? user : "qaxdb", "qaxdb", "2", application, password, NULL};
  if (!password || !*password) keys[6] = NULL; /* the list ends before it */
  return PQconnectdbParams(keys, values, 0);
}
