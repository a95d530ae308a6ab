/* Records and keys as command-line text: printing a record's fields or a log entry, and encoding
 * a key (or a key prefix) from the text values of a table's key columns. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "qaxdb/key.h"
#include "record/text.h"

int cli_print_fields(const qx_schema *table, const void *record, size_t size) {
  unsigned version = size <= UINT32_MAX ? qx_schema_version_of_size(table, (uint32_t)size) : 0;
  uint32_t columns = qx_schema_column_count(table, version);
  for (uint32_t i = 0; i < columns; i++) {
    char value[64];
    qx_format_column(&table->columns[i], record, value, sizeof value);
    printf("%s%s=%s", i ? " " : "", table->columns[i].name, value);
  }
  return columns > 0;
}

void cli_print_log_entry(const qx_wal_entry *e) {
  char ts[48];
  qx_format_timestamp(e->ts_ns, ts, sizeof ts);
  const qx_schema *s = qx_schema_by_id(e->table_id);
  if (!s || qx_schema_record_size(s, e->schema_version) != e->size) {
    printf("lsn=%" PRIu64 " ts=%s table=#%u v%u size=%u (not a known record layout)\n", e->lsn, ts,
           e->table_id, e->schema_version, e->size);
    return;
  }
  printf("lsn=%" PRIu64 " ts=%s table=%s ", e->lsn, ts, s->name);
  cli_print_fields(s, e->data, e->size);
  putchar('\n');
}

int cli_parse_key(const char *cmd, const qx_schema *table, const char *const *values, int count,
                  uint8_t *key, size_t *key_len) {
  if (qx_parse_key(table, values, (uint32_t)count, key, key_len) == QX_OK) return 1;
  fprintf(stderr, "qaxdb %s: key: %s\n", cmd, qx_last_error());
  return 0;
}
