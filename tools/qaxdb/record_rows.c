/* Records of a table printed by get and scan: the "lsn=N name=value ..." line, or rows in the
 * CSV and JSON formats of qaxdb sql with the columns and text of `SELECT * FROM <table>`: every
 * column of the table's current version (NULL where an older record lacks it), then lsn and
 * date (the trading day), timestamps as "2026-11-24 09:30:00.5". */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "olap/trading_day.h"
#include "query/value_text.h"
#include "record/text.h"

#define CELL_MAX 80 /* the longest text of a column: a CHAR(32), a decimal, a timestamp */

struct cli_record_rows {
  const qx_schema *table;
  cli_format format;
  uint32_t first;   /* 1 with a leading "table" column, else 0 */
  uint32_t columns; /* [table], the table's columns, then lsn and date */
  int time_column;
  const char **names;
  qx_sql_value_kind *kinds;
  const char **cells; /* point into text, or NULL */
  char (*text)[CELL_MAX];
};

static qx_sql_value_kind column_kind(const qx_column *col) {
  return col->type == QX_COL_TIMESTAMP || col->type == QX_COL_CHAR || col->type == QX_COL_ENUM
             ? QX_SQL_VALUE_TEXT
             : QX_SQL_VALUE_NUMBER;
}

int cli_record_rows_start(const qx_schema *table, cli_format format, int with_table,
                          cli_record_rows **out) {
  cli_record_rows *r = calloc(1, sizeof *r);
  uint32_t first = with_table ? 1 : 0, n = first + table->column_count + 2;
  if (r) {
    *r = (cli_record_rows){table,
                           format,
                           first,
                           n,
                           qx_time_column(table),
                           calloc(n, sizeof *r->names),
                           calloc(n, sizeof *r->kinds),
                           calloc(n, sizeof *r->cells),
                           calloc(n, sizeof *r->text)};
  }
  if (!r || !r->names || !r->kinds || !r->cells || !r->text) {
    cli_record_rows_end(r);
    fprintf(stderr, "qaxdb: out of memory\n");
    return CLI_EXIT_FAILURE;
  }
  if (first) {
    r->names[0] = "table";
    r->kinds[0] = QX_SQL_VALUE_TEXT;
    r->cells[0] = table->name;
  }
  for (uint32_t c = 0; c < table->column_count; c++) {
    r->names[first + c] = table->columns[c].name;
    r->kinds[first + c] = column_kind(&table->columns[c]);
  }
  r->names[n - 2] = "lsn";
  r->kinds[n - 2] = QX_SQL_VALUE_NUMBER;
  r->names[n - 1] = "date";
  r->kinds[n - 1] = QX_SQL_VALUE_TEXT;
  if (format == CLI_FORMAT_CSV) cli_print_csv_row(r->names, n);
  *out = r;
  return CLI_EXIT_OK;
}

/* The cells of record: SQL's text of each column it has, NULL for those it lacks. */
static void fill_cells(cli_record_rows *r, const void *record, uint32_t present, uint64_t lsn) {
  for (uint32_t c = 0; c < r->table->column_count; c++) {
    const qx_column *col = &r->table->columns[c];
    uint32_t cell = r->first + c;
    r->cells[cell] = c < present ? r->text[cell] : NULL;
    if (c >= present) continue;
    if (col->type == QX_COL_TIMESTAMP) {
      int64_t ns;
      memcpy(&ns, (const uint8_t *)record + col->offset, sizeof ns);
      qx_value_text_timestamp_ns(ns, r->text[cell], CELL_MAX);
    } else {
      qx_format_column(col, record, r->text[cell], CELL_MAX);
    }
  }
  uint32_t lsn_cell = r->columns - 2, date_cell = r->columns - 1;
  snprintf(r->text[lsn_cell], CELL_MAX, "%" PRIu64, lsn);
  qx_format_day(qx_record_trading_day(r->table, r->time_column, record, 0), r->text[date_cell]);
  r->cells[lsn_cell] = r->text[lsn_cell];
  r->cells[date_cell] = r->text[date_cell];
}

void cli_record_rows_print(cli_record_rows *r, const void *record, size_t size, uint64_t lsn) {
  if (r->format == CLI_FORMAT_TABLE) {
    printf("lsn=%" PRIu64 " ", lsn);
    if (!cli_print_fields(r->table, record, size))
      printf("(%zu bytes, not a %s record)", size, r->table->name);
    putchar('\n');
    return;
  }
  unsigned version = size <= UINT32_MAX ? qx_schema_version_of_size(r->table, (uint32_t)size) : 0;
  if (!version) {
    fprintf(stderr, "qaxdb: LSN %" PRIu64 ": %zu bytes, not a %s record\n", lsn, size,
            r->table->name);
    return;
  }
  fill_cells(r, record, qx_schema_column_count(r->table, version), lsn);
  if (r->format == CLI_FORMAT_CSV)
    cli_print_csv_row(r->cells, r->columns);
  else
    cli_print_json_row(r->names, r->kinds, r->cells, r->columns);
}

void cli_record_rows_end(cli_record_rows *r) {
  if (!r) return;
  free(r->names);
  free(r->kinds);
  free(r->cells);
  free(r->text);
  free(r);
}
