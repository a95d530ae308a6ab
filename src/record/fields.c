/* Named text fields into records (fields.h). */
#include "record/fields.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record/text.h"
#include "util/error.h"

#define DERIVED_COLUMN (-1)

/* The columns every SQL view adds to a table's own (see qaxdb/sql.h): their values follow from
 * the record and where it lands in the log. */
static int is_derived_column(const char *name) {
  return strcmp(name, "lsn") == 0 || strcmp(name, "date") == 0;
}

static int map_name(qx_field_map *m, size_t i, const char *name) {
  int column = qx_schema_column_index(m->table, name);
  if (column < 0 && is_derived_column(name)) {
    if (strstr(m->skipped, name)) return qx_fail(QX_ERR_PARSE, "column '%s' is named twice", name);
    size_t n = strlen(m->skipped);
    snprintf(m->skipped + n, sizeof m->skipped - n, "%s%s", n ? ", " : "", name);
    m->column_of_field[i] = DERIVED_COLUMN;
    return QX_OK;
  }
  if (column < 0)
    return qx_fail(QX_ERR_PARSE, "table %s has no column '%s' (see qaxdb schema %s)",
                   m->table->name, name, m->table->name);
  for (size_t j = 0; j < i; j++)
    if (m->column_of_field[j] == column)
      return qx_fail(QX_ERR_PARSE, "column '%s' is named twice", name);
  m->column_of_field[i] = column;
  return QX_OK;
}

static int alloc_map(qx_field_map *m, const qx_schema *table, size_t count) {
  *m = (qx_field_map){.table = table, .count = count};
  m->column_of_field = calloc(count + 1, sizeof(int));
  return m->column_of_field ? QX_OK : qx_fail(QX_ERR_NOMEM, "columns of %s", table->name);
}

int qx_field_map_init(qx_field_map *m, const qx_schema *table, const char *const *names,
                      const size_t *lengths, size_t count) {
  int rc = alloc_map(m, table, count);
  for (size_t i = 0; i < count && rc == QX_OK; i++) {
    char name[128];
    snprintf(name, sizeof name, "%.*s", (int)lengths[i], names[i]);
    rc = map_name(m, i, name);
  }
  return rc;
}

int qx_field_map_all(qx_field_map *m, const qx_schema *table) {
  int rc = alloc_map(m, table, qx_schema_column_count(table, table->version));
  for (size_t i = 0; i < m->count && rc == QX_OK; i++)
    m->column_of_field[i] = (int)i;
  return rc;
}

void qx_field_map_free(qx_field_map *m) {
  free(m->column_of_field);
  m->column_of_field = NULL;
}

int qx_field_map_parse(const qx_field_map *m, const char *const *fields, const size_t *lengths,
                       size_t count, void *record) {
  if (count != m->count)
    return qx_fail(QX_ERR_PARSE, "%zu values for %zu columns", count, m->count);
  memset(record, 0, m->table->record_size);
  for (size_t i = 0; i < count; i++) {
    if (!fields[i] || lengths[i] == 0 || m->column_of_field[i] == DERIVED_COLUMN) continue;
    const qx_column *col = &m->table->columns[m->column_of_field[i]];
    if (qx_parse_column(col, fields[i], lengths[i], record) != QX_OK) return QX_ERR_PARSE;
  }
  return QX_OK;
}
