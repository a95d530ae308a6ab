/* CSV import (see csv_import.h): the header maps fields to columns and rows are parsed into
 * fixed-layout records (record/fields.h), appended in batches, made durable at the end. */
#include "csv/csv_import.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv/csv_reader.h"
#include "record/fields.h"
#include "util/error.h"

#define BATCH_ROWS 1024
#define MAX_RECORD 512

typedef struct importer {
  qx_db *db;
  const qx_schema *table;
  const char *path;
  qx_field_map fields; /* header position -> column */
  uint8_t records[BATCH_ROWS][MAX_RECORD];
  qx_wal_record batch[BATCH_ROWS];
  size_t pending;
  csv_import_result *result;
} importer;

/* Fails with the reason qx_last_error() holds, prefixed with the file and line. */
static int fail_at(const importer *im, uint64_t line) {
  char reason[400];
  snprintf(reason, sizeof reason, "%s", qx_last_error());
  return qx_fail(QX_ERR_PARSE, "%s:%llu: %s", im->path, (unsigned long long)line, reason);
}

static int map_header(importer *im, const csv_row *header) {
  int rc =
      qx_field_map_init(&im->fields, im->table, header->fields, header->lengths, header->count);
  if (rc != QX_OK) return fail_at(im, header->line);
  snprintf(im->result->skipped, sizeof im->result->skipped, "%s", im->fields.skipped);
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
  if (row->count != im->fields.count)
    return qx_fail(QX_ERR_PARSE, "%s:%llu: %zu fields, the header has %zu", im->path,
                   (unsigned long long)row->line, row->count, im->fields.count);
  return qx_field_map_parse(&im->fields, row->fields, row->lengths, row->count, record) == QX_OK
             ? QX_OK
             : fail_at(im, row->line);
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
  qx_field_map_free(&im->fields);
  free(im);
  if (flush_rc != QX_OK) return flush_rc;
  return rc == QX_OK ? QX_OK : qx_fail(rc, "%s", error);
}
