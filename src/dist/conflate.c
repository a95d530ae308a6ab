/* Conflation for delayed subscriptions: of the records of one batch window, only the newest per
 * key is handed out, in LSN order. The key of a latest-state table's record (orders, accounts,
 * positions) is its primary key; an event table's (ticks, trades, klines, ...) is its key's
 * text columns (instrument, period), or else its instrument: a UI wants the newest tick of each
 * instrument, not every tick. Records with neither, or of an unknown layout, are all kept. */
#include "dist/conflate.h"

#include <stdlib.h>
#include <string.h>

#include "qaxdb/key.h"
#include "util/error.h"
#include "util/grow.h"

typedef struct kept {
  qx_wal_entry entry; /* data points at payload */
  uint8_t key[QX_KEY_MAX];
  size_t key_len; /* 0: not conflated */
  int superseded;
  uint8_t *payload;
} kept;

struct qx_conflator {
  kept *records; /* in LSN order */
  size_t count, cap, next_out;
  size_t *slots; /* open addressing: index + 1 into records, 0 empty */
  size_t slot_count;
};

int qx_conflator_create(qx_conflator **out) {
  *out = calloc(1, sizeof **out);
  return *out ? QX_OK : qx_fail(QX_ERR_NOMEM, "conflator");
}

void qx_conflator_clear(qx_conflator *c) {
  for (size_t i = 0; i < c->count; i++)
    free(c->records[i].payload);
  c->count = c->next_out = 0;
  if (c->slots) memset(c->slots, 0, c->slot_count * sizeof *c->slots);
}

void qx_conflator_destroy(qx_conflator *c) {
  if (!c) return;
  qx_conflator_clear(c);
  free(c->records);
  free(c->slots);
  free(c);
}

/* ---- the key -------------------------------------------------------------------------------- */

static size_t put_column(const qx_column *col, const void *data, uint8_t *out, size_t at) {
  if (at + col->width > QX_KEY_MAX) return at;
  memcpy(out + at, (const uint8_t *)data + col->offset, col->width);
  return at + col->width;
}

/* The conflation key of e (see the file comment); 0 if it is not conflated. */
static size_t conflation_key(const qx_wal_entry *e, uint8_t out[QX_KEY_MAX]) {
  const qx_schema *s = qx_schema_by_id(e->table_id);
  unsigned version = s ? qx_schema_version_of_size(s, e->size) : 0;
  if (!version || version != s->version) return 0; /* a key reads the current layout */
  if (s->latest_state) return qx_key_encode(s, e->data, out);
  size_t len = qx_key_table_prefix(e->table_id, out), prefix = len;
  for (uint32_t k = 0; k < s->key_column_count; k++) {
    const qx_column *col = &s->columns[s->key_columns[k]];
    if (col->type == QX_COL_CHAR || col->type == QX_COL_ENUM)
      len = put_column(col, e->data, out, len);
  }
  int instrument = qx_schema_column_index(s, "instrument_id");
  if (len == prefix && instrument >= 0)
    len = put_column(&s->columns[instrument], e->data, out, len);
  return len == prefix ? 0 : len;
}

/* ---- the table of keys ---------------------------------------------------------------------- */

static uint64_t hash_key(const uint8_t *key, size_t len) {
  uint64_t h = 14695981039346656037ull;
  for (size_t i = 0; i < len; i++)
    h = (h ^ key[i]) * 1099511628211ull;
  return h;
}

static size_t *slot_of(qx_conflator *c, const uint8_t *key, size_t len) {
  size_t i = (size_t)hash_key(key, len) & (c->slot_count - 1);
  for (;; i = (i + 1) & (c->slot_count - 1)) {
    size_t *slot = &c->slots[i];
    if (!*slot) return slot;
    const kept *k = &c->records[*slot - 1];
    if (k->key_len == len && memcmp(k->key, key, len) == 0) return slot;
  }
}

/* Keeps the table at most half full, rebuilding it from the records not superseded. */
static int grow_slots(qx_conflator *c) {
  if (c->slot_count >= 2 * (c->count + 1)) return QX_OK;
  size_t n = c->slot_count ? c->slot_count * 2 : 1024;
  size_t *slots = calloc(n, sizeof *slots);
  if (!slots) return qx_fail(QX_ERR_NOMEM, "conflation table");
  free(c->slots);
  c->slots = slots;
  c->slot_count = n;
  for (size_t i = 0; i < c->count; i++)
    if (c->records[i].key_len && !c->records[i].superseded)
      *slot_of(c, c->records[i].key, c->records[i].key_len) = i + 1;
  return QX_OK;
}

int qx_conflator_add(qx_conflator *c, const qx_wal_entry *e) {
  int rc = qx_grow((void **)&c->records, &c->cap, c->count + 1, sizeof *c->records, "conflation");
  if (rc == QX_OK) rc = grow_slots(c);
  if (rc != QX_OK) return rc;
  kept *k = &c->records[c->count];
  *k = (kept){.entry = *e, .payload = malloc(e->size ? e->size : 1)};
  if (!k->payload) return qx_fail(QX_ERR_NOMEM, "conflated record");
  memcpy(k->payload, e->data, e->size);
  k->entry.data = k->payload;
  k->key_len = conflation_key(e, k->key);
  if (k->key_len) {
    size_t *slot = slot_of(c, k->key, k->key_len);
    if (*slot) c->records[*slot - 1].superseded = 1;
    *slot = c->count + 1;
  }
  c->count++;
  return QX_OK;
}

int qx_conflator_next(qx_conflator *c, qx_wal_entry *e) {
  while (c->next_out < c->count && c->records[c->next_out].superseded)
    c->next_out++;
  if (c->next_out == c->count) return 0;
  *e = c->records[c->next_out++].entry;
  return 1;
}
