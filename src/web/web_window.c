/* The window of the newest records shared by every WebSocket client (web_impl.h): each record
 * is copied once, and encoded as JSON at most once (by the service thread, when a JSON
 * subscription first takes it), however many clients take it. The feeder never waits for a
 * client: it overwrites the oldest slot, and a client that still needed it catches up from the
 * WAL. */
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "web/web_impl.h"

int qx_web_window_init(web_window *w, uint32_t capacity) {
  memset(w, 0, sizeof *w);
  w->slots = calloc(capacity, sizeof *w->slots);
  if (!w->slots) return qx_fail(QX_ERR_NOMEM, "web: a window of %u records", capacity);
  w->capacity = capacity;
  pthread_mutex_init(&w->mu, NULL);
  return QX_OK;
}

void qx_web_window_free(web_window *w) {
  for (uint32_t i = 0; w->slots && i < w->capacity; i++) {
    free(w->slots[i].raw);
    qx_buffer_free(&w->slots[i].json);
  }
  free(w->slots);
  pthread_mutex_destroy(&w->mu);
}

static const web_slot *slot_at(const web_window *w, uint64_t seq) {
  return &w->slots[seq % w->capacity];
}

uint64_t qx_web_window_find(const web_window *w, uint64_t lsn) {
  uint64_t lo = w->tail, hi = w->head;
  if (lsn >= w->next_lsn) return hi; /* not yet written */
  if (lo == hi || slot_at(w, lo)->entry.lsn > lsn) return UINT64_MAX;
  while (lo < hi) { /* LSNs grow with the sequence */
    uint64_t mid = lo + (hi - lo) / 2;
    if (slot_at(w, mid)->entry.lsn < lsn)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* Fills slot with a copy of e, outside the lock: no reader looks at it until head passes it.
 * Returns 0, or -1 out of memory. */
static int fill(web_slot *slot, const qx_wal_entry *e) {
  if (slot->raw_cap < e->size) {
    uint8_t *raw = realloc(slot->raw, e->size);
    if (!raw) return -1;
    slot->raw = raw;
    slot->raw_cap = e->size;
  }
  memcpy(slot->raw, e->data, e->size);
  slot->entry = *e;
  slot->entry.data = slot->raw;
  slot->json_ready = 0;
  return 0;
}

int qx_web_window_append(web_window *w, const qx_wal_entry *records, size_t count) {
  for (size_t i = 0; i < count; i++) {
    pthread_mutex_lock(&w->mu);
    uint64_t seq = w->head;
    if (seq - w->tail == w->capacity) w->tail++; /* readers leave the slot to be refilled */
    pthread_mutex_unlock(&w->mu);
    if (fill(&w->slots[seq % w->capacity], &records[i]) != 0)
      return qx_fail(QX_ERR_NOMEM, "web: copying the record of LSN %llu",
                     (unsigned long long)records[i].lsn);
    pthread_mutex_lock(&w->mu);
    w->head = seq + 1;
    w->next_lsn = records[i].lsn + 1;
    pthread_mutex_unlock(&w->mu);
  }
  return QX_OK;
}
