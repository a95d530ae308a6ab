/* Records of a table printed by get and scan: the "lsn=N name=value ..." line, or rows in the
 * CSV and JSON formats of qaxdb sql with the columns and text of `SELECT * FROM <table>`: every
 * column of the table's current version (NULL where an older record lacks it), then lsn and
 * date (the trading day), timestamps as "2026-11-24 09:30:00.5". */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "query/record_cells.h"

struct cli_record_rows {
  const qx_schema *table;
  cli_format format;
  uint32_t first;   /* 1 with a leading "table" column, else 0 */
  uint32_t columns; /* [table], then the columns of SELECT * FROM table */
  const char **names;
  qx_sql_value_kind *kinds;
  const char **cells; /* point into text, or NULL */
  char (*text)[QX_RECORD_CELL_MAX];
};

int cli_record_rows_start(const qx_schema *table, cli_format format, int with_table,
                          cli_record_rows **out) {
  cli_record_rows *r = calloc(1, sizeof *r);
  uint32_t first = with_table ? 1 : 0, n = first + qx_record_sql_column_count(table);
  if (r) {
    *r = (cli_record_rows){table,
                           format,
                           first,
                           n,
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
  qx_record_sql_columns(table, r->names + first, r->kinds + first, NULL);
  if (format == CLI_FORMAT_CSV) cli_print_csv_row(r->names, n);
  *out = r;
  return CLI_EXIT_OK;
}

void cli_record_rows_print(cli_record_rows *r, const void *record, size_t size, uint64_t lsn) {
  if (r->format == CLI_FORMAT_TABLE) {
    printf("lsn=%" PRIu64 " ", lsn);
    if (!cli_print_fields(r->table, record, size))
      printf("(%zu bytes, not a %s record)", size, r->table->name);
    putchar('\n');
    return;
  }
  if (!qx_record_sql_cells(r->table, record, size, lsn, r->text + r->first, r->cells + r->first)) {
    fprintf(stderr, "qaxdb: LSN %" PRIu64 ": %zu bytes, not a %s record\n", lsn, size,
            r->table->name);
    return;
  }
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
