/* qaxdb sql: runs SQL over a data folder's whole history and prints each statement's result as
 * an aligned table, CSV or JSON lines; with no query, the shell of sql_shell.c. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "source.h"
#include "sql_shell.h"

static int print_result(qx_sql_result *r, void *ctx) {
  cli_print_result(r, *(const cli_format *)ctx);
  qx_sql_result_destroy(r);
  fflush(stdout);
  return QX_OK;
}

static double seconds_since(const struct timespec *start) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

int cli_sql_run(qx_sql *sql, const char *text, cli_format format, int timer) {
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  cli_sigint_take(); /* a Ctrl-C from before this query is not meant for it */
  int rc = qx_sql_query_each(sql, text, print_result, &format);
  if (rc != QX_OK && cli_sigint_take())
    fprintf(stderr, "qaxdb sql: query cancelled (Ctrl-C): %s\n", qx_last_error());
  else if (rc != QX_OK)
    fprintf(stderr, "%s\n", qx_last_error());
  if (timer) printf("Run Time (s): real %.3f\n", seconds_since(&start));
  fflush(stdout);
  return rc == QX_OK ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}

static int usage(void) {
  printf("usage: qaxdb sql [--data DIR] [--csv | --json] [QUERY]\n\n"
         "Runs read-only SQL over every committed record: the tables orders, trades, accounts,\n"
         "positions, ticks, orderbook_snapshots and klines (current state; <table>_history\n"
         "for every version), instruments, and the predefined queries ohlcv(), vwap(),\n"
         "spread(), account_daily(), position_pnl() and account_pnl(); one record by its\n"
         "key with <table>_by_key(...), e.g. trades_by_key(42). QUERY may hold several\n"
         "statements separated by ';': each result is printed, as an aligned table, CSV\n"
         "(--csv) or one JSON object per row (--json). Without QUERY, a shell reads statements\n"
         "(ending in ';') and dot-commands (.help lists them) from the terminal with line\n"
         "editing and history, or from a pipe. Ctrl-C cancels the running query. Exits 1 if a\n"
         "statement failed (in the shell: only when reading from a pipe). When qaxdbd serves\n"
         "the folder, QUERY runs on the server (see docs/server.md). See docs/sql.md.\n");
  return CLI_EXIT_OK;
}

typedef struct sql_args {
  const char *data, *query;
  cli_format format;
} sql_args;

static int parse_args(int argc, char **argv, sql_args *a) {
  for (int i = 1; i < argc; i++) {
    if (cli_is_help(argv[i])) return usage() - 1;
    int f = cli_flag_value(argc, argv, &i, "--data", &a->data);
    if (f < 0) return CLI_EXIT_USAGE;
    if (f > 0 || cli_format_flag(argv[i], &a->format)) continue;
    if (argv[i][0] == '-' && argv[i][1] == '-')
      return cli_usage_error("sql", "unknown option '%s'", argv[i]);
    if (a->query)
      return cli_usage_error("sql", "more than one query; quote the SQL as one argument");
    a->query = argv[i];
  }
  return CLI_EXIT_OK;
}

/* The server's SQL engine runs the query; the shell is psql's there. */
static int run_on_server(PGconn *server, const sql_args *a) {
  if (a->query) return cli_server_sql(server, a->query, a->format);
  fprintf(
      stderr,
      "qaxdb sql: qaxdbd serves this folder: for a shell, connect to it with psql -h %s -p %s\n",
      PQhost(server), PQport(server));
  return CLI_EXIT_FAILURE;
}

/* Runs the query or the shell with Ctrl-C cancelling queries. */
static int run(qx_sql *sql, const sql_args *a) {
  if (cli_sigint_start(sql) != 0) return CLI_EXIT_FAILURE;
  int result = a->query ? cli_sql_run(sql, a->query, a->format, 0) : cli_sql_shell(sql, a->format);
  cli_sigint_stop();
  return result;
}

/* The folder's own SQL engine runs the query or the shell. */
static int run_here(qx_db *db, const sql_args *a) {
  qx_sql *sql;
  int rc = qx_sql_open(db, NULL, &sql);
  if (rc != QX_OK) return cli_fail("sql", "starting the SQL engine", rc);
  int result = run(sql, a);
  qx_sql_close(sql);
  return result;
}

int cmd_sql(int argc, char **argv) {
  sql_args a = {CLI_DEFAULT_DATA, NULL, CLI_FORMAT_TABLE};
  int result = parse_args(argc, argv, &a);
  if (result != CLI_EXIT_OK) return result < 0 ? CLI_EXIT_OK : result;
  if (cli_require_data_dir("sql", a.data) != CLI_EXIT_OK) return CLI_EXIT_FAILURE;
  cli_sigint_block(); /* before the engine's and DuckDB's threads start (sql_interrupt.c) */
  cli_source src;
  if (cli_source_open("sql", a.data, 1, &src) != CLI_EXIT_OK) return CLI_EXIT_FAILURE;
  result = src.server ? run_on_server(src.server, &a) : run_here(src.db, &a);
  int closed = cli_source_close("sql", &src);
  return result == CLI_EXIT_OK ? closed : result;
}
