/* qaxdbd's listeners, for an application that embeds the library as well as for qaxdbd:
 * a PostgreSQL wire protocol (v3) listener that answers a database's SQL (qaxdb/sql.h) and
 * takes INSERTs into its tables, so that psql and any PostgreSQL client can use it.
 *
 * The simple and extended query protocols (rows with PostgreSQL's type OIDs, an SQLSTATE on
 * errors, INSERT and COPY acknowledged at the session's durability), cancel, a statement
 * timeout, PostgreSQL's catalog as psql and Grafana read it, point lookups answered from the
 * engine, HTTP /metrics and /health. Without a users file, connections from loopback are
 * trusted for any user name, as a fresh PostgreSQL trusts local ones; with one
 * (docs/formats/users.md), every connection authenticates with SCRAM-SHA-256, and the
 * listeners may take a non-loopback address. TLS is offered when a certificate and key are
 * given. See docs/server.md.
 *
 * Thread safety: start, reconfigure and stop from one thread; the server runs its own threads
 * (one to accept, one per connection) and its own SQL engines over db, which must outlive it. */
#ifndef QAXDB_SERVER_H
#define QAXDB_SERVER_H

#include "qaxdb/db.h"
#include "qaxdb/repl.h"
#include "qaxdb/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define QX_SERVER_DEFAULT_PG_PORT 5433    /* PostgreSQL's 5432 plus one: both can run on a host */
#define QX_SERVER_DEFAULT_HTTP_PORT 9433  /* /metrics and /health */
#define QX_SERVER_DEFAULT_SQL_ENGINES 2   /* statements that run at once */
#define QX_SERVER_DEFAULT_WEB_QUEUE 65536 /* records kept encoded for WebSocket clients */
#define QX_SERVER_DEFAULT_HEARTBEAT_MS 1000

typedef struct qx_server qx_server;

typedef struct qx_server_options {
  /* The IPv4 address to listen on (the PostgreSQL and HTTP listeners); a loopback address
   * (127.0.0.0/8) unless users_file is set. Default "127.0.0.1". */
  const char *listen_address;
  /* The users file (docs/formats/users.md): when set, every connection authenticates with
   * SCRAM-SHA-256 against it (read once, at the start: a bad line fails qx_server_start with
   * QX_ERR_PARSE naming the file and line). NULL (default): loopback is trusted. */
  const char *users_file;
  /* TLS: a PEM certificate chain and its unencrypted PEM key. When both are set, a client's
   * SSLRequest is answered with a TLS handshake; clients that do not ask stay in the clear.
   * NULL (default): no TLS, an SSLRequest is answered "no". */
  const char *tls_cert_file, *tls_key_file;
  int pg_port; /* default QX_SERVER_DEFAULT_PG_PORT; 0: a free port (qx_server_pg_port) */
  /* HTTP: GET /metrics (Prometheus text format) and /health, the WebSocket at /ws
   * (docs/formats/websocket.md) and the web console at /. Default QX_SERVER_DEFAULT_HTTP_PORT;
   * 0: a free port (qx_server_http_port); -1: none. */
  int http_port;
  /* The web console's files, served at / (NULL: none, / answers 404). */
  const char *console_dir;
  /* The token every WebSocket presents (?token= or Authorization: Bearer). NULL: none needed;
   * but with a users file, every WebSocket is then refused. */
  const char *web_token;
  /* Records of the log kept encoded for WebSocket clients, shared by all: a subscription that
   * falls further behind is moved to catch up from the WAL, or disconnected, as it asked.
   * Default QX_SERVER_DEFAULT_WEB_QUEUE. */
  uint32_t web_queue_limit;
  uint32_t web_heartbeat_ms; /* default QX_SERVER_DEFAULT_HEARTBEAT_MS */
  int max_connections;       /* default 64; more are refused with SQLSTATE 53300 */
  /* A statement running longer is cancelled (SQLSTATE 57014); default 300000 (5 min), 0: no
   * limit. */
  uint32_t statement_timeout_ms;
  /* Memory each SQL engine may use for its statement; 0 (default): DuckDB's own limit, 80% of
   * the machine's memory. */
  uint64_t query_memory_limit;
  /* SQL engines (each a DuckDB database over the same data): this many statements run at
   * once, and more wait for one to be free. Point lookups by key need none. Default
   * QX_SERVER_DEFAULT_SQL_ENGINES. */
  int sql_engines;
  /* The node's replication (qaxdb/repl.h), or NULL: replicas stream from this server (`QAXDB
   * REPLICATE`, `QAXDB BASEBACKUP`), and its role and lag are in /metrics. Stop the server
   * before qx_repl_stop. */
  qx_repl *repl;
  /* What INSERT and COPY are acknowledged at until a session SETs qaxdb.durability: group
   * (the default), none, or replicated (needs repl). */
  qx_durability durability;
} qx_server_options;

void qx_server_options_init(qx_server_options *options);

/* Starts listening; QX_ERR_IO naming the address if it cannot (a port in use, say), or the
 * file that cannot be read (the users file, the TLS certificate or key). */
int qx_server_start(qx_db *db, const qx_server_options *options, qx_server **out);

/* Changes what a running server changes at once: statement_timeout_ms, max_connections
 * (connections over a lowered limit stay; new ones are refused) and, for a server started with
 * a users file, the users, read again from options->users_file (new logins use them). The
 * other options take a restart and are ignored here. If the users file does not read, the
 * users stay as they were and its error (file and line) is returned; the rest still changes. */
int qx_server_reconfigure(qx_server *server, const qx_server_options *options);

/* The ports the listeners are bound to (the HTTP one: -1 if none). */
int qx_server_pg_port(const qx_server *server);
int qx_server_http_port(const qx_server *server);

/* Stops accepting, ends every connection (a query in progress is cancelled), waits for the
 * server's threads and frees it. */
void qx_server_stop(qx_server *server);

#ifdef __cplusplus
}
#endif
#endif
