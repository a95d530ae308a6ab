/* A key, or a key prefix, from the text values of a table's key columns (record/text.h): what
 * `qaxdb get` and `scan` take on the command line, `<table>_by_key(...)` in SQL, and the
 * server's point lookups. */
#include <string.h>

#include "qaxdb/key.h"
#include "record/text.h"
#include "util/error.h"

#define KEY_RECORD_MAX 1024 /* the key columns are parsed into a record this large at most */

/* Bytes the first count key columns take in an encoded key, after the table id. */
static size_t prefix_len(const qx_schema *table, uint32_t count) {
  size_t len = QX_KEY_TABLE_PREFIX;
  for (uint32_t i = 0; i < count; i++)
    len += table->columns[table->key_columns[i]].width;
  return len;
}

int qx_parse_key(const qx_schema *table, const char *const *values, uint32_t count,
                 uint8_t key[QX_KEY_MAX], size_t *key_len) {
  if (count > table->key_column_count)
    return qx_fail(QX_ERR_INVALID_ARG, "table %s has %u key columns, got %u values", table->name,
                   table->key_column_count, count);
  if (table->record_size > KEY_RECORD_MAX)
    return qx_fail(QX_ERR_INVALID_ARG, "table %s: records of %u bytes are too large for a key",
                   table->name, table->record_size);
  uint8_t record[KEY_RECORD_MAX] = {0};
  for (uint32_t i = 0; i < count; i++) {
    int rc = qx_parse_column(&table->columns[table->key_columns[i]], values[i], strlen(values[i]),
                             record);
    if (rc != QX_OK) return rc;
  }
  uint8_t full[QX_KEY_MAX];
  qx_key_encode(table, record, full);
  *key_len = prefix_len(table, count);
  memcpy(key, full, *key_len);
  return QX_OK;
}
