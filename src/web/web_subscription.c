/* One WebSocket subscription: live records taken from the shared window, or, for a start older
 * than the window, a client the window left behind, and delayed or conflated subscriptions,
 * records from a subscriber of its own (qaxdb/sub.h) reading the ring and the WAL. A
 * subscription catching up returns to the window once the window reaches back to it. */
#include <stdio.h>
#include <string.h>

#include "dist/sub_filter.h"
#include "util/error.h"
#include "web/web_impl.h"

#define SUB_BATCH 256

static int open_sub(qx_web *web, web_subscription *s, uint64_t from_lsn, int live) {
  qx_sub_options o = s->filter;
  o.start = live ? QX_SUB_LIVE : QX_SUB_FROM_LSN;
  o.from_lsn = from_lsn;
  int rc = qx_sub_open_db(web->srv->db, &o, &s->sub);
  if (rc != QX_OK) return rc;
  s->source = WEB_FROM_SUB;
  qx_sub_status st;
  qx_sub_get_status(s->sub, &st);
  s->next_lsn = st.next_lsn;
  return QX_OK;
}

int qx_web_subscription_start(qx_web *web, web_subscription *s, int64_t after_lsn) {
  uint64_t last = qx_db_last_lsn(web->srv->db);
  if (after_lsn >= 0 && (uint64_t)after_lsn > last)
    return qx_fail(QX_ERR_INVALID_ARG, "after_lsn %lld is beyond the log's last LSN %llu",
                   (long long)after_lsn, (unsigned long long)last);
  if (s->filter.delay_ms) return open_sub(web, s, (uint64_t)after_lsn + 1, after_lsn < 0);
  web_window *w = &web->window;
  pthread_mutex_lock(&w->mu);
  uint64_t from = after_lsn < 0 ? w->next_lsn : (uint64_t)after_lsn + 1;
  uint64_t seq = qx_web_window_find(w, from);
  pthread_mutex_unlock(&w->mu);
  if (seq == UINT64_MAX) return open_sub(web, s, from, 0); /* it catches up first */
  s->source = WEB_FROM_WINDOW;
  s->seq = seq;
  s->next_lsn = from;
  return QX_OK;
}

void qx_web_subscription_end(web_subscription *s) {
  if (s->sub) qx_sub_close(s->sub);
  s->sub = NULL;
}

static void put_record(qx_buffer *b, const web_subscription *s, const qx_wal_entry *e,
                       const qx_buffer *json, int count) {
  if (s->binary) {
    qx_web_encode_binary(b, e);
    return;
  }
  if (count) qx_buffer_put(b, ",", 1);
  if (json)
    qx_buffer_put(b, json->p, json->len);
  else
    qx_web_encode_json(b, e);
}

static int full(const qx_buffer *b, int count) {
  return count >= WEB_BATCH_RECORDS || b->len >= WEB_BATCH_BYTES;
}

static int window_batch(qx_web *web, web_subscription *s, qx_buffer *b) {
  web_window *w = &web->window;
  int count = 0;
  pthread_mutex_lock(&w->mu);
  for (; s->seq < w->head && s->seq >= w->tail && !full(b, count); s->seq++) {
    web_slot *slot = &w->slots[s->seq % w->capacity];
    if (slot->entry.lsn < s->next_lsn) continue;
    s->next_lsn = slot->entry.lsn + 1;
    if (!qx_sub_filter_match(&s->filter, &slot->entry)) continue;
    if (!s->binary && !slot->json_ready) {
      slot->json.len = 0;
      slot->json.failed = 0;
      qx_web_encode_json(&slot->json, &slot->entry);
      slot->json_ready = !slot->json.failed;
    }
    put_record(b, s, &slot->entry, slot->json_ready ? &slot->json : NULL, count++);
  }
  pthread_mutex_unlock(&w->mu);
  return count;
}

/* A subscription catching up goes back to the window once the window holds its next record. */
static int rejoin_window(qx_web *web, web_subscription *s) {
  web_window *w = &web->window;
  pthread_mutex_lock(&w->mu);
  uint64_t seq = qx_web_window_find(w, s->next_lsn);
  pthread_mutex_unlock(&w->mu);
  if (seq == UINT64_MAX) return 0;
  qx_web_subscription_end(s);
  s->source = WEB_FROM_WINDOW;
  s->seq = seq;
  return 1;
}

static int sub_batch(qx_web *web, web_subscription *s, qx_buffer *b, int *went_live) {
  int count = 0;
  while (!full(b, count)) {
    qx_wal_entry records[SUB_BATCH];
    size_t n = 0;
    int rc = qx_sub_next_batch(s->sub, records, SUB_BATCH, &n, 0);
    if (rc == QX_ERR_TIMEOUT) break;
    if (rc == QX_ERR_LAPPED) continue;
    if (rc != QX_OK) return -1;
    for (size_t i = 0; i < n; i++)
      put_record(b, s, &records[i], NULL, count++);
  }
  qx_sub_status st;
  qx_sub_get_status(s->sub, &st);
  s->next_lsn = st.next_lsn;
  if (!s->filter.delay_ms) *went_live = rejoin_window(web, s); /* it was catching up */
  return count;
}

int qx_web_subscription_batch(qx_web *web, web_subscription *s, qx_buffer *b, int *went_live) {
  *went_live = 0;
  qx_web_batch_start(b, s->id, s->binary);
  int count =
      s->source == WEB_FROM_WINDOW ? window_batch(web, s, b) : sub_batch(web, s, b, went_live);
  if (count > 0) qx_web_batch_finish(b, s->binary, (uint32_t)count);
  if (!b->failed) return count;
  qx_record_failure("web: a batch of subscription %s", s->id);
  return -1;
}

int qx_web_subscription_has_records(qx_web *web, web_subscription *s) {
  if (s->source != WEB_FROM_WINDOW) return 0; /* the tick polls its subscriber */
  web_window *w = &web->window;
  pthread_mutex_lock(&w->mu);
  for (; s->seq < w->head && s->seq >= w->tail; s->seq++) {
    const web_slot *slot = &w->slots[s->seq % w->capacity];
    if (slot->entry.lsn >= s->next_lsn && qx_sub_filter_match(&s->filter, &slot->entry)) break;
    if (slot->entry.lsn >= s->next_lsn) s->next_lsn = slot->entry.lsn + 1;
  }
  int has = s->seq < w->head && s->seq >= w->tail;
  pthread_mutex_unlock(&w->mu);
  return has;
}

web_slow qx_web_subscription_check_slow(qx_web *web, web_subscription *s, char *why, size_t cap) {
  if (s->source != WEB_FROM_WINDOW) return WEB_SLOW_NO;
  web_window *w = &web->window;
  pthread_mutex_lock(&w->mu);
  uint64_t behind = w->head - s->seq;
  int left_behind = s->seq < w->tail;
  pthread_mutex_unlock(&w->mu);
  if (!left_behind) return WEB_SLOW_NO;
  if (s->disconnect_when_slow) {
    snprintf(why, cap, "slow consumer: %s at LSN %llu, %llu records behind (limit %u)", s->id,
             (unsigned long long)s->next_lsn, (unsigned long long)behind, w->capacity);
    return WEB_SLOW_DISCONNECT;
  }
  /* Opening a subscriber maps the log ring: when many clients fall behind at once, a few a tick
   * move, so that the service thread goes on sending to the rest in between. */
  if (web->catchup_budget == 0) return WEB_SLOW_NO;
  web->catchup_budget--;
  return open_sub(web, s, s->next_lsn, 0) == QX_OK ? WEB_SLOW_CATCHING_UP : WEB_SLOW_FAILED;
}
