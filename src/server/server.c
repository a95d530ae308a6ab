/* qx_server (qaxdb/server.h): the PostgreSQL listener, a thread per connection, cancel
 * requests, and a stop that ends every connection before it returns. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/rand.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "server/server_impl.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"
#include "util/thread.h"
#include "web/web.h"

void qx_server_options_init(qx_server_options *o) {
  memset(o, 0, sizeof *o);
  o->listen_address = "127.0.0.1";
  o->pg_port = QX_SERVER_DEFAULT_PG_PORT;
  o->http_port = QX_SERVER_DEFAULT_HTTP_PORT;
  o->max_connections = 64;
  o->statement_timeout_ms = 300000;
  o->sql_engines = QX_SERVER_DEFAULT_SQL_ENGINES;
  o->durability = QX_DURABILITY_GROUP;
  o->web_queue_limit = QX_SERVER_DEFAULT_WEB_QUEUE;
  o->web_heartbeat_ms = QX_SERVER_DEFAULT_HEARTBEAT_MS;
}

/* ---- connections --------------------------------------------------------------------------- */

typedef struct connection_start {
  qx_server *srv;
  pg_client *client;
} connection_start;

static void forget_client(qx_server *srv, pg_client *client) {
  pthread_mutex_lock(&srv->mu);
  for (pg_client **p = &srv->clients; *p; p = &(*p)->next)
    if (*p == client) {
      *p = client->next;
      break;
    }
  srv->client_count--;
  pthread_cond_broadcast(&srv->idle_cv);
  pthread_mutex_unlock(&srv->mu);
}

static void *connection_main(void *arg) {
  connection_start start = *(connection_start *)arg;
  free(arg);
  qx_thread_name("qx-pg-conn");
  /* OpenSSL writes with write(): a peer gone would raise SIGPIPE, which kills the process.
   * Blocked in this thread, the write fails with EPIPE instead (the plain path sends with
   * MSG_NOSIGNAL). */
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, NULL);
  qx_pg_session(start.srv, start.client);
  forget_client(start.srv, start.client);
  close(start.client->fd);
  free(start.client);
  return NULL;
}

/* Registers a new connection; one over max_connections keeps a zero key, which its session
 * answers with "too many clients" (a CancelRequest needs no slot, but is counted alike). */
static pg_client *add_client(qx_server *srv, int fd) {
  pg_client *client = calloc(1, sizeof *client);
  if (!client) return NULL;
  client->fd = fd;
  pthread_mutex_lock(&srv->mu);
  if (srv->client_count < srv->opt.max_connections) {
    client->key[0] = ++srv->next_process_id;
    if (getrandom(&client->key[1], sizeof client->key[1], 0) != sizeof client->key[1])
      client->key[1] = (uint32_t)rand();
  } else {
    qx_log(QX_LOG_WARN, "connection refused: too many clients", "max_connections=%d",
           srv->opt.max_connections);
  }
  client->next = srv->clients;
  srv->clients = client;
  srv->client_count++;
  pthread_mutex_unlock(&srv->mu);
  return client;
}

static void serve(qx_server *srv, int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* replies are whole messages */
  pg_client *client = add_client(srv, fd);
  connection_start *start = client ? malloc(sizeof *start) : NULL;
  pthread_t thread;
  if (start) *start = (connection_start){srv, client};
  if (start && pthread_create(&thread, NULL, connection_main, start) == 0) {
    pthread_detach(thread);
    return;
  }
  free(start);
  if (client) forget_client(srv, client);
  free(client);
  close(fd);
}

static void *acceptor_main(void *arg) {
  qx_server *srv = arg;
  qx_thread_name("qx-pg-listen");
  for (;;) {
    int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0 && (errno == EINTR || errno == ECONNABORTED || errno == EMFILE)) continue;
    if (fd < 0) break; /* the listener was shut down: the server stops */
    pthread_mutex_lock(&srv->mu);
    int stopping = srv->stopping;
    pthread_mutex_unlock(&srv->mu);
    if (stopping) {
      close(fd);
      break;
    }
    serve(srv, fd);
  }
  return NULL;
}

#define WATCH_PERIOD_NS 100000000 /* how often the watchdog looks at the running statements */

/* Cancels statements that have run past the statement timeout. */
static void *watchdog_main(void *arg) {
  qx_server *srv = arg;
  qx_thread_name("qx-pg-watch");
  pthread_mutex_lock(&srv->mu);
  while (!srv->stopping) {
    int64_t now = qx_monotonic_ns();
    qx_sql_pool_interrupt_overdue(srv, now);
    int64_t at = now + WATCH_PERIOD_NS;
    struct timespec ts = {at / 1000000000, at % 1000000000};
    pthread_cond_timedwait(&srv->watch_cv, &srv->mu, &ts);
  }
  pthread_mutex_unlock(&srv->mu);
  return NULL;
}

void qx_server_cancel(qx_server *srv, const uint32_t key[2]) {
  pthread_mutex_lock(&srv->mu);
  qx_sql_pool_cancel(srv, key);
  pthread_mutex_unlock(&srv->mu);
}

/* ---- start and stop ------------------------------------------------------------------------ */

int qx_server_listen(const char *host, int port, int remote_ok, int *fd_out, int *port_out) {
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, host, &addr.sin_addr) != 1)
    return qx_fail(QX_ERR_INVALID_ARG, "listen address %s is not an IPv4 address", host);
  if ((ntohl(addr.sin_addr.s_addr) >> 24) != 127 && !remote_ok)
    return qx_fail(QX_ERR_INVALID_ARG,
                   "listen address %s is not a loopback address: listening on others needs a "
                   "users file to authenticate clients (qaxdbd --users FILE)",
                   host);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return qx_fail_errno(QX_ERR_IO, errno, "socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  socklen_t len = sizeof addr;
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, 128) != 0 ||
      getsockname(fd, (struct sockaddr *)&addr, &len) != 0) {
    int e = errno;
    close(fd);
    return qx_fail_errno(QX_ERR_IO, e, "listen on %s:%d", host, port);
  }
  *fd_out = fd;
  *port_out = ntohs(addr.sin_port);
  return QX_OK;
}

static void free_server(qx_server *srv) {
  if (srv->listen_fd >= 0) close(srv->listen_fd);
  qx_sql_pool_close(srv);
  qx_users_free(&srv->users);
  qx_tls_context_free(srv->tls);
  pthread_mutex_destroy(&srv->mu);
  pthread_cond_destroy(&srv->engine_cv);
  pthread_cond_destroy(&srv->idle_cv);
  pthread_cond_destroy(&srv->watch_cv);
  free(srv);
}

/* Reads the users file and the TLS certificate and key, if given, before anything listens: a
 * mistake in either stops the start. */
static int load_security(qx_server *srv) {
  const qx_server_options *o = &srv->opt;
  if (!o->tls_cert_file != !o->tls_key_file)
    return qx_fail(QX_ERR_INVALID_ARG, "TLS needs both a certificate and its key file");
  int rc =
      o->tls_cert_file ? qx_tls_context_new(o->tls_cert_file, o->tls_key_file, &srv->tls) : QX_OK;
  if (rc != QX_OK || !o->users_file) return rc;
  srv->authenticate = 1;
  rc = qx_users_load(o->users_file, &srv->users);
  if (rc == QX_OK && RAND_bytes(srv->mock_secret, sizeof srv->mock_secret) != 1)
    rc = qx_fail(QX_ERR_IO, "server: no random bytes for SCRAM");
  return rc;
}

int qx_server_start(qx_db *db, const qx_server_options *options, qx_server **out) {
  if (!db || !out) return qx_fail(QX_ERR_INVALID_ARG, "qx_server_start: missing argument");
  qx_server *srv = calloc(1, sizeof *srv);
  if (!srv) return qx_fail(QX_ERR_NOMEM, "server");
  srv->db = db;
  srv->listen_fd = -1;
  if (options)
    srv->opt = *options;
  else
    qx_server_options_init(&srv->opt);
  if (!srv->opt.listen_address) srv->opt.listen_address = "127.0.0.1";
  if (srv->opt.max_connections <= 0) srv->opt.max_connections = 64;
  pthread_mutex_init(&srv->mu, NULL);
  pthread_cond_init(&srv->engine_cv, NULL);
  pthread_cond_init(&srv->idle_cv, NULL);
  pthread_condattr_t monotonic;
  pthread_condattr_init(&monotonic);
  pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC);
  pthread_cond_init(&srv->watch_cv, &monotonic);
  pthread_condattr_destroy(&monotonic);
  int rc = srv->opt.pg_port < 0 || srv->opt.pg_port > 65535 || srv->opt.http_port > 65535
               ? qx_fail(QX_ERR_INVALID_ARG, "port %d or %d is out of range", srv->opt.pg_port,
                         srv->opt.http_port)
               : QX_OK;
  if (rc == QX_OK) rc = load_security(srv);
  if (rc == QX_OK) rc = qx_sql_pool_open(srv);
  if (rc == QX_OK)
    rc = qx_server_listen(srv->opt.listen_address, srv->opt.pg_port, srv->authenticate,
                          &srv->listen_fd, &srv->port);
  if (rc == QX_OK && pthread_create(&srv->acceptor, NULL, acceptor_main, srv) != 0)
    rc = qx_fail(QX_ERR_NOMEM, "server: cannot start the listener thread");
  if (rc != QX_OK) {
    free_server(srv);
    return rc;
  }
  if (pthread_create(&srv->watchdog, NULL, watchdog_main, srv) != 0) {
    srv->watchdog = 0;
    qx_server_stop(srv);
    return qx_fail(QX_ERR_NOMEM, "server: cannot start the statement watchdog thread");
  }
  rc = srv->opt.http_port >= 0 ? qx_web_start(srv, &srv->web) : QX_OK;
  if (rc == QX_OK) rc = qx_server_file_write(srv);
  if (rc != QX_OK) {
    char why[512];
    snprintf(why, sizeof why, "%s", qx_last_error());
    qx_server_stop(srv);
    return qx_fail(rc, "%s", why);
  }
  qx_log(QX_LOG_INFO, "listening",
         "address=%s pg_port=%d http_port=%d max_connections=%d logins=%s tls=%s",
         srv->opt.listen_address, srv->port, qx_server_http_port(srv), srv->opt.max_connections,
         srv->authenticate ? "scram" : "trust-loopback", srv->tls ? "on" : "off");
  *out = srv;
  return QX_OK;
}

int qx_server_reconfigure(qx_server *srv, const qx_server_options *options) {
  qx_users users = {0};
  int reload_users = srv->authenticate && options->users_file;
  int rc = reload_users ? qx_users_load(options->users_file, &users) : QX_OK;
  pthread_mutex_lock(&srv->mu);
  srv->opt.statement_timeout_ms = options->statement_timeout_ms;
  if (options->max_connections > 0) srv->opt.max_connections = options->max_connections;
  if (rc == QX_OK && reload_users) {
    qx_users old = srv->users;
    srv->users = users;
    users = old; /* freed below, outside the lock */
  }
  pthread_mutex_unlock(&srv->mu);
  qx_users_free(&users);
  return rc;
}

int qx_server_pg_port(const qx_server *srv) {
  return srv->port;
}

int qx_server_http_port(const qx_server *srv) {
  return srv->web ? qx_web_port(srv->web) : -1;
}

void qx_server_stop(qx_server *srv) {
  if (!srv) return;
  pthread_mutex_lock(&srv->mu);
  srv->stopping = 1;
  qx_sql_pool_interrupt_all(srv);
  pthread_cond_signal(&srv->watch_cv);
  pthread_mutex_unlock(&srv->mu);
  if (srv->wrote_server_file) qx_server_file_remove(srv);
  shutdown(srv->listen_fd, SHUT_RDWR); /* ends the acceptor's accept */
  pthread_join(srv->acceptor, NULL);
  if (srv->watchdog) pthread_join(srv->watchdog, NULL);
  qx_web_stop(srv->web);
  srv->web = NULL;
  pthread_mutex_lock(&srv->mu);
  qx_log(QX_LOG_INFO, "stopping: closing every connection", "connections=%d", srv->client_count);
  for (pg_client *c = srv->clients; c; c = c->next)
    shutdown(c->fd, SHUT_RDWR); /* ends each session's read */
  while (srv->client_count > 0)
    pthread_cond_wait(&srv->idle_cv, &srv->mu);
  pthread_mutex_unlock(&srv->mu);
  free_server(srv);
}
