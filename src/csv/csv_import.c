/* CSV import (see csv_import.h): header to column mapping through the schema descriptors,
 * rows parsed into fixed-layout records, appended in batches, made durable at the end. */
#include "csv/csv_import.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv/csv_reader.h"
#include "record/text.h"
#include "util/error.h"

#define BATCH_ROWS 1024
#define MAX_RECORD 512

typedef struct importer {
  qx_db *db;
  const qx_schema *table;
  const char *path;
  int *column_of_field; /* header position -> column index */
  size_t field_count;
  uint8_t records[BATCH_ROWS][MAX_RECORD];
  qx_wal_record batch[BATCH_ROWS];
  size_t pending;
  csv_import_result *result;
} importer;

#define SKIPPED_COLUMN (-1) /* column_of_field of a derived column */

/* The columns every SQL view adds to a table's own (see qaxdb/sql.h): a file exported from a
 * view names them, and their values follow from the record and where it lands in the log. */
static int is_derived_column(const char *name) {
  return strcmp(name, "lsn") == 0 || strcmp(name, "date") == 0;
}

static void note_skipped(importer *im, const char *name) {
  csv_import_result *r = im->result;
  size_t n = strlen(r->skipped);
  snprintf(r->skipped + n, sizeof r->skipped - n, "%s%s", n ? ", " : "", name);
}

static int map_header(importer *im, const csv_row *header) {
  im->field_count = header->count;
  im->column_of_field = calloc(header->count, sizeof(int));
  if (!im->column_of_field) return qx_fail(QX_ERR_NOMEM, "%s: header", im->path);
  for (size_t i = 0; i < header->count; i++) {
    char name[128];
    snprintf(name, sizeof name, "%.*s", (int)header->lengths[i], header->fields[i]);
    int column = qx_schema_column_index(im->table, name);
    if (column < 0 && is_derived_column(name)) {
      if (strstr(im->result->skipped, name))
        return qx_fail(QX_ERR_PARSE, "%s:%llu: column '%s' appears twice in the header", im->path,
                       (unsigned long long)header->line, name);
      im->column_of_field[i] = SKIPPED_COLUMN;
      note_skipped(im, name);
      continue;
    }
    if (column < 0)
      return qx_fail(QX_ERR_PARSE, "%s:%llu: table %s has no column '%s' (see qaxdb schema %s)",
                     im->path, (unsigned long long)header->line, im->table->name, name,
                     im->table->name);
    for (size_t j = 0; j < i; j++)
      if (im->column_of_field[j] == column)
        return qx_fail(QX_ERR_PARSE, "%s:%llu: column '%s' appears twice in the header", im->path,
                       (unsigned long long)header->line, name);
    im->column_of_field[i] = column;
  }
  return QX_OK;
}

/* Appends the pending rows; they become durable with the final wait. */
static int flush_batch(importer *im) {
  if (im->pending == 0) return QX_OK;
  uint64_t last;
  int rc = qx_db_write_records(im->db, im->batch, im->pending, QX_DURABILITY_NONE, &last);
  if (rc != QX_OK) return rc;
  if (im->result->rows == 0) im->result->first_lsn = last - im->pending + 1;
  im->result->last_lsn = last;
  im->result->rows += im->pending;
  im->pending = 0;
  return QX_OK;
}

static int parse_row(importer *im, const csv_row *row, uint8_t *record) {
  if (row->count != im->field_count)
    return qx_fail(QX_ERR_PARSE, "%s:%llu: %zu fields, the header has %zu", im->path,
                   (unsigned long long)row->line, row->count, im->field_count);
  memset(record, 0, im->table->record_size);
  for (size_t i = 0; i < row->count; i++) {
    if (row->lengths[i] == 0 || im->column_of_field[i] == SKIPPED_COLUMN) continue; /* default */
    const qx_column *col = &im->table->columns[im->column_of_field[i]];
    if (qx_parse_column(col, row->fields[i], row->lengths[i], record) != QX_OK) {
      char reason[400];
      snprintf(reason, sizeof reason, "%s", qx_last_error());
      return qx_fail(QX_ERR_PARSE, "%s:%llu: %s", im->path, (unsigned long long)row->line, reason);
    }
  }
  return QX_OK;
}

static int import_rows(importer *im, csv_reader *reader) {
  csv_row row;
  int rc = qx_csv_next(reader, &row);
  if (rc == 0) return qx_fail(QX_ERR_PARSE, "%s: the file is empty (expected a header)", im->path);
  if (rc < 0) return rc;
  if ((rc = map_header(im, &row)) != QX_OK) return rc;
  while ((rc = qx_csv_next(reader, &row)) == 1) {
    uint8_t *record = im->records[im->pending];
    if ((rc = parse_row(im, &row, record)) != QX_OK) return rc;
    im->batch[im->pending++] = (qx_wal_record){(uint16_t)im->table->table_id, im->table->version,
                                               im->table->record_size, 0, record};
    if (im->pending == BATCH_ROWS && (rc = flush_batch(im)) != QX_OK) return rc;
  }
  return rc;
}

int qx_csv_import(qx_db *db, const qx_schema *table, const char *path, csv_import_result *result) {
  memset(result, 0, sizeof *result);
  if (table->record_size > MAX_RECORD)
    return qx_fail(QX_ERR_TOO_LARGE, "table %s: records too large to import", table->name);
  importer *im = calloc(1, sizeof *im);
  if (!im) return qx_fail(QX_ERR_NOMEM, "importing %s", path);
  *im = (importer){.db = db, .table = table, .path = path, .result = result};
  csv_reader *reader;
  int rc = qx_csv_reader_open(path, &reader);
  if (rc == QX_OK) {
    rc = import_rows(im, reader);
    qx_csv_reader_close(reader);
  }
  /* Rows before a bad one are kept: append them and make everything appended durable. */
  char error[512];
  snprintf(error, sizeof error, "%s", qx_last_error());
  int flush_rc = flush_batch(im);
  if (flush_rc == QX_OK && result->rows) flush_rc = qx_db_wait_durable(db, result->last_lsn, -1);
  free(im->column_of_field);
  free(im);
  if (flush_rc != QX_OK) return flush_rc;
  return rc == QX_OK ? QX_OK : qx_fail(rc, "%s", error);
}
