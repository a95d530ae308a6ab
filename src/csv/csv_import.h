/* Importing a CSV file into a table through the engine (WAL, then MemTable). The header names any
 * subset of the table's columns in any order (and may name the columns lsn and date that the SQL
 * views add, which are skipped); columns left out, and empty fields, take the column
 * default (zero, empty string, the first enum value). Rows are appended in batches and made
 * durable; the first bad row stops the import, and everything before it is durably written. The
 * accepted text forms are in docs/csv.md. */
#ifndef QX_CSV_IMPORT_H
#define QX_CSV_IMPORT_H

#include <stdint.h>

#include "qaxdb/db.h"
#include "qaxdb/schema.h"

typedef struct csv_import_result {
  uint64_t rows;      /* rows durably written, also when the import stopped on an error */
  uint64_t first_lsn; /* LSNs of those rows; 0 when rows == 0 */
  uint64_t last_lsn;
  /* The columns the header named that the SQL views derive (lsn, date), which the import skips
   * so that `qaxdb sql --csv` output loads as it is: "lsn, date", or "" if none. */
  char skipped[32];
} csv_import_result;

/* Imports path into table through db. On a bad header or row returns QX_ERR_PARSE with
 * "FILE:LINE: column NAME: reason" in qx_last_error(); result says what was written before. */
int qx_csv_import(qx_db *db, const qx_schema *table, const char *path, csv_import_result *result);

#endif
