/* Rows of text fields, named by a header, into records of a table: the mapping from names to
 * columns and the parse of each field that `qaxdb load` (a CSV file's header) and qaxdbd's
 * INSERT (its column list) share. The accepted text forms are in docs/csv.md. */
#ifndef QX_RECORD_FIELDS_H
#define QX_RECORD_FIELDS_H

#include <stddef.h>

#include "qaxdb/schema.h"

typedef struct qx_field_map {
  const qx_schema *table;
  int *column_of_field; /* field position -> column index, or -1 for a derived column */
  size_t count;
  /* The columns the SQL views derive (lsn, date) that the names held, which are skipped so
   * that a query's output loads as it is: "lsn, date", or "" if none. */
  char skipped[32];
} qx_field_map;

/* Maps count names (names[i], lengths[i] bytes) to the table's columns. QX_ERR_PARSE for a name
 * the table lacks or one given twice, the reason in qx_last_error(). */
int qx_field_map_init(qx_field_map *m, const qx_schema *table, const char *const *names,
                      const size_t *lengths, size_t count);
/* The table's own columns in order: what fields mean without names. */
int qx_field_map_all(qx_field_map *m, const qx_schema *table);
void qx_field_map_free(qx_field_map *m);

/* Parses count fields (m->count of them) into record (the table's record_size bytes). Columns
 * not named, empty fields and NULL ones take the column default (zero, empty, the first enum
 * value). QX_ERR_PARSE naming the column on a bad field. */
int qx_field_map_parse(const qx_field_map *m, const char *const *fields, const size_t *lengths,
                       size_t count, void *record);

#endif
