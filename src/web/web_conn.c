/* One WebSocket connection: the client's messages (subscribe, unsubscribe, sql), and what it is
 * sent, in order: control messages and SQL answers first, then one batch of records at a time,
 * its subscriptions taking turns, each write waiting for the socket to take the last one, so
 * that a slow client holds nothing but its place in the shared window. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qaxdb/schema.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/json.h"
#include "web/web_impl.h"

#define DEFAULT_WINDOW_MS 100 /* delayed and conflated subscriptions without delay_ms */

void qx_web_conn_queue(web_conn *c, const char *text, size_t len) {
  web_message *m = malloc(sizeof *m + LWS_PRE + len);
  if (!m) return; /* the client misses a control message, not a record */
  m->next = NULL;
  m->len = len;
  memcpy(m->text + LWS_PRE, text, len);
  if (c->last)
    c->last->next = m;
  else
    c->out = m;
  c->last = m;
  c->out_count++;
  lws_callback_on_writable(c->wsi);
}

void qx_web_conn_queuef(web_conn *c, const char *fmt, ...) {
  char text[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  if (n > 0) qx_web_conn_queue(c, text, (size_t)n < sizeof text ? (size_t)n : sizeof text - 1);
}

/* An error message about subscription or request id (a JSON value, or NULL). */
static void queue_error(web_conn *c, const char *id_json, const char *message) {
  qx_buffer b = {0};
  qx_buffer_puts(&b, "{\"type\":\"error\"");
  if (id_json) qx_buffer_printf(&b, ",\"id\":%s", id_json);
  qx_buffer_puts(&b, ",\"message\":");
  qx_json_put_string(&b, message);
  qx_buffer_puts(&b, "}");
  if (!b.failed) qx_web_conn_queue(c, (const char *)b.p, b.len);
  qx_buffer_free(&b);
}

void qx_web_conn_open(qx_web *web, web_conn *c, struct lws *wsi) {
  memset(c, 0, sizeof *c);
  c->wsi = wsi;
  c->is_websocket = 1;
  c->conn_id = ++web->next_conn_id;
  c->next_conn = web->conns;
  web->conns = c;
  web->clients++;
  qx_web_conn_queuef(c,
                     "{\"type\":\"hello\",\"server\":\"qaxdb %s\",\"last_lsn\":%llu,"
                     "\"heartbeat_ms\":%u,\"queue_limit\":%u}",
                     QAXDB_VERSION, (unsigned long long)qx_db_last_lsn(web->srv->db),
                     web->heartbeat_ms, web->window.capacity);
}

void qx_web_conn_close(qx_web *web, web_conn *c) {
  if (!c->is_websocket) {
    qx_buffer_free(&c->http_body);
    return;
  }
  for (web_conn **p = &web->conns; *p; p = &(*p)->next_conn)
    if (*p == c) {
      *p = c->next_conn;
      web->clients--;
      break;
    }
  for (int i = 0; i < c->sub_count; i++)
    qx_web_subscription_end(&c->subs[i]);
  while (c->out) {
    web_message *m = c->out;
    c->out = m->next;
    free(m);
  }
  qx_buffer_free(&c->rx);
  qx_buffer_free(&c->tx);
  c->is_websocket = 0;
}

/* ---- subscribe and unsubscribe -------------------------------------------------------------- */

static const char *string_field(json_t *msg, const char *name, const char *otherwise) {
  json_t *v = json_object_get(msg, name);
  return json_is_string(v) ? json_string_value(v) : otherwise;
}

static web_subscription *find_sub(web_conn *c, const char *id) {
  for (int i = 0; i < c->sub_count; i++)
    if (strcmp(c->subs[i].id, id) == 0) return &c->subs[i];
  return NULL;
}

/* Fills s from a subscribe message; NULL, or what is wrong with it. */
static const char *read_subscribe(json_t *msg, web_subscription *s, int64_t *after_lsn) {
  qx_sub_options_init(&s->filter);
  const char *table = string_field(msg, "table", "");
  const char *mode = string_field(msg, "mode", "live");
  const char *format = string_field(msg, "format", "json");
  const char *on_slow = string_field(msg, "on_slow", "catchup");
  const char *instrument = string_field(msg, "instrument", "");
  const char *account = string_field(msg, "account", "");
  json_t *delay = json_object_get(msg, "delay_ms"), *after = json_object_get(msg, "after_lsn");
  if (table[0]) {
    const qx_schema *schema = qx_schema_by_name(table);
    if (!schema) return "unknown table";
    s->filter.table_id = (uint16_t)schema->table_id;
  }
  if (strlen(instrument) >= sizeof s->filter.instrument) return "instrument is too long";
  if (strlen(account) >= sizeof s->filter.account) return "account is too long";
  snprintf(s->filter.instrument, sizeof s->filter.instrument, "%s", instrument);
  snprintf(s->filter.account, sizeof s->filter.account, "%s", account);
  int windowed = strcmp(mode, "delayed") == 0 || strcmp(mode, "conflated") == 0;
  if (!windowed && strcmp(mode, "live") != 0) return "mode is live, delayed or conflated";
  if (delay && (!json_is_integer(delay) || json_integer_value(delay) < 1 ||
                json_integer_value(delay) > 3600000))
    return "delay_ms is a number of milliseconds from 1 to 3600000";
  if (windowed)
    s->filter.delay_ms = delay ? (uint32_t)json_integer_value(delay) : DEFAULT_WINDOW_MS;
  s->filter.conflate = strcmp(mode, "conflated") == 0;
  if (strcmp(format, "json") != 0 && strcmp(format, "binary") != 0)
    return "format is json or binary";
  s->binary = strcmp(format, "binary") == 0;
  if (strcmp(on_slow, "catchup") != 0 && strcmp(on_slow, "disconnect") != 0)
    return "on_slow is catchup or disconnect";
  s->disconnect_when_slow = strcmp(on_slow, "disconnect") == 0;
  *after_lsn = -1;
  if (after && !json_is_null(after)) {
    if (!json_is_integer(after) || json_integer_value(after) < 0)
      return "after_lsn is null or an LSN";
    *after_lsn = json_integer_value(after);
  }
  return NULL;
}

static void subscribe(qx_web *web, web_conn *c, json_t *msg, const char *id, const char *id_json) {
  if (c->sub_count == WEB_MAX_SUBSCRIPTIONS)
    return queue_error(c, id_json, "too many subscriptions on this connection (at most 16)");
  if (find_sub(c, id)) return queue_error(c, id_json, "a subscription with this id exists");
  web_subscription *s = &c->subs[c->sub_count];
  memset(s, 0, sizeof *s);
  snprintf(s->id, sizeof s->id, "%s", id);
  int64_t after_lsn;
  const char *wrong = read_subscribe(msg, s, &after_lsn);
  if (wrong) return queue_error(c, id_json, wrong);
  if (qx_web_subscription_start(web, s, after_lsn) != QX_OK)
    return queue_error(c, id_json, qx_last_error());
  c->sub_count++;
  qx_web_conn_queuef(c, "{\"type\":\"subscribed\",\"id\":%s,\"next_lsn\":%llu}", id_json,
                     (unsigned long long)s->next_lsn);
}

static void unsubscribe(web_conn *c, const char *id, const char *id_json) {
  web_subscription *s = find_sub(c, id);
  if (!s) return queue_error(c, id_json, "no subscription with this id");
  qx_web_subscription_end(s);
  *s = c->subs[--c->sub_count];
  qx_web_conn_queuef(c, "{\"type\":\"unsubscribed\",\"id\":%s}", id_json);
}

/* ---- receiving ------------------------------------------------------------------------------ */

static int refuse(web_conn *c, const char *why) {
  lws_close_reason(c->wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, (unsigned char *)why, strlen(why));
  return -1;
}

/* Subscription ids go into messages as they are: no character of theirs needs escaping. */
static int id_ok(const char *id) {
  size_t n = strlen(id);
  return n >= 1 && n <= WEB_ID_MAX &&
         strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                    "0123456789_-.:") == n;
}

static int handle(qx_web *web, web_conn *c, const char *text, size_t len) {
  json_error_t error;
  json_t *msg = json_loadb(text, len, 0, &error);
  if (!json_is_object(msg)) {
    json_decref(msg);
    return refuse(c, "not a JSON object");
  }
  const char *type = string_field(msg, "type", "");
  json_t *id = json_object_get(msg, "id");
  char *id_json = id ? json_dumps(id, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
  const char *id_text = json_is_string(id) ? json_string_value(id) : "";
  int sub_message = strcmp(type, "subscribe") == 0 || strcmp(type, "unsubscribe") == 0;
  if (sub_message && !id_ok(id_text))
    queue_error(c, id_json, "id is 1 to 32 letters, digits, '_', '-', '.' or ':'");
  else if (strcmp(type, "subscribe") == 0)
    subscribe(web, c, msg, id_text, id_json);
  else if (strcmp(type, "unsubscribe") == 0)
    unsubscribe(c, id_text, id_json);
  else if (strcmp(type, "sql") == 0 && json_is_string(json_object_get(msg, "query")))
    qx_web_sql_submit(web, c, id_json ? id_json : "null", string_field(msg, "query", ""));
  else
    queue_error(c, id_json, "unknown message: type is subscribe, unsubscribe or sql (with query)");
  free(id_json);
  json_decref(msg);
  return 0;
}

int qx_web_conn_receive(qx_web *web, web_conn *c, const void *in, size_t len) {
  if (c->rx.len + len > WEB_MAX_MESSAGE) return refuse(c, "message longer than 64 KiB");
  if (c->out_count >= WEB_MAX_UNANSWERED) /* a client that asks but never reads */
    return refuse(c, "too many answers not yet read");
  qx_buffer_put(&c->rx, in, len);
  if (c->rx.failed) return refuse(c, "out of memory");
  if (!lws_is_final_fragment(c->wsi) || lws_remaining_packet_payload(c->wsi)) return 0;
  int rc = handle(web, c, (const char *)c->rx.p, c->rx.len);
  c->rx.len = 0;
  return rc;
}

/* ---- sending -------------------------------------------------------------------------------- */

static int send_message(web_conn *c) {
  web_message *m = c->out;
  c->out = m->next;
  c->out_count--;
  if (!c->out) c->last = NULL;
  int n = lws_write(c->wsi, (unsigned char *)m->text + LWS_PRE, m->len, LWS_WRITE_TEXT);
  free(m);
  lws_callback_on_writable(c->wsi);
  return n < 0 ? -1 : 0;
}

/* Ends subscription s with an error naming it, and takes it out of c's list. */
static void end_with_error(web_conn *c, web_subscription *s, const char *message) {
  char id_json[WEB_ID_MAX + 3];
  snprintf(id_json, sizeof id_json, "\"%s\"", s->id);
  queue_error(c, id_json, message);
  qx_web_subscription_end(s);
  *s = c->subs[--c->sub_count];
}

/* A subscription left behind: it catches up, or the connection is to be closed; 1 if it
 * cannot catch up and was ended (another subscription now has its place in the list). */
static int handle_slow(qx_web *web, web_conn *c, web_subscription *s) {
  char why[sizeof c->close_reason];
  switch (qx_web_subscription_check_slow(web, s, why, sizeof why)) {
  case WEB_SLOW_NO:
    return 0;
  case WEB_SLOW_CATCHING_UP:
    web->catchups++;
    qx_web_conn_queuef(c,
                       "{\"type\":\"catchup\",\"id\":\"%s\",\"from_lsn\":%llu,\"reason\":\"the "
                       "client fell more than %u records behind\"}",
                       s->id, (unsigned long long)s->next_lsn, web->window.capacity);
    return 0;
  case WEB_SLOW_DISCONNECT:
    if (!c->close_reason[0]) web->slow_disconnects++;
    snprintf(c->close_reason, sizeof c->close_reason, "%s", why);
    /* A client that reads nothing never takes the close frame: it is dropped in 10 s. */
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, 10);
    lws_callback_on_writable(c->wsi);
    return 0;
  case WEB_SLOW_FAILED:
    end_with_error(c, s, qx_last_error());
    return 1;
  }
  return 0;
}

/* Sends one batch of the next subscription in turn that has records; 1 if it sent one. */
static int send_records(qx_web *web, web_conn *c, int *failed) {
  for (int i = 0; i < c->sub_count; i++) {
    int at = (c->next_sub + i) % c->sub_count;
    web_subscription *s = &c->subs[at];
    if (handle_slow(web, c, s)) return 0;
    int went_live = 0, count = qx_web_subscription_batch(web, s, &c->tx, &went_live);
    if (went_live)
      qx_web_conn_queuef(c, "{\"type\":\"live\",\"id\":\"%s\",\"lsn\":%llu}", s->id,
                         (unsigned long long)s->next_lsn);
    if (count < 0) {
      end_with_error(c, s, qx_last_error());
      return 0;
    }
    if (count == 0) continue;
    c->next_sub = at + 1;
    web->records_sent += (uint64_t)count;
    enum lws_write_protocol kind = s->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT;
    *failed = lws_write(c->wsi, c->tx.p + LWS_PRE, c->tx.len - LWS_PRE, kind) < 0;
    /* A batch that was not full took all there was: the feeder's next records (or, for a
     * subscriber of its own, the next tick) ask for the next write. */
    int full = count >= WEB_BATCH_RECORDS || c->tx.len >= WEB_BATCH_BYTES;
    if (full || c->out || c->sub_count > 1) lws_callback_on_writable(c->wsi);
    return 1;
  }
  return 0;
}

int qx_web_conn_writable(qx_web *web, web_conn *c) {
  if (c->close_reason[0]) {
    lws_close_reason(c->wsi, WEB_CLOSE_SLOW, (unsigned char *)c->close_reason,
                     strlen(c->close_reason));
    return -1;
  }
  if (atomic_load(&web->stopping)) {
    static const char bye[] = "server stopping";
    lws_close_reason(c->wsi, LWS_CLOSE_STATUS_GOINGAWAY, (unsigned char *)bye, sizeof bye - 1);
    return -1;
  }
  if (c->out) return send_message(c);
  int failed = 0;
  send_records(web, c, &failed);
  return failed ? -1 : 0;
}

int qx_web_conn_has_records(qx_web *web, web_conn *c) {
  int has = c->out != NULL;
  for (int i = 0; i < c->sub_count && !has; i++)
    has = qx_web_subscription_has_records(web, &c->subs[i]);
  return has;
}

void qx_web_conn_tick(qx_web *web, web_conn *c, int heartbeat) {
  int polls = 0;
  for (int i = 0; i < c->sub_count; i++) {
    if (handle_slow(web, c, &c->subs[i])) {
      i--; /* the last subscription moved into this place */
      continue;
    }
    polls |= c->subs[i].source == WEB_FROM_SUB;
  }
  if (polls) lws_callback_on_writable(c->wsi);
  if (!heartbeat || c->out) return; /* a client with messages still to take is not idle */
  qx_web_conn_queuef(c, "{\"type\":\"heartbeat\",\"last_lsn\":%llu,\"ts_ns\":%lld}",
                     (unsigned long long)qx_db_last_lsn(web->srv->db), (long long)qx_wall_ns());
}
