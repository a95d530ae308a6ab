/* qaxdb sql: runs SQL over a data folder's whole history and prints the result as an aligned
 * table, CSV or JSON lines; with no query, an interactive shell with line editing and a
 * history file (~/.qaxdb_history). */
#include <editline/readline.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "qaxdb/sql.h"

typedef enum output_format { FORMAT_TABLE, FORMAT_CSV, FORMAT_JSON } output_format;

#define MAX_TABLE_ROWS_WIDTH_SCAN 10000 /* rows measured for column widths */

/* ---- printing ---- */

static size_t display_width(const char *s) {
  size_t w = 0;
  for (; *s; s++)
    w += ((unsigned char)*s & 0xC0) != 0x80; /* count UTF-8 characters, not bytes */
  return w;
}

static void print_padded(const char *s, size_t width, int right) {
  size_t pad = width - display_width(s);
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

static void print_table(qx_sql_result *r) {
  uint32_t cols = qx_sql_result_column_count(r);
  uint64_t rows = qx_sql_result_row_count(r);
  size_t *widths = calloc(cols + 1, sizeof *widths);
  if (!widths) return;
  for (uint32_t c = 0; c < cols; c++) {
    widths[c] = display_width(qx_sql_result_column_name(r, c));
    for (uint64_t i = 0; i < rows && i < MAX_TABLE_ROWS_WIDTH_SCAN; i++) {
      const char *v = qx_sql_result_text(r, i, c);
      size_t w = display_width(v ? v : "NULL");
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
      const char *v = qx_sql_result_text(r, i, c);
      fputs(c ? " | " : "", stdout);
      if (display_width(v ? v : "NULL") > widths[c])
        fputs(v, stdout);
      else
        print_padded(v ? v : "NULL", widths[c], qx_sql_result_column_numeric(r, c));
    }
    putchar('\n');
  }
  printf("(%llu row%s, at LSN %llu%s)\n", (unsigned long long)rows, rows == 1 ? "" : "s",
         (unsigned long long)qx_sql_result_lsn(r), qx_sql_result_cached(r) ? ", cached" : "");
  free(widths);
}

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

static void print_csv(qx_sql_result *r) {
  uint32_t cols = qx_sql_result_column_count(r);
  for (uint32_t c = 0; c < cols; c++) {
    if (c) putchar(',');
    print_csv_field(qx_sql_result_column_name(r, c));
  }
  putchar('\n');
  for (uint64_t i = 0; i < qx_sql_result_row_count(r); i++) {
    for (uint32_t c = 0; c < cols; c++) {
      if (c) putchar(',');
      print_csv_field(qx_sql_result_text(r, i, c));
    }
    putchar('\n');
  }
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

/* DuckDB prints non-finite doubles as inf/nan, which JSON has no number for. */
static int is_finite_number(const char *v) {
  return strcmp(v, "inf") != 0 && strcmp(v, "-inf") != 0 && strcmp(v, "nan") != 0;
}

/* One JSON object per row; numbers stay numbers (exact text), everything else a string. */
static void print_json(qx_sql_result *r) {
  uint32_t cols = qx_sql_result_column_count(r);
  for (uint64_t i = 0; i < qx_sql_result_row_count(r); i++) {
    putchar('{');
    for (uint32_t c = 0; c < cols; c++) {
      const char *v = qx_sql_result_text(r, i, c);
      if (c) putchar(',');
      print_json_string(qx_sql_result_column_name(r, c));
      putchar(':');
      if (!v)
        fputs("null", stdout);
      else if (qx_sql_result_column_numeric(r, c) && is_finite_number(v))
        fputs(v, stdout);
      else
        print_json_string(v);
    }
    puts("}");
  }
}

/* ---- running ---- */

static int run_query(qx_sql *sql, const char *text, output_format format) {
  qx_sql_result *r;
  int rc = qx_sql_query(sql, text, &r);
  if (rc != QX_OK) {
    fprintf(stderr, "%s\n", qx_last_error());
    return CLI_EXIT_FAILURE;
  }
  if (format == FORMAT_CSV)
    print_csv(r);
  else if (format == FORMAT_JSON)
    print_json(r);
  else
    print_table(r);
  qx_sql_result_destroy(r);
  fflush(stdout);
  return CLI_EXIT_OK;
}

static void history_path(char *out, size_t cap) {
  const char *home = getenv("HOME");
  snprintf(out, cap, "%s/.qaxdb_history", home && *home ? home : ".");
}

/* Reads statements (ending with ';') and runs each; .quit or end of input leaves. */
static int shell(qx_sql *sql, output_format format) {
  char hist[PATH_MAX];
  history_path(hist, sizeof hist);
  using_history();
  read_history(hist);
  int interactive = isatty(STDIN_FILENO);
  if (interactive)
    printf("qaxdb SQL shell: end statements with ';', .quit to leave, .tables to list tables\n");
  char *pending = NULL;
  int failures = 0;
  for (;;) {
    char *line = readline(interactive ? (pending ? "   ...> " : "qaxdb> ") : "");
    if (!line) break;
    if (!pending && (strcmp(line, ".quit") == 0 || strcmp(line, ".exit") == 0)) {
      free(line);
      break;
    }
    if (!pending && strcmp(line, ".tables") == 0) {
      free(line);
      failures += run_query(sql, "SHOW TABLES", format) != CLI_EXIT_OK;
      continue;
    }
    size_t old = pending ? strlen(pending) : 0;
    char *joined = realloc(pending, old + strlen(line) + 2);
    if (!joined) {
      free(line);
      break;
    }
    if (old) joined[old++] = '\n';
    memcpy(joined + old, line, strlen(line) + 1);
    free(line);
    pending = joined;
    if (!strchr(pending, ';')) continue;
    add_history(pending);
    failures += run_query(sql, pending, format) != CLI_EXIT_OK;
    free(pending);
    pending = NULL;
  }
  free(pending);
  if (interactive) write_history(hist);
  return failures ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
}

static int usage(void) {
  printf("usage: qaxdb sql [--data DIR] [--csv | --json] [QUERY]\n\n"
         "Runs read-only SQL over every committed record: the tables orders, trades, accounts,\n"
         "positions, ticks, orderbook_snapshots and klines (current state; <table>_history\n"
         "for every version), instruments, and the predefined queries ohlcv(), vwap(),\n"
         "spread(), account_daily(), position_pnl() and account_pnl(); one record by its\n"
         "key with <table>_by_key(...), e.g. trades_by_key(42). Prints an aligned\n"
         "table, CSV (--csv) or one JSON object per row (--json). Without QUERY, reads\n"
         "statements ending in ';' from a shell with history. See docs/sql.md.\n");
  return CLI_EXIT_OK;
}

int cmd_sql(int argc, char **argv) {
  const char *data = CLI_DEFAULT_DATA, *query = NULL;
  output_format format = FORMAT_TABLE;
  for (int i = 1; i < argc; i++) {
    if (cli_is_help(argv[i])) return usage();
    int f = cli_flag_value(argc, argv, &i, "--data", &data);
    if (f < 0) return CLI_EXIT_USAGE;
    if (f > 0) continue;
    if (strcmp(argv[i], "--csv") == 0)
      format = FORMAT_CSV;
    else if (strcmp(argv[i], "--json") == 0)
      format = FORMAT_JSON;
    else if (argv[i][0] == '-' && argv[i][1] == '-')
      return cli_usage_error("sql", "unknown option '%s'", argv[i]);
    else if (!query)
      query = argv[i];
    else
      return cli_usage_error("sql", "more than one query; quote the SQL as one argument");
  }
  if (cli_require_data_dir("sql", data) != CLI_EXIT_OK) return CLI_EXIT_FAILURE;
  qx_db *db;
  if (cli_open_db_to_read("sql", data, 1, &db) != CLI_EXIT_OK) return CLI_EXIT_FAILURE;
  qx_sql *sql;
  int rc = qx_sql_open(db, NULL, &sql);
  int result = rc == QX_OK ? CLI_EXIT_OK : cli_fail("sql", "starting the SQL engine", rc);
  if (result == CLI_EXIT_OK) {
    result = query ? run_query(sql, query, format) : shell(sql, format);
    qx_sql_close(sql);
  }
  rc = qx_db_close(db);
  if (rc != QX_OK && result == CLI_EXIT_OK) result = cli_fail("sql", "closing", rc);
  return result;
}
