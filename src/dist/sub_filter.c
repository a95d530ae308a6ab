/* Which records a subscriber wants: its table, and the instrument and account the record names
 * (in instrument_id; in account_id, or either side's account of a trade). A record of a table
 * without the column does not pass a filter on it. */
#include "dist/sub_filter.h"

#include <string.h>

#include "qaxdb/schema.h"

/* 1 if the record's CHAR column called name (if it has one) holds text. */
static int char_column_is(const qx_schema *s, unsigned version, const qx_wal_entry *e,
                          const char *name, const char *text) {
  int c = qx_schema_column_index(s, name);
  if (c < 0 || s->columns[c].since_version > version || s->columns[c].type != QX_COL_CHAR) return 0;
  const qx_column *col = &s->columns[c];
  size_t len = strlen(text);
  const char *field = (const char *)e->data + col->offset;
  return len <= col->width && memcmp(field, text, len) == 0 && (len == col->width || !field[len]);
}

int qx_sub_filter_match(const qx_sub_options *o, const qx_wal_entry *e) {
  if (o->table_id && e->table_id != o->table_id) return 0;
  if (!o->instrument[0] && !o->account[0]) return 1;
  const qx_schema *s = qx_schema_by_id(e->table_id);
  unsigned version = s ? qx_schema_version_of_size(s, e->size) : 0;
  if (!version) return 0;
  if (o->instrument[0] && !char_column_is(s, version, e, "instrument_id", o->instrument)) return 0;
  return !o->account[0] || char_column_is(s, version, e, "account_id", o->account) ||
         char_column_is(s, version, e, "buy_account_id", o->account) ||
         char_column_is(s, version, e, "sell_account_id", o->account);
}
