/* The output formats of qaxdb sql, get and scan (see output.h). */
#include "output.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TABLE_ROWS_WIDTH_SCAN 10000 /* rows measured for column widths */

static const char *const format_names[] = {"table", "csv", "json", "line"};

int cli_format_by_name(const char *name, cli_format *out) {
  for (size_t i = 0; i < sizeof format_names / sizeof *format_names; i++)
    if (strcmp(name, format_names[i]) == 0) {
      *out = (cli_format)i;
      return 1;
    }
  return 0;
}

const char *cli_format_name(cli_format format) {
  return format_names[format];
}

int cli_format_flag(const char *arg, cli_format *format) {
  if (strncmp(arg, "--", 2) != 0 || (strcmp(arg + 2, "csv") != 0 && strcmp(arg + 2, "json") != 0))
    return 0;
  return cli_format_by_name(arg + 2, format);
}

/* ---- CSV and JSON ---- */

static void print_csv_field(const char *v) {
  if (!v) return;
  if (!strpbrk(v, ",\"\n\r")) {
    fputs(v, stdout);
    return;
  }
  putchar('"');
  for (; *v; v++) {
    if (*v == '"') putchar('"');
    putchar(*v);
  }
  putchar('"');
}

void cli_print_csv_row(const char *const *cells, uint32_t n) {
  for (uint32_t c = 0; c < n; c++) {
    if (c) putchar(',');
    print_csv_field(cells[c]);
  }
  putchar('\n');
}

static void print_json_string(const char *s) {
  putchar('"');
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\')
      printf("\\%c", ch);
    else if (ch < 0x20)
      printf("\\u%04x", ch);
    else
      putchar(ch);
  }
  putchar('"');
}

/* A cell as a JSON value: numbers (exact text), booleans and JSON bare; JSON has no number for
 * a float's nan or inf, which stay strings, as does all other text. */
static void print_json_value(const char *v, qx_sql_value_kind kind) {
  int bare = kind == QX_SQL_VALUE_JSON || kind == QX_SQL_VALUE_BOOLEAN ||
             (kind == QX_SQL_VALUE_NUMBER && strcmp(v, "inf") != 0 && strcmp(v, "-inf") != 0 &&
              strcmp(v, "nan") != 0);
  if (bare)
    fputs(v, stdout);
  else
    print_json_string(v);
}

void cli_print_json_row(const char *const *names, const qx_sql_value_kind *kinds,
                        const char *const *cells, uint32_t n) {
  putchar('{');
  for (uint32_t c = 0; c < n; c++) {
    if (c) putchar(',');
    print_json_string(names[c]);
    putchar(':');
    if (cells[c])
      print_json_value(cells[c], kinds[c]);
    else
      fputs("null", stdout);
  }
  puts("}");
}

/* ---- query results ---- */

static size_t display_width(const char *s) {
  size_t w = 0;
  for (; *s; s++)
    w += ((unsigned char)*s & 0xC0) != 0x80; /* count UTF-8 characters, not bytes */
  return w;
}

static void print_padded(const char *s, size_t width, int right) {
  size_t w = display_width(s), pad = w < width ? width - w : 0;
  if (right) printf("%*s", (int)pad, "");
  fputs(s, stdout);
  if (!right) printf("%*s", (int)pad, "");
}

static void print_rule(const size_t *widths, uint32_t cols) {
  for (uint32_t c = 0; c < cols; c++) {
    fputs(c ? "-+-" : "", stdout);
    for (size_t i = 0; i < widths[c]; i++)
      putchar('-');
  }
  putchar('\n');
}

static void print_footer(qx_sql_result *r) {
  uint64_t rows = qx_sql_result_row_count(r);
  printf("(%llu row%s, at LSN %llu%s)\n", (unsigned long long)rows, rows == 1 ? "" : "s",
         (unsigned long long)qx_sql_result_lsn(r), qx_sql_result_cached(r) ? ", cached" : "");
}

static const char *shown(const char *v) {
  return v ? v : "NULL";
}

static void print_table(qx_sql_result *r) {
  uint32_t cols = qx_sql_result_column_count(r);
  uint64_t rows = qx_sql_result_row_count(r);
  size_t *widths = calloc(cols + 1, sizeof *widths);
  if (!widths) return;
  for (uint32_t c = 0; c < cols; c++) {
    widths[c] = display_width(qx_sql_result_column_name(r, c));
    for (uint64_t i = 0; i < rows && i < MAX_TABLE_ROWS_WIDTH_SCAN; i++) {
      size_t w = display_width(shown(qx_sql_result_text(r, i, c)));
      if (w > widths[c]) widths[c] = w;
    }
  }
  for (uint32_t c = 0; c < cols; c++) {
    fputs(c ? " | " : "", stdout);
    print_padded(qx_sql_result_column_name(r, c), widths[c], 0);
  }
  putchar('\n');
  print_rule(widths, cols);
  for (uint64_t i = 0; i < rows; i++) {
    for (uint32_t c = 0; c < cols; c++) {
      fputs(c ? " | " : "", stdout);
      print_padded(shown(qx_sql_result_text(r, i, c)), widths[c],
                   qx_sql_result_column_numeric(r, c));
    }
    putchar('\n');
  }
  print_footer(r);
  free(widths);
}

static void print_lines(qx_sql_result *r) {
  uint32_t cols = qx_sql_result_column_count(r);
  size_t width = 0;
  for (uint32_t c = 0; c < cols; c++) {
    size_t w = display_width(qx_sql_result_column_name(r, c));
    if (w > width) width = w;
  }
  for (uint64_t i = 0; i < qx_sql_result_row_count(r); i++) {
    if (i) putchar('\n');
    for (uint32_t c = 0; c < cols; c++) {
      print_padded(qx_sql_result_column_name(r, c), width, 1);
      printf(" = %s\n", shown(qx_sql_result_text(r, i, c)));
    }
  }
  print_footer(r);
}

/* CSV (a header, then the rows) or JSON lines, a row of cells at a time. */
static void print_rows(qx_sql_result *r, cli_format format) {
  uint32_t cols = qx_sql_result_column_count(r);
  const char **names = calloc(cols + 1, sizeof *names);
  const char **cells = calloc(cols + 1, sizeof *cells);
  qx_sql_value_kind *kinds = calloc(cols + 1, sizeof *kinds);
  if (names && cells && kinds) {
    for (uint32_t c = 0; c < cols; c++) {
      names[c] = qx_sql_result_column_name(r, c);
      kinds[c] = qx_sql_result_column_kind(r, c);
    }
    if (format == CLI_FORMAT_CSV) cli_print_csv_row(names, cols);
    for (uint64_t i = 0; i < qx_sql_result_row_count(r); i++) {
      for (uint32_t c = 0; c < cols; c++)
        cells[c] = qx_sql_result_text(r, i, c);
      if (format == CLI_FORMAT_CSV)
        cli_print_csv_row(cells, cols);
      else
        cli_print_json_row(names, kinds, cells, cols);
    }
  }
  free(names);
  free(cells);
  free(kinds);
}

void cli_print_result(qx_sql_result *r, cli_format format) {
  if (format == CLI_FORMAT_TABLE)
    print_table(r);
  else if (format == CLI_FORMAT_LINE)
    print_lines(r);
  else
    print_rows(r, format);
}
