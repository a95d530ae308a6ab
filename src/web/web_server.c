/* The server's HTTP port (web.h): its listener, the libwebsockets context whose one service
 * thread runs every connection, and the feeder thread that copies the log into the shared
 * window. The listener is the server's own (qx_server_listen: the address rules and port 0 of
 * the PostgreSQL port); each accepted socket is handed to the service thread to adopt. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"
#include "util/thread.h"
#include "web/web_impl.h"

#define TICK_US (10 * LWS_US_PER_MS) /* how often subscribers are polled and clients checked */
#define FEED_BATCH 256
#define CATCHUPS_PER_TICK 8
/* The feeder polls the log ring, sleeping between looks from FEED_MIN_SLEEP_NS, doubling, up to
 * FEED_MAX_SLEEP_NS: a subscriber's own wait sleeps up to 1 ms, which a trickle of records
 * pays in delivery latency, and waking the feeder from the engine's commit would put a system
 * call in every write (it cost the writer's p99 several times over in qaxdb-bench-dist's
 * WebSocket fan-out). Idle, this is a few thousand wake-ups a second. */
#define FEED_MIN_SLEEP_NS 10000
#define FEED_MAX_SLEEP_NS 200000
#define GOODBYE_NS 1000000000 /* how long a stop waits for clients to take their close */

static int stopping(qx_web *web) {
  return atomic_load(&web->stopping);
}

/* ---- the feeder ----------------------------------------------------------------------------- */

static void *feeder_main(void *arg) {
  qx_web *web = arg;
  qx_thread_name("qx-web-feed");
  qx_sub *sub = web->feed;
  int64_t sleep_ns = FEED_MIN_SLEEP_NS;
  while (!stopping(web)) {
    qx_wal_entry records[FEED_BATCH];
    size_t n = 0;
    int rc = qx_sub_next_batch(sub, records, FEED_BATCH, &n, 0);
    if (rc == QX_ERR_TIMEOUT) {
      struct timespec nap = {0, sleep_ns};
      nanosleep(&nap, NULL);
      sleep_ns = sleep_ns * 2 < FEED_MAX_SLEEP_NS ? sleep_ns * 2 : FEED_MAX_SLEEP_NS;
      continue;
    }
    sleep_ns = FEED_MIN_SLEEP_NS;
    if (rc == QX_ERR_LAPPED) continue;
    if (rc == QX_OK) rc = qx_web_window_append(&web->window, records, n);
    if (rc != QX_OK) {
      /* Clients are told when the window leaves them behind and they cannot catch up. */
      qx_log(QX_LOG_ERROR, "WebSocket feed stopped", "error=\"%s\"", qx_last_error());
      break;
    }
    pthread_mutex_lock(&web->mu);
    web->window_grew = 1;
    pthread_mutex_unlock(&web->mu);
    lws_cancel_service(web->context);
  }
  return NULL;
}

/* ---- the listener --------------------------------------------------------------------------- */

static void *acceptor_main(void *arg) {
  qx_web *web = arg;
  qx_thread_name("qx-http");
  for (;;) {
    int fd = accept4(web->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0 && (errno == EINTR || errno == ECONNABORTED || errno == EMFILE)) continue;
    if (fd < 0) break; /* shut down: the server stops */
    /* libwebsockets sets this on the sockets it accepts itself, not on adopted ones; without it
     * Nagle holds small frames back for the client's delayed acknowledgement. */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    pthread_mutex_lock(&web->mu);
    int rc = qx_grow((void **)&web->adopt_fds, &web->adopt_cap, web->adopt_count + 1,
                     sizeof *web->adopt_fds, "accepted sockets");
    if (rc == QX_OK) web->adopt_fds[web->adopt_count++] = fd;
    pthread_mutex_unlock(&web->mu);
    if (rc != QX_OK) close(fd);
    lws_cancel_service(web->context);
  }
  return NULL;
}

/* ---- the service thread --------------------------------------------------------------------- */

/* What other threads asked for: sockets to adopt, new records, SQL answers, the stop. */
static void on_wake(qx_web *web) {
  pthread_mutex_lock(&web->mu);
  int *fds = web->adopt_fds;
  size_t count = web->adopt_count;
  web->adopt_fds = NULL;
  web->adopt_count = web->adopt_cap = 0;
  int grew = web->window_grew;
  web->window_grew = 0;
  pthread_mutex_unlock(&web->mu);
  for (size_t i = 0; i < count; i++)
    if (!lws_adopt_socket_vhost(web->vhost, fds[i])) close(fds[i]);
  free(fds);
  if (stopping(web)) {
    lws_callback_on_writable_all_protocol(web->context, web->protocol); /* to say goodbye */
  } else if (grew) {
    /* Only connections the new records are for: a tick nobody asked for wakes no one. */
    for (web_conn *c = web->conns; c; c = c->next_conn)
      if (qx_web_conn_has_records(web, c)) lws_callback_on_writable(c->wsi);
  }
  qx_web_sql_deliver(web);
}

static void on_tick(lws_sorted_usec_list_t *sul) {
  qx_web *web = lws_container_of(sul, qx_web, tick_timer);
  int64_t now = qx_monotonic_ns();
  int heartbeat = now >= web->next_heartbeat_ns;
  web->catchup_budget = CATCHUPS_PER_TICK;
  if (heartbeat) web->next_heartbeat_ns = now + (int64_t)web->heartbeat_ms * 1000000;
  for (web_conn *c = web->conns; c; c = c->next_conn)
    qx_web_conn_tick(web, c, heartbeat);
  lws_sul_schedule(web->context, 0, &web->tick_timer, on_tick, TICK_US);
}

/* The token a WebSocket presents, from ?token= or Authorization: Bearer. */
static int token_matches(struct lws *wsi, const char *token) {
  char buf[512];
  const char *given = lws_get_urlarg_by_name(wsi, "token=", buf, sizeof buf);
  if (!given && lws_hdr_copy(wsi, buf, sizeof buf, WSI_TOKEN_HTTP_AUTHORIZATION) > 7 &&
      strncmp(buf, "Bearer ", 7) == 0)
    given = buf + 7;
  return given && strlen(given) == strlen(token) && CRYPTO_memcmp(given, token, strlen(token)) == 0;
}

/* 0 lets a WebSocket handshake go on; else it is refused with an HTTP status. */
static int admit(qx_web *web, struct lws *wsi) {
  char path[64] = "";
  lws_hdr_copy(wsi, path, sizeof path, WSI_TOKEN_GET_URI);
  const char *token = web->srv->opt.web_token;
  unsigned status = 0;
  if (strcmp(path, "/ws") != 0)
    status = HTTP_STATUS_NOT_FOUND;
  else if (token && !token_matches(wsi, token))
    status = HTTP_STATUS_UNAUTHORIZED;
  else if (!token && web->srv->authenticate)
    status = HTTP_STATUS_FORBIDDEN; /* off loopback, a WebSocket needs a token */
  if (!status) return 0;
  lws_return_http_status(wsi, status, NULL);
  return -1;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len) {
  struct lws_context *context = lws_get_context(wsi);
  qx_web *web = context ? lws_context_user(context) : NULL;
  web_conn *c = user;
  switch (reason) {
  case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
    if (web) on_wake(web);
    return 0;
  case LWS_CALLBACK_HTTP:
    return web ? qx_web_http_request(web, c, wsi) : -1;
  case LWS_CALLBACK_HTTP_WRITEABLE:
    return c && !c->is_websocket ? qx_web_http_writable(c, wsi) : 0;
  case LWS_CALLBACK_CLOSED_HTTP:
  case LWS_CALLBACK_HTTP_DROP_PROTOCOL: /* an answer built but never written */
    if (c && !c->is_websocket) qx_buffer_free(&c->http_body);
    return lws_callback_http_dummy(wsi, reason, user, in, len);
  case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
    return web ? admit(web, wsi) : -1;
  case LWS_CALLBACK_ESTABLISHED:
    qx_web_conn_open(web, c, wsi);
    return 0;
  case LWS_CALLBACK_RECEIVE:
    return qx_web_conn_receive(web, c, in, len);
  case LWS_CALLBACK_SERVER_WRITEABLE:
    return c->is_websocket ? qx_web_conn_writable(web, c) : 0;
  case LWS_CALLBACK_CLOSED:
    qx_web_conn_close(web, c);
    return 0;
  default:
    return lws_callback_http_dummy(wsi, reason, user, in, len);
  }
}

static const struct lws_protocols protocols[] = {
    {.name = WEB_PROTOCOL,
     .callback = callback,
     .per_session_data_size = sizeof(web_conn),
     .rx_buffer_size = 65536},
    {0},
};

static void *service_main(void *arg) {
  qx_web *web = arg;
  qx_thread_name("qx-web");
  lws_sul_schedule(web->context, 0, &web->tick_timer, on_tick, TICK_US);
  int64_t goodbye_until = 0;
  while (lws_service(web->context, 0) >= 0) {
    if (!stopping(web)) continue;
    if (!goodbye_until) goodbye_until = qx_monotonic_ns() + GOODBYE_NS;
    if (!web->conns || qx_monotonic_ns() > goodbye_until) break;
  }
  lws_sul_cancel(&web->tick_timer);
  return NULL;
}

/* ---- start and stop ------------------------------------------------------------------------- */

static void log_from_lws(int level, const char *line) {
  qx_log(level == LLL_ERR ? QX_LOG_ERROR : QX_LOG_WARN, "libwebsockets", "said=\"%.*s\"",
         (int)strcspn(line, "\n"), line);
}

static int create_context(qx_web *web) {
  static const struct lws_http_mount metrics = {.mountpoint = "/metrics",
                                                .origin = WEB_PROTOCOL,
                                                .origin_protocol = LWSMPRO_CALLBACK,
                                                .mountpoint_len = 8};
  static const struct lws_http_mount health = {.mount_next = &metrics,
                                               .mountpoint = "/health",
                                               .origin = WEB_PROTOCOL,
                                               .origin_protocol = LWSMPRO_CALLBACK,
                                               .mountpoint_len = 7};
  const char *dir = web->srv->opt.console_dir;
  struct lws_http_mount *console = &web->console_mount;
  *console = (struct lws_http_mount){.mount_next = &health,
                                     .mountpoint = "/",
                                     .origin = dir,
                                     .def = "index.html",
                                     .origin_protocol = LWSMPRO_FILE,
                                     .mountpoint_len = 1};
  lws_set_log_level(LLL_ERR | LLL_WARN, log_from_lws);
  struct lws_context_creation_info info = {0};
  info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
  info.protocols = protocols;
  info.mounts = dir ? console : &health;
  info.user = web;
  info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
  web->context = lws_create_context(&info);
  if (!web->context) return qx_fail(QX_ERR_IO, "web: libwebsockets did not start");
  web->vhost = lws_get_vhost_by_name(web->context, "default");
  web->protocol = &protocols[0];
  return QX_OK;
}

static int open_feed(qx_web *web) {
  qx_sub_options o;
  qx_sub_options_init(&o);
  int rc = qx_sub_open_db(web->srv->db, &o, &web->feed);
  if (rc != QX_OK) return rc;
  qx_sub_status st;
  qx_sub_get_status(web->feed, &st);
  web->window.next_lsn = st.next_lsn;
  return QX_OK;
}

static int start_threads(qx_web *web) {
  if (pthread_create(&web->service_thread, NULL, service_main, web) != 0)
    return qx_fail(QX_ERR_NOMEM, "web: cannot start the service thread");
  web->started |= 1;
  if (pthread_create(&web->feeder_thread, NULL, feeder_main, web) != 0)
    return qx_fail(QX_ERR_NOMEM, "web: cannot start the feeder thread");
  web->started |= 2;
  if (pthread_create(&web->acceptor_thread, NULL, acceptor_main, web) != 0)
    return qx_fail(QX_ERR_NOMEM, "web: cannot start the HTTP listener thread");
  web->started |= 4;
  return QX_OK;
}

int qx_web_start(qx_server *srv, qx_web **out) {
  qx_web *web = calloc(1, sizeof *web);
  if (!web) return qx_fail(QX_ERR_NOMEM, "web");
  web->srv = srv;
  web->listen_fd = -1;
  web->heartbeat_ms = srv->opt.web_heartbeat_ms ? srv->opt.web_heartbeat_ms : 1000;
  pthread_mutex_init(&web->mu, NULL);
  pthread_cond_init(&web->jobs_cv, NULL);
  uint32_t capacity =
      srv->opt.web_queue_limit ? srv->opt.web_queue_limit : QX_SERVER_DEFAULT_WEB_QUEUE;
  int rc = qx_web_window_init(&web->window, capacity);
  if (rc == QX_OK)
    rc = qx_server_listen(srv->opt.listen_address, srv->opt.http_port, srv->authenticate,
                          &web->listen_fd, &web->port);
  if (rc == QX_OK) rc = open_feed(web);
  if (rc == QX_OK) rc = create_context(web);
  if (rc == QX_OK) rc = start_threads(web);
  if (rc != QX_OK) {
    char why[512];
    snprintf(why, sizeof why, "%s", qx_last_error());
    qx_web_stop(web);
    return qx_fail(rc, "%s", why);
  }
  *out = web;
  return QX_OK;
}

int qx_web_port(const qx_web *web) {
  return web->port;
}

void qx_web_stop(qx_web *web) {
  if (!web) return;
  atomic_store(&web->stopping, 1);
  if (web->listen_fd >= 0) shutdown(web->listen_fd, SHUT_RDWR);
  if (web->started & 4) pthread_join(web->acceptor_thread, NULL);
  if (web->started & 2) pthread_join(web->feeder_thread, NULL);
  if (web->context) lws_cancel_service(web->context);
  if (web->started & 1) pthread_join(web->service_thread, NULL);
  if (web->context) {
    qx_web_sql_drain(web);
    lws_context_destroy(web->context);
  }
  for (size_t i = 0; i < web->adopt_count; i++)
    close(web->adopt_fds[i]);
  free(web->adopt_fds);
  if (web->feed) qx_sub_close(web->feed);
  if (web->listen_fd >= 0) close(web->listen_fd);
  qx_web_window_free(&web->window);
  pthread_mutex_destroy(&web->mu);
  pthread_cond_destroy(&web->jobs_cv);
  free(web);
}

void qx_web_metrics(qx_web *web, qx_buffer *b) {
  qx_metric(b, "qaxdb_web_clients", "gauge", "WebSocket connections open.", (double)web->clients);
  qx_metric(b, "qaxdb_web_records_sent_total", "counter",
            "Records sent to WebSocket subscriptions.", (double)web->records_sent);
  qx_metric(b, "qaxdb_web_catchups_total", "counter",
            "WebSocket subscriptions moved to catch up from the WAL, having fallen behind.",
            (double)web->catchups);
  qx_metric(b, "qaxdb_web_slow_disconnects_total", "counter",
            "WebSocket connections closed for falling behind (on_slow: disconnect).",
            (double)web->slow_disconnects);
  pthread_mutex_lock(&web->window.mu);
  uint64_t taken = web->window.next_lsn;
  pthread_mutex_unlock(&web->window.mu);
  uint64_t last = qx_db_last_lsn(web->srv->db);
  qx_metric(b, "qaxdb_web_feed_lag_records", "gauge",
            "Records written that the WebSocket feed has not yet taken into its window.",
            last + 1 > taken ? (double)(last + 1 - taken) : 0);
}
