/* The inside of a qx_server (qaxdb/server.h), shared by server.c (listening, connection
 * threads, stop) and pg_session.c (one connection's conversation). */
#ifndef QX_SERVER_IMPL_H
#define QX_SERVER_IMPL_H

#include <pthread.h>
#include <stdint.h>

#include "qaxdb/server.h"
#include "qaxdb/sql.h"
#include "server/scram.h"
#include "server/tls.h"
#include "server/users.h"
#include "util/grow.h"

#define QX_LATENCY_BUCKETS 8

/* Statements of one kind: how many, how many failed, and their durations by bucket. */
typedef struct qx_latency {
  uint64_t count, failed, sum_ns;
  uint64_t buckets[QX_LATENCY_BUCKETS];
} qx_latency;

typedef struct pg_client {
  int fd;
  uint32_t key[2]; /* process id and secret, for a CancelRequest */
  struct pg_client *next;
} pg_client;

/* One of the server's SQL engines (sql_pool.c). */
typedef struct sql_engine {
  qx_sql *sql;
  const pg_client *running; /* whose statement runs on it, or NULL: free (srv->mu) */
  int64_t running_since;    /* when it started (monotonic ns) */
  int timed_out;            /* the watchdog cancelled it for the statement timeout */
} sql_engine;

struct qx_server {
  qx_db *db;
  qx_server_options opt;
  int authenticate;    /* a users file was given: every connection authenticates */
  qx_users users;      /* read from it at the start */
  qx_tls_context *tls; /* the certificate and key, if TLS is offered; else NULL */
  uint8_t mock_secret[QX_SCRAM_KEY_LEN]; /* salts the exchange of user names not in the file */
  int listen_fd, port;
  pthread_t acceptor;

  pthread_mutex_t mu; /* everything below */
  pthread_cond_t idle_cv;
  pg_client *clients; /* connections being served */
  int client_count;
  int stopping;
  uint32_t next_process_id;
  sql_engine *engines;
  int engine_count;
  pthread_cond_t engine_cv; /* an engine became free */
  pthread_t watchdog;
  pthread_cond_t watch_cv; /* wakes the watchdog to stop */

  qx_latency queries, inserts; /* for /metrics */
  uint64_t inserted_rows;

  struct qx_web *web;    /* the HTTP port (NULL: none) */
  int wrote_server_file; /* the folder's SERVER file names this server */
};

/* metrics.c: adds a statement of ns (REQUIRES: srv->mu); writes /metrics into b (on the HTTP
 * port's service thread); one gauge or counter. */
void qx_latency_record(qx_latency *l, int64_t ns, int ok);
int qx_server_metrics(qx_server *srv, qx_buffer *b);
void qx_metric(qx_buffer *b, const char *name, const char *type, const char *help, double value);

/* server_file.c: the folder's SERVER file, saying where this server listens (for the CLI). */
#define QX_SERVER_FILE "SERVER"
int qx_server_file_write(qx_server *srv);
void qx_server_file_remove(const qx_server *srv);

/* server.c: a TCP listener on host:port (an IPv4 address: loopback only unless remote_ok, set
 * when clients authenticate; port 0: a free one). */
int qx_server_listen(const char *host, int port, int remote_ok, int *fd_out, int *port_out);

/* pg_session.c: serves one connection until it ends or the server stops; closes nothing. */
void qx_pg_session(qx_server *srv, pg_client *client);

/* sql_pool.c: the SQL engines. take waits for a free one and marks it the client's; give
 * frees it and returns 1 if the statement timeout cancelled the statement. The rest REQUIRE
 * srv->mu: the watchdog's cancel of statements past the timeout (now: monotonic ns), a
 * CancelRequest's of the client with key, and the stop's of every statement. */
int qx_sql_pool_open(qx_server *srv);
void qx_sql_pool_close(qx_server *srv);
sql_engine *qx_sql_pool_take(qx_server *srv, const pg_client *client);
int qx_sql_pool_give(qx_server *srv, sql_engine *e);
void qx_sql_pool_interrupt_overdue(qx_server *srv, int64_t now);
void qx_sql_pool_cancel(qx_server *srv, const uint32_t key[2]);
void qx_sql_pool_interrupt_all(qx_server *srv);

/* server.c: cancels the running statement if it is the client's with key. */
void qx_server_cancel(qx_server *srv, const uint32_t key[2]);

#endif
