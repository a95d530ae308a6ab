/* The fan-out bench's peer (ws_broadcast_peer.h): a window of encoded records written by one
 * writer thread and read by one lws service thread, which on every wake-up asks lws for a
 * writable callback on every connection and sends each one a batch of what it has not had. */
#include "ws_broadcast_peer.h"

#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_report.h"
#include "qaxdb/schema.h"

#define WINDOW 65536                 /* records kept, as many as qaxdb's default queue_limit */
#define ENTRY_HEAD 24                /* LSN, ts_ns, table id, schema version, record size */
#define SLOT_SIZE (ENTRY_HEAD + 360) /* the largest record (orderbook_snapshots) fits */
#define MAX_BATCH 256                /* records per frame */
#define ID_MAX 32

typedef struct slot {
  uint16_t table_id;
  uint32_t len;
  unsigned char entry[SLOT_SIZE]; /* the record as a binary frame carries it */
} slot;

struct ws_peer {
  struct lws_context *ctx;
  pthread_t thread;
  int port;
  _Atomic int stop;
  /* LSNs 1..published are written; LSN n is in window[(n - 1) % WINDOW] */
  _Atomic uint64_t published;
  _Atomic uint64_t skips;
  slot *window;
  unsigned char frame[LWS_PRE + 64 + MAX_BATCH * SLOT_SIZE]; /* the service thread's */
};

/* A connection: what it subscribed to and the first LSN it has not been sent. */
typedef struct session {
  uint64_t next_lsn;
  int table_id; /* 0: every table */
  int subscribed, reply_pending;
  char id[ID_MAX + 1];
} session;

static ws_peer *peer_of(struct lws *wsi) {
  return lws_context_user(lws_get_context(wsi));
}

/* The string value of "key":"..." in a flat JSON message, into out ("" if absent). */
static void json_string(const char *msg, const char *key, char *out, size_t cap) {
  char pattern[48];
  snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
  const char *p = strstr(msg, pattern);
  size_t n = 0;
  if (p)
    for (p += strlen(pattern); p[n] && p[n] != '"' && n + 1 < cap; n++)
      out[n] = p[n];
  out[n] = '\0';
}

/* Only subscribe is understood: records of one table (or all) from the next one written. */
static void on_message(ws_peer *p, session *s, struct lws *wsi, const char *in, size_t len) {
  char msg[512], table[64];
  snprintf(msg, sizeof msg, "%.*s", (int)len, in);
  if (!strstr(msg, "\"type\":\"subscribe\"")) return;
  json_string(msg, "id", s->id, sizeof s->id);
  json_string(msg, "table", table, sizeof table);
  const qx_schema *schema = table[0] ? qx_schema_by_name(table) : NULL;
  s->table_id = schema ? (int)schema->table_id : 0;
  s->next_lsn = atomic_load_explicit(&p->published, memory_order_acquire) + 1;
  s->subscribed = s->reply_pending = 1;
  lws_callback_on_writable(wsi);
}

static void send_reply(session *s, struct lws *wsi) {
  char msg[LWS_PRE + 128];
  int n = snprintf(msg + LWS_PRE, sizeof msg - LWS_PRE,
                   "{\"type\":\"subscribed\",\"id\":\"%s\",\"next_lsn\":%llu}", s->id,
                   (unsigned long long)s->next_lsn);
  lws_write(wsi, (unsigned char *)msg + LWS_PRE, (size_t)n, LWS_WRITE_TEXT);
  s->reply_pending = 0;
}

/* The batch header: magic, id length, id; returns where the record count goes. */
static unsigned char *put_header(unsigned char *out, const session *s) {
  size_t id_len = strlen(s->id);
  memcpy(out, "QXWB", 4);
  out[4] = (unsigned char)id_len;
  for (size_t i = 0; i < id_len; i++) /* bytes of the frame, not a string: no NUL */
    out[5 + i] = (unsigned char)s->id[i];
  return out + 5 + id_len;
}

/* Sends the session the next batch of its records, and asks to be called again if more wait.
 * A session more than half the window behind skips to there (its client sees the LSN gap): the
 * writer then cannot overwrite a slot while it is being copied. */
static void send_records(ws_peer *p, session *s, struct lws *wsi) {
  uint64_t published = atomic_load_explicit(&p->published, memory_order_acquire);
  if (published + 1 - s->next_lsn > WINDOW / 2) {
    s->next_lsn = published + 1 - WINDOW / 2;
    atomic_fetch_add(&p->skips, 1);
  }
  unsigned char *start = p->frame + LWS_PRE, *count_at = put_header(start, s);
  unsigned char *out = count_at + 4;
  uint32_t n = 0;
  uint64_t lsn = s->next_lsn;
  for (; lsn <= published && n < MAX_BATCH; lsn++) {
    const slot *sl = &p->window[(lsn - 1) % WINDOW];
    if (s->table_id && sl->table_id != s->table_id) continue;
    memcpy(out, sl->entry, sl->len);
    out += sl->len;
    n++;
  }
  s->next_lsn = lsn;
  if (n) {
    memcpy(count_at, &n, 4);
    lws_write(wsi, start, (size_t)(out - start), LWS_WRITE_BINARY);
  }
  if (lsn <= published) lws_callback_on_writable(wsi);
}

static int on_event(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len) {
  session *s = user;
  switch (reason) {
  case LWS_CALLBACK_EVENT_WAIT_CANCELLED: /* the writer's wake-up */
    lws_callback_on_writable_all_protocol(lws_get_context(wsi), lws_get_protocol(wsi));
    break;
  case LWS_CALLBACK_RECEIVE:
    on_message(peer_of(wsi), s, wsi, in, len);
    break;
  case LWS_CALLBACK_SERVER_WRITEABLE:
    if (s->reply_pending)
      send_reply(s, wsi), lws_callback_on_writable(wsi);
    else if (s->subscribed)
      send_records(peer_of(wsi), s, wsi);
    break;
  default:
    break;
  }
  return 0;
}

static const struct lws_protocols protocols[] = {
    {"qaxdb-bench-peer", on_event, sizeof(session), 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void *service(void *arg) {
  ws_peer *p = arg;
  while (!atomic_load(&p->stop))
    if (lws_service(p->ctx, 0) < 0) break;
  return NULL;
}

ws_peer *ws_peer_start(int clients) {
  ws_peer *p = calloc(1, sizeof *p);
  if (!p || !(p->window = calloc(WINDOW, sizeof *p->window))) abort();
  p->port = bench_free_port();
  struct lws_context_creation_info info = {
      .port = p->port,
      .iface = "127.0.0.1",
      .protocols = protocols,
      .fd_limit_per_thread = (unsigned)clients + 64, /* and the listener, and some to spare */
      .user = p,
  };
  lws_set_log_level(LLL_ERR, NULL);
  p->ctx = p->port > 0 ? lws_create_context(&info) : NULL;
  if (!p->ctx || pthread_create(&p->thread, NULL, service, p) != 0) {
    fprintf(stderr, "qaxdb-bench-dist: cannot start the libwebsockets peer\n");
    if (p->ctx) lws_context_destroy(p->ctx);
    free(p->window);
    free(p);
    return NULL;
  }
  return p;
}

int ws_peer_port(const ws_peer *p) {
  return p->port;
}

uint64_t ws_peer_publish(ws_peer *p, int table_id, uint16_t version, int64_t ts_ns,
                         const void *record, uint32_t size) {
  uint64_t lsn = atomic_load_explicit(&p->published, memory_order_relaxed) + 1;
  slot *sl = &p->window[(lsn - 1) % WINDOW];
  uint16_t table = (uint16_t)table_id;
  sl->table_id = table;
  sl->len = ENTRY_HEAD + size;
  memcpy(sl->entry, &lsn, 8);
  memcpy(sl->entry + 8, &ts_ns, 8);
  memcpy(sl->entry + 16, &table, 2);
  memcpy(sl->entry + 18, &version, 2);
  memcpy(sl->entry + 20, &size, 4);
  memcpy(sl->entry + ENTRY_HEAD, record, size);
  atomic_store_explicit(&p->published, lsn, memory_order_release);
  return lsn;
}

void ws_peer_wake(ws_peer *p) {
  lws_cancel_service(p->ctx);
}

uint64_t ws_peer_skips(ws_peer *p) {
  return atomic_load(&p->skips);
}

void ws_peer_stop(ws_peer *p) {
  atomic_store(&p->stop, 1);
  lws_cancel_service(p->ctx);
  pthread_join(p->thread, NULL);
  lws_context_destroy(p->ctx);
  free(p->window);
  free(p);
}
