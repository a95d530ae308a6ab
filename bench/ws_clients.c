/* The fan-out bench's WebSocket clients (ws_clients.h): one libwebsockets client context, one
 * service thread for every connection, and one set of counters that thread alone writes (under a
 * lock only so that the bench can read and reset them between phases). */
#include "ws_clients.h"

#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/clock.h"

/* Handshakes in progress at once: more than a listener's usual backlog would be refused. */
#define MAX_IN_FLIGHT 64
#define RX_CHUNK 65536 /* what lws hands the callback at a time; longer messages are joined */

typedef enum client_state { IDLE, CONNECTING, OPEN, CLOSED } client_state;

typedef struct client {
  ws_clients *owner;
  client_state state;
  int subscribe_sent, subscribed;
  uint64_t last_lsn;
  unsigned char *buf; /* the message being received, NUL-terminated */
  size_t len, cap;
} client;

struct ws_clients {
  struct lws_context *ctx;
  pthread_t thread;
  pthread_mutex_t lock;
  ws_client_stats stats;
  client *clients;
  int count, port, binary, next, in_flight;
  int64_t since_ns; /* records stamped before are from an earlier phase */
  _Atomic int subscribed, failed, stop;
};

static void note_problem(ws_clients *h, const char *what, const char *detail, size_t len) {
  pthread_mutex_lock(&h->lock);
  if (!h->stats.problem[0])
    snprintf(h->stats.problem, sizeof h->stats.problem, "%s: %.*s", what, (int)len, detail);
  pthread_mutex_unlock(&h->lock);
}

static void mark_closed(client *cl) {
  ws_clients *h = cl->owner;
  if (cl->state == CLOSED) return;
  if (cl->state == CONNECTING) h->in_flight--;
  cl->state = CLOSED;
  pthread_mutex_lock(&h->lock);
  h->stats.closes++;
  pthread_mutex_unlock(&h->lock);
  if (!cl->subscribed) atomic_fetch_add(&h->failed, 1);
}

static void connect_more(ws_clients *h) {
  while (h->in_flight < MAX_IN_FLIGHT && h->next < h->count) {
    client *cl = &h->clients[h->next++];
    struct lws_client_connect_info ci = {
        .context = h->ctx,
        .address = "127.0.0.1",
        .port = h->port,
        .path = "/ws",
        .host = "127.0.0.1",
        .origin = "127.0.0.1",
        .opaque_user_data = cl,
    };
    cl->state = CONNECTING;
    h->in_flight++;
    if (!lws_client_connect_via_info(&ci)) mark_closed(cl);
  }
}

static void send_subscribe(client *cl, struct lws *wsi) {
  if (cl->subscribe_sent) return;
  char msg[LWS_PRE + 160];
  int n = snprintf(msg + LWS_PRE, sizeof msg - LWS_PRE,
                   "{\"type\":\"subscribe\",\"id\":\"t\",\"table\":\"trades\",\"format\":\"%s\"}",
                   cl->owner->binary ? "binary" : "json");
  lws_write(wsi, (unsigned char *)msg + LWS_PRE, (size_t)n, LWS_WRITE_TEXT);
  cl->subscribe_sent = 1;
}

static uint64_t read_u64(const unsigned char *p) {
  uint64_t v;
  memcpy(&v, p, sizeof v); /* the frame is little-endian, as this machine */
  return v;
}

static uint32_t read_u32(const unsigned char *p) {
  uint32_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

/* One record received at now (caller holds the lock). */
static void record(ws_clients *h, client *cl, uint64_t lsn, int64_t ts_ns, int64_t now) {
  ws_client_stats *s = &h->stats;
  if (lsn <= cl->last_lsn) s->out_of_order++;
  cl->last_lsn = lsn;
  if (ts_ns < h->since_ns) {
    s->earlier++;
    return;
  }
  qx_histogram_record(&s->latency, now > ts_ns ? (uint64_t)(now - ts_ns) : 0);
  s->records++;
  if (!s->first_ns) s->first_ns = now;
  s->last_ns = now;
}

/* A binary batch: "QXWB", id length and id, record count, then (LSN, ts_ns, table, version,
 * size, record) per record. */
static void on_binary(ws_clients *h, client *cl, const unsigned char *p, size_t len) {
  size_t off = len >= 5 ? 5 + (size_t)p[4] : len;
  if (len < 9 || memcmp(p, "QXWB", 4) != 0 || off + 4 > len) {
    note_problem(h, "bad binary frame", "", 0);
    return;
  }
  uint32_t n = read_u32(p + off);
  off += 4;
  int64_t now = qx_wall_ns();
  pthread_mutex_lock(&h->lock);
  h->stats.frames++;
  for (uint32_t i = 0; i < n && off + 24 <= len; i++) {
    record(h, cl, read_u64(p + off), (int64_t)read_u64(p + off + 8), now);
    off += 24 + read_u32(p + off + 20);
  }
  pthread_mutex_unlock(&h->lock);
}

/* A JSON records message: each record starts {"lsn":N,"ts_ns":T. */
static void on_json_records(ws_clients *h, client *cl, const char *msg) {
  int64_t now = qx_wall_ns();
  pthread_mutex_lock(&h->lock);
  h->stats.frames++;
  for (const char *p = strstr(msg, "{\"lsn\":"); p; p = strstr(p + 1, "{\"lsn\":")) {
    uint64_t lsn = strtoull(p + 7, NULL, 10);
    const char *ts = strstr(p, "\"ts_ns\":");
    if (ts) record(h, cl, lsn, strtoll(ts + 8, NULL, 10), now);
  }
  pthread_mutex_unlock(&h->lock);
}

static int has_type(const char *msg, const char *type) {
  char key[48];
  snprintf(key, sizeof key, "\"type\":\"%s\"", type);
  return strstr(msg, key) != NULL;
}

static void count_message(ws_clients *h, uint64_t *counter) {
  pthread_mutex_lock(&h->lock);
  (*counter)++;
  pthread_mutex_unlock(&h->lock);
}

static void on_text(ws_clients *h, client *cl, const char *msg, size_t len) {
  ws_client_stats *s = &h->stats;
  if (has_type(msg, "records")) {
    on_json_records(h, cl, msg);
  } else if (has_type(msg, "heartbeat")) {
    count_message(h, &s->heartbeats);
  } else if (has_type(msg, "subscribed") && !cl->subscribed) {
    cl->subscribed = 1;
    atomic_fetch_add(&h->subscribed, 1);
  } else if (has_type(msg, "catchup")) {
    count_message(h, &s->catchups);
  } else if (has_type(msg, "live")) {
    count_message(h, &s->lives);
  } else if (has_type(msg, "error")) {
    count_message(h, &s->errors);
    note_problem(h, "error", msg, len);
  }
}

static void on_receive(client *cl, struct lws *wsi, const void *in, size_t len) {
  if (lws_is_first_fragment(wsi)) cl->len = 0;
  if (cl->len + len + 1 > cl->cap) {
    cl->cap = (cl->len + len + 1) * 2;
    cl->buf = realloc(cl->buf, cl->cap);
    if (!cl->buf) abort();
  }
  memcpy(cl->buf + cl->len, in, len);
  cl->len += len;
  cl->buf[cl->len] = '\0';
  if (!lws_is_final_fragment(wsi)) return;
  if (lws_frame_is_binary(wsi))
    on_binary(cl->owner, cl, cl->buf, cl->len);
  else
    on_text(cl->owner, cl, (const char *)cl->buf, cl->len);
}

/* A close frame's payload: a 2-byte big-endian code, then the reason. */
static void on_peer_close(ws_clients *h, const unsigned char *in, size_t len) {
  char what[32];
  snprintf(what, sizeof what, "close %d", len >= 2 ? in[0] << 8 | in[1] : 0);
  note_problem(h, what, len > 2 ? (const char *)in + 2 : "", len > 2 ? len - 2 : 0);
}

static int on_event(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len) {
  (void)user;
  client *cl = wsi ? lws_get_opaque_user_data(wsi) : NULL;
  if (!cl) return 0;
  switch (reason) {
  case LWS_CALLBACK_CLIENT_ESTABLISHED:
    cl->owner->in_flight--;
    cl->state = OPEN;
    lws_callback_on_writable(wsi);
    break;
  case LWS_CALLBACK_CLIENT_WRITEABLE:
    send_subscribe(cl, wsi);
    break;
  case LWS_CALLBACK_CLIENT_RECEIVE:
    on_receive(cl, wsi, in, len);
    break;
  case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
    on_peer_close(cl->owner, in, len);
    break;
  case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
    note_problem(cl->owner, "connection error", in ? (const char *)in : "", in ? strlen(in) : 0);
    mark_closed(cl);
    break;
  case LWS_CALLBACK_CLIENT_CLOSED:
    mark_closed(cl);
    break;
  default:
    break;
  }
  return 0;
}

static const struct lws_protocols protocols[] = {
    {"qaxdb-bench-client", on_event, 0, RX_CHUNK, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void *service(void *arg) {
  ws_clients *h = arg;
  while (!atomic_load(&h->stop)) {
    connect_more(h);
    if (lws_service(h->ctx, 0) < 0) break;
  }
  return NULL;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
  nanosleep(&ts, NULL);
}

static void free_clients(ws_clients *h) {
  for (int i = 0; i < h->count; i++)
    free(h->clients[i].buf);
  free(h->clients);
  pthread_mutex_destroy(&h->lock);
  free(h);
}

ws_clients *ws_clients_start(int port, int count, int binary, int timeout_s) {
  ws_clients *h = calloc(1, sizeof *h);
  if (!h || !(h->clients = calloc((size_t)count, sizeof *h->clients))) abort();
  h->count = count, h->port = port, h->binary = binary;
  pthread_mutex_init(&h->lock, NULL);
  qx_histogram_reset(&h->stats.latency);
  for (int i = 0; i < count; i++)
    h->clients[i].owner = h;
  struct lws_context_creation_info info = {
      .port = CONTEXT_PORT_NO_LISTEN,
      .protocols = protocols,
      .fd_limit_per_thread = (unsigned)count + 64,
      .pt_serv_buf_size = RX_CHUNK, /* what one read takes: 4 KiB by default */
  };
  lws_set_log_level(LLL_ERR, NULL);
  h->ctx = lws_create_context(&info);
  if (!h->ctx || pthread_create(&h->thread, NULL, service, h) != 0) {
    fprintf(stderr, "qaxdb-bench-dist: cannot start the WebSocket clients\n");
    if (h->ctx) lws_context_destroy(h->ctx);
    free_clients(h);
    return NULL;
  }
  for (int waited = 0; waited < timeout_s * 100; waited++) {
    if (atomic_load(&h->subscribed) + atomic_load(&h->failed) >= count) break;
    lws_cancel_service(h->ctx); /* so that the service thread starts the next connections */
    sleep_ms(10);
  }
  if (atomic_load(&h->subscribed) < count) {
    fprintf(stderr, "qaxdb-bench-dist: %d of %d WebSocket clients subscribed (%s)\n",
            atomic_load(&h->subscribed), count, h->stats.problem);
    ws_clients_stop(h);
    return NULL;
  }
  return h;
}

void ws_clients_reset(ws_clients *c, int64_t since_ns) {
  pthread_mutex_lock(&c->lock);
  c->since_ns = since_ns;
  histogram *latency = &c->stats.latency;
  memset((char *)&c->stats + sizeof *latency, 0, sizeof c->stats - sizeof *latency);
  qx_histogram_reset(latency);
  pthread_mutex_unlock(&c->lock);
}

void ws_clients_stats(ws_clients *c, ws_client_stats *out) {
  pthread_mutex_lock(&c->lock);
  *out = c->stats;
  pthread_mutex_unlock(&c->lock);
}

void ws_clients_stop(ws_clients *c) {
  atomic_store(&c->stop, 1);
  lws_cancel_service(c->ctx);
  pthread_join(c->thread, NULL);
  lws_context_destroy(c->ctx);
  free_clients(c);
}
