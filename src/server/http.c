/* The server's HTTP listener: GET /metrics (Prometheus text format) and GET /health (200 while
 * the server runs and its database takes writes, 503 with the failure that stopped it). One thread
 * answers requests one at a time, each on its own connection, which is closed after the answer:
 * scrapes and probes, not browsers. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "server/server_impl.h"
#include "util/error.h"
#include "util/thread.h"

#define MAX_REQUEST 8192
#define CLIENT_TIMEOUT_S 5 /* a client that sends nothing is dropped after this */

static void send_all(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data += n;
    len -= (size_t)n;
  }
}

static void respond(int fd, const char *status, const char *type, const char *body, size_t len) {
  char head[256];
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                   "Connection: close\r\n\r\n",
                   status, type, len);
  send_all(fd, head, (size_t)n);
  send_all(fd, body, len);
}

static void text(int fd, const char *status, const char *body) {
  respond(fd, status, "text/plain; charset=utf-8", body, strlen(body));
}

/* Reads the request head; 0 and the path (the request target without a query), or -1. */
static int read_request(int fd, char *method, size_t method_cap, char *path, size_t path_cap) {
  char buf[MAX_REQUEST + 1];
  size_t len = 0;
  while (len < MAX_REQUEST) {
    ssize_t n = recv(fd, buf + len, MAX_REQUEST - len, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    len += (size_t)n;
    buf[len] = '\0';
    if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n")) break;
  }
  buf[len] = '\0';
  char fmt[32];
  snprintf(fmt, sizeof fmt, "%%%zus %%%zus", method_cap - 1, path_cap - 1);
  if (sscanf(buf, fmt, method, path) != 2) return -1;
  path[strcspn(path, "?")] = '\0';
  return 0;
}

static void answer(qx_server *srv, int fd) {
  struct timeval timeout = {CLIENT_TIMEOUT_S, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  char method[16], path[256];
  if (read_request(fd, method, sizeof method, path, sizeof path) != 0) {
    text(fd, "400 Bad Request", "bad request\n");
    return;
  }
  if (strcmp(method, "GET") != 0) {
    text(fd, "405 Method Not Allowed", "only GET\n");
  } else if (strcmp(path, "/metrics") == 0) {
    qx_buffer b = {0};
    if (qx_server_metrics(srv, &b) == QX_OK)
      respond(fd, "200 OK", "text/plain; version=0.0.4; charset=utf-8", qx_buffer_text(&b), b.len);
    else
      text(fd, "500 Internal Server Error", qx_last_error());
    qx_buffer_free(&b);
  } else if (strcmp(path, "/health") == 0) {
    if (qx_db_health(srv->db) == QX_OK)
      text(fd, "200 OK", "ok\n");
    else
      text(fd, "503 Service Unavailable", qx_last_error());
  } else {
    text(fd, "404 Not Found", "not found: try /metrics or /health\n");
  }
}

static void *http_main(void *arg) {
  qx_server *srv = arg;
  qx_thread_name("qx-http");
  for (;;) {
    int fd = accept4(srv->http_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0 && (errno == EINTR || errno == ECONNABORTED || errno == EMFILE)) continue;
    if (fd < 0) break; /* shut down: the server stops */
    answer(srv, fd);
    close(fd);
  }
  return NULL;
}

int qx_http_start(qx_server *srv) {
  srv->http_fd = -1;
  if (srv->opt.http_port < 0) return QX_OK;
  int rc = qx_server_listen(srv->opt.listen_address, srv->opt.http_port, srv->authenticate,
                            &srv->http_fd, &srv->http_port);
  if (rc == QX_OK && pthread_create(&srv->http_thread, NULL, http_main, srv) != 0) {
    close(srv->http_fd);
    srv->http_fd = -1;
    rc = qx_fail(QX_ERR_NOMEM, "server: cannot start the HTTP thread");
  }
  return rc;
}

void qx_http_stop(qx_server *srv) {
  if (srv->http_fd < 0) return;
  shutdown(srv->http_fd, SHUT_RDWR);
  pthread_join(srv->http_thread, NULL);
  close(srv->http_fd);
  srv->http_fd = -1;
}
