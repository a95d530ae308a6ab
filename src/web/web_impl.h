/* The inside of the server's web side (web.h): the HTTP port's libwebsockets context and the
 * state its files share. One service thread runs every libwebsockets callback; the feeder
 * thread fills the shared window of encoded records, and SQL jobs run on threads of their own;
 * both hand their work to the service thread through web->mu and lws_cancel_service. */
#ifndef QX_WEB_IMPL_H
#define QX_WEB_IMPL_H

#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "qaxdb/sub.h"
#include "server/server_impl.h"
#include "util/grow.h"
#include "web/web.h"

#define WEB_PROTOCOL "qaxdb.v1"
#define WEB_MAX_SUBSCRIPTIONS 16
#define WEB_ID_MAX 32
#define WEB_BATCH_BYTES ((size_t)64 * 1024) /* a records message stops growing past this */
#define WEB_BATCH_RECORDS 1024
#define WEB_MAX_MESSAGE ((size_t)64 * 1024) /* the longest message a client may send */
#define WEB_CLOSE_SLOW 4008
#define WEB_MAX_UNANSWERED 256 /* messages queued for a client before its requests are refused */

/* ---- the shared window (web_window.c) -------------------------------------------------------
 * The newest records of the log, copied once for every client, with their JSON objects
 * (docs/formats/websocket.md) made once when first asked for. Slot s (a sequence number, counting
 * from 0 at the start) holds the s-th record the feeder took; slots [tail, head) are valid, and
 * readers look at them only under mu. */
typedef struct web_slot {
  qx_wal_entry entry; /* entry.data points at raw */
  uint8_t *raw;
  size_t raw_cap;
  qx_buffer json; /* encoded by the service thread for the first JSON subscription to take it */
  int json_ready;
} web_slot;

typedef struct web_window {
  pthread_mutex_t mu; /* slots and head */
  web_slot *slots;
  uint32_t capacity;
  uint64_t tail, head;
  /* Every record of the log from the LSN of slot tail (or next_lsn, when empty) to next_lsn - 1
   * is in the window: the feeder took them all, in order. */
  uint64_t next_lsn;
} web_window;

int qx_web_window_init(web_window *w, uint32_t capacity);
void qx_web_window_free(web_window *w);
/* The sequence number of the first record with LSN >= lsn within [tail, head], or UINT64_MAX if
 * the window does not reach back to lsn (REQUIRES: w->mu). */
uint64_t qx_web_window_find(const web_window *w, uint64_t lsn);
/* Copies records into the window (takes w->mu). */
int qx_web_window_append(web_window *w, const qx_wal_entry *records, size_t count);

/* ---- encoding (web_encode.c) ---------------------------------------------------------------- */
/* A record as the JSON object of a records message. */
void qx_web_encode_json(qx_buffer *b, const qx_wal_entry *e);
/* A record in the binary batch layout. */
void qx_web_encode_binary(qx_buffer *b, const qx_wal_entry *e);
/* The start of a records message of subscription id; qx_web_batch_finish ends it with the count. */
void qx_web_batch_start(qx_buffer *b, const char *id, int binary);
void qx_web_batch_finish(qx_buffer *b, int binary, uint32_t count);

/* ---- a subscription (web_subscription.c) ---------------------------------------------------- */
typedef enum web_source {
  WEB_FROM_WINDOW, /* live records from the shared window, at seq */
  WEB_FROM_SUB,    /* its own subscriber: catch-up, history, delayed or conflated */
} web_source;

typedef struct web_subscription {
  char id[WEB_ID_MAX + 1];
  qx_sub_options filter; /* table, instrument, account, delay, conflate */
  int binary, disconnect_when_slow;
  web_source source;
  uint64_t seq;      /* WEB_FROM_WINDOW: the next slot to look at */
  qx_sub *sub;       /* WEB_FROM_SUB; without a delay, only until it reaches the window */
  uint64_t next_lsn; /* every record before it was sent or filtered out */
} web_subscription;

struct web_conn;
/* Starts s from after_lsn + 1 (after_lsn < 0: live). */
int qx_web_subscription_start(qx_web *web, web_subscription *s, int64_t after_lsn);
void qx_web_subscription_end(web_subscription *s);
/* Puts the next batch of s into b (a whole message, from LWS_PRE on); the number of records in
 * it (0: none due), or -1 with qx_last_error() if the subscription failed. *went_live is set
 * when a subscription catching up from the WAL reached the window. */
int qx_web_subscription_batch(qx_web *web, web_subscription *s, qx_buffer *b, int *went_live);
/* 1 if the window holds a record for s; it moves s past the records its filters leave out. */
int qx_web_subscription_has_records(qx_web *web, web_subscription *s);
/* What became of a subscription the window left behind (its next record was overwritten); it
 * stays behind (WEB_SLOW_NO), sending nothing, while this tick's catch-up budget is spent. */
typedef enum web_slow {
  WEB_SLOW_NO,          /* it is not behind */
  WEB_SLOW_CATCHING_UP, /* moved to catch up from the WAL */
  WEB_SLOW_DISCONNECT,  /* it asked to be disconnected: why says so */
  WEB_SLOW_FAILED,      /* it cannot catch up: qx_last_error() */
} web_slow;
web_slow qx_web_subscription_check_slow(qx_web *web, web_subscription *s, char *why, size_t cap);

/* ---- a connection (web_conn.c) -------------------------------------------------------------- */
typedef struct web_message {
  struct web_message *next;
  size_t len;
  char text[]; /* from LWS_PRE on */
} web_message;

typedef struct web_conn {
  struct lws *wsi;
  uint64_t conn_id; /* for SQL results that come back after it may have gone */
  int is_websocket;
  qx_buffer rx;            /* a message arriving in fragments */
  web_message *out, *last; /* control messages and SQL results, sent before records */
  int out_count;
  web_subscription subs[WEB_MAX_SUBSCRIPTIONS];
  int sub_count, next_sub; /* round robin among subscriptions */
  char close_reason[124];  /* set: close with WEB_CLOSE_SLOW when next writable */
  qx_buffer tx;            /* the message being written */
  qx_buffer http_body;     /* an HTTP answer (/metrics, /health) */
  struct web_conn *next_conn;
} web_conn;

void qx_web_conn_open(qx_web *web, web_conn *c, struct lws *wsi);
void qx_web_conn_close(qx_web *web, web_conn *c);
int qx_web_conn_receive(qx_web *web, web_conn *c, const void *in, size_t len);
/* Sends what is due; -1 to close the connection. */
int qx_web_conn_writable(qx_web *web, web_conn *c);
/* Queues a JSON text message and asks to write. */
void qx_web_conn_queue(web_conn *c, const char *text, size_t len);
void qx_web_conn_queuef(web_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The periodic look at every connection: heartbeats, subscriptions left behind, subscribers to
 * poll. */
void qx_web_conn_tick(qx_web *web, web_conn *c, int heartbeat);
/* 1 if c has something to send now: a queued message, or records in the window for it. */
int qx_web_conn_has_records(qx_web *web, web_conn *c);

/* ---- SQL (web_sql.c) ------------------------------------------------------------------------ */
typedef struct web_sql_job web_sql_job;
/* Runs query on a SQL engine in a thread of its own; the answer comes back to connection
 * conn_id through qx_web_sql_deliver. */
void qx_web_sql_submit(qx_web *web, web_conn *c, const char *request_id, const char *query);
/* On the service thread: queues finished answers on their connections. */
void qx_web_sql_deliver(qx_web *web);
/* Waits for every job to end (the server interrupted their statements first). */
void qx_web_sql_drain(qx_web *web);

/* ---- HTTP (web_http.c) ---------------------------------------------------------------------- */
/* Answers GET /metrics and /health: 0, or -1 to close. */
int qx_web_http_request(qx_web *web, web_conn *c, struct lws *wsi);
int qx_web_http_writable(web_conn *c, struct lws *wsi);

/* ---- the whole (web_server.c) --------------------------------------------------------------- */
struct qx_web {
  qx_server *srv;
  struct lws_context *context;
  struct lws_vhost *vhost;
  const struct lws_protocols *protocol;
  pthread_t service_thread, feeder_thread, acceptor_thread;
  int started; /* bits: 1 service, 2 feeder, 4 acceptor thread */
  int listen_fd, port;
  struct lws_http_mount console_mount;
  qx_sub *feed; /* the feeder's subscriber: every record, live */
  web_window window;
  uint32_t heartbeat_ms;
  lws_sorted_usec_list_t tick_timer;
  int64_t next_heartbeat_ns;
  int catchup_budget; /* subscriptions that may still move to catch up this tick */
  atomic_int stopping;

  pthread_mutex_t mu; /* everything below */
  pthread_cond_t jobs_cv;
  int *adopt_fds; /* accepted sockets for the service thread to take */
  size_t adopt_count, adopt_cap;
  int window_grew;        /* the feeder added records since the service thread looked */
  uint64_t writer_lsn;    /* the newest LSN the feeder saw */
  web_sql_job *sql_done;  /* answers for the service thread */
  int sql_running;        /* jobs not yet delivered */
  char feeder_error[256]; /* why the feeder stopped, if it did */

  /* the service thread's own */
  web_conn *conns;
  uint64_t next_conn_id;
  uint64_t clients, catchups, slow_disconnects, records_sent;
};

#endif
