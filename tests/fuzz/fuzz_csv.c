/* Fuzz target: CSV text into records, as `qaxdb load` reads it, without an engine: the CSV
 * reader (src/csv/csv_reader.c) splits the input file into rows, the header picks the first
 * built-in table that has every column it names (the importer's mapping: names cut at 127
 * bytes, no repeats), and each field goes through the record text parser
 * (src/record/parse.c). Rules: the reader fails only with QX_ERR_PARSE naming the file, a
 * field fails only with QX_ERR_PARSE, and a value that parses prints (record/format.c) as
 * text that parses back to the same bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv/csv_reader.h"
#include "fuzz.h"
#include "qaxdb/schema.h"
#include "qaxdb/status.h"
#include "record/text.h"

#define MAX_RECORD 512

/* Maps header field i to a column of table (column_of[i]); 0 if a name is unknown or repeated. */
static int map_header(const qx_schema *table, const csv_row *header, int *column_of) {
  for (size_t i = 0; i < header->count; i++) {
    char name[128];
    snprintf(name, sizeof name, "%.*s", (int)header->lengths[i], header->fields[i]);
    column_of[i] = qx_schema_column_index(table, name);
    if (column_of[i] < 0) return 0;
    for (size_t j = 0; j < i; j++)
      if (column_of[j] == column_of[i]) return 0;
  }
  return 1;
}

static const qx_schema *table_for(const csv_row *header, int *column_of) {
  for (int id = QX_TABLE_MIN; id <= QX_TABLE_MAX; id++) {
    const qx_schema *table = qx_schema_by_id(id);
    if (table && table->record_size <= MAX_RECORD && map_header(table, header, column_of))
      return table;
  }
  return NULL;
}

/* A parsed value printed and parsed again must give the same bytes. */
static void check_round_trip(const qx_column *col, const uint8_t *record) {
  char text[256];
  size_t len = qx_format_column(col, record, text, sizeof text);
  uint8_t again[MAX_RECORD] = {0};
  if (qx_parse_column(col, text, len, again) != QX_OK)
    fuzz_fail("column %s: printed as '%s', which does not parse: %s", col->name, text,
              qx_last_error());
  if (memcmp(again + col->offset, record + col->offset, col->width) != 0)
    fuzz_fail("column %s: printed as '%s', which parses to another value", col->name, text);
}

static void parse_row(const qx_schema *table, const int *column_of, const csv_row *row) {
  uint8_t record[MAX_RECORD] = {0};
  for (size_t i = 0; i < row->count; i++) {
    const qx_column *col = &table->columns[column_of[i]];
    int rc = qx_parse_column(col, row->fields[i], row->lengths[i], record);
    if (rc == QX_OK)
      check_round_trip(col, record);
    else if (rc != QX_ERR_PARSE)
      fuzz_fail("column %s: unexpected status %d: %s", col->name, rc, qx_last_error());
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char dir[PATH_MAX], path[PATH_MAX + 16];
  fuzz_empty_dir("csv", dir);
  snprintf(path, sizeof path, "%s/input.csv", dir);
  fuzz_write_file(path, data, size);
  csv_reader *reader;
  if (qx_csv_reader_open(path, &reader) != QX_OK) fuzz_fail("cannot open %s", path);
  csv_row row;
  int rc = qx_csv_next(reader, &row);
  const qx_schema *table = NULL;
  int *column_of = rc == 1 ? calloc(row.count, sizeof(int)) : NULL;
  if (rc == 1 && !column_of) fuzz_fail("out of memory");
  if (rc == 1) table = table_for(&row, column_of);
  size_t fields = rc == 1 ? row.count : 0;
  while (rc == 1 && (rc = qx_csv_next(reader, &row)) == 1)
    if (table && row.count == fields) parse_row(table, column_of, &row);
  fuzz_expect(rc < 0 ? rc : QX_OK, path, QX_ERR_PARSE, QX_ERR_PARSE);
  free(column_of);
  qx_csv_reader_close(reader);
  return 0;
}
