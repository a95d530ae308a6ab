/* Records as WebSocket messages (docs/formats/websocket.md): a record as a JSON object with
 * every column as SQL shows it, or in the binary batch layout, and the frame of a batch. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "qaxdb/schema.h"
#include "query/record_cells.h"
#include "util/json.h"
#include "web/web_impl.h"

#define MAX_COLUMNS 64

/* Each table's column names and kinds, looked up once. */
typedef struct table_columns {
  const char *names[MAX_COLUMNS];
  qx_sql_value_kind kinds[MAX_COLUMNS];
  uint32_t count;
} table_columns;

static table_columns tables[QX_TABLE_MAX + 1];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void load_tables(void) {
  for (int id = QX_TABLE_MIN; id <= QX_TABLE_MAX; id++) {
    const qx_schema *s = qx_schema_by_id(id);
    if (!s || qx_record_sql_column_count(s) > MAX_COLUMNS) continue;
    tables[id].count = qx_record_sql_column_count(s);
    qx_record_sql_columns(s, tables[id].names, tables[id].kinds, NULL);
  }
}

/* The record's columns after lsn, ts_ns and table: every column of the table, then the
 * trading day (the cells' own lsn column is left out, it came first). */
static void put_columns(qx_buffer *b, const qx_schema *s, const qx_wal_entry *e) {
  const table_columns *t = &tables[e->table_id];
  char text[MAX_COLUMNS][QX_RECORD_CELL_MAX];
  const char *cells[MAX_COLUMNS];
  if (!t->count || !qx_record_sql_cells(s, e->data, e->size, e->lsn, text, cells)) {
    qx_buffer_printf(b, ",\"size\":%u", e->size); /* a version this build does not know */
    return;
  }
  for (uint32_t c = 0; c < t->count; c++) {
    if (c == t->count - 2) continue; /* lsn */
    qx_buffer_put(b, ",", 1);
    qx_json_put_string(b, t->names[c]);
    qx_buffer_put(b, ":", 1);
    qx_json_put_cell(b, cells[c], t->kinds[c]);
  }
}

void qx_web_encode_json(qx_buffer *b, const qx_wal_entry *e) {
  pthread_once(&tables_once, load_tables);
  const qx_schema *s = e->table_id <= QX_TABLE_MAX ? qx_schema_by_id(e->table_id) : NULL;
  qx_buffer_printf(b, "{\"lsn\":%" PRIu64 ",\"ts_ns\":%" PRId64 ",\"table\":", e->lsn, e->ts_ns);
  if (s) {
    qx_json_put_string(b, s->name);
    put_columns(b, s, e);
  } else {
    qx_buffer_printf(b, "%u,\"size\":%u", e->table_id, e->size);
  }
  qx_buffer_put(b, "}", 1);
}

static void put_le(qx_buffer *b, uint64_t v, size_t bytes) {
  uint8_t le[8];
  for (size_t i = 0; i < bytes; i++)
    le[i] = (uint8_t)(v >> (8 * i));
  qx_buffer_put(b, le, bytes);
}

void qx_web_encode_binary(qx_buffer *b, const qx_wal_entry *e) {
  put_le(b, e->lsn, 8);
  put_le(b, (uint64_t)e->ts_ns, 8);
  put_le(b, e->table_id, 2);
  put_le(b, e->schema_version, 2);
  put_le(b, e->size, 4);
  qx_buffer_put(b, e->data, e->size);
}

/* The binary header's record count sits after the magic, the id's length and the id. */
static size_t count_offset(size_t id_len) {
  return LWS_PRE + 4 + 1 + id_len;
}

void qx_web_batch_start(qx_buffer *b, const char *id, int binary) {
  static const uint8_t headroom[LWS_PRE];
  b->len = 0;
  b->failed = 0;
  qx_buffer_put(b, headroom, LWS_PRE);
  size_t id_len = strlen(id);
  if (binary) {
    qx_buffer_put(b, "QXWB", 4);
    put_le(b, id_len, 1);
    qx_buffer_put(b, id, id_len);
    put_le(b, 0, 4); /* the count, filled in at the end */
  } else {
    qx_buffer_puts(b, "{\"type\":\"records\",\"id\":");
    qx_json_put_string(b, id);
    qx_buffer_puts(b, ",\"records\":[");
  }
}

void qx_web_batch_finish(qx_buffer *b, int binary, uint32_t count) {
  if (!binary) {
    qx_buffer_puts(b, "]}");
    return;
  }
  size_t at = count_offset(b->p[LWS_PRE + 4]);
  if (b->failed || b->len < at + 4) return;
  for (int i = 0; i < 4; i++)
    b->p[at + (size_t)i] = (uint8_t)(count >> (8 * i));
}
