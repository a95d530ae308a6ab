/* Rows as text in the output formats of qaxdb sql, get and scan: an aligned table, CSV (RFC
 * 4180: quoted when needed, NULL as an empty field), JSON lines (one object per row, each value
 * typed by its qx_sql_value_kind) and line mode (one "name = value" line per column, a blank
 * line between rows). Everything goes to stdout. */
#ifndef QX_TOOLS_OUTPUT_H
#define QX_TOOLS_OUTPUT_H

#include <stdint.h>

#include "qaxdb/sql.h"

typedef enum cli_format {
  CLI_FORMAT_TABLE,
  CLI_FORMAT_CSV,
  CLI_FORMAT_JSON,
  CLI_FORMAT_LINE,
} cli_format;

/* The format called name ("table", "csv", "json", "line"); 0 if there is none. */
int cli_format_by_name(const char *name, cli_format *out);
const char *cli_format_name(cli_format format);

/* 1 if arg is --csv or --json (the format flags every printing command takes), setting it. */
int cli_format_flag(const char *arg, cli_format *format);

/* One row of n cells (NULL cells are SQL NULL). */
void cli_print_csv_row(const char *const *cells, uint32_t n);
void cli_print_json_row(const char *const *names, const qx_sql_value_kind *kinds,
                        const char *const *cells, uint32_t n);

/* A query result in format; table and line mode end with "(N rows, at LSN X)". */
void cli_print_result(qx_sql_result *r, cli_format format);

#endif
