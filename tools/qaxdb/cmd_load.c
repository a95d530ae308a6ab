/* qaxdb load: imports a CSV file into a table through the WAL and says exactly how many rows
 * were durably written, also when a bad line stops the import. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "csv/csv_import.h"
#include "qaxdb/schema.h"

static int usage(void) {
  printf("usage: qaxdb load TABLE FILE.csv [--data DIR]\n\n"
         "Imports FILE.csv into TABLE. The first line names the columns (any subset of the\n"
         "table's, any order; see qaxdb schema TABLE); columns left out and empty fields take\n"
         "their defaults (0, empty, first enum value). Values: decimals as text (3850.25),\n"
         "timestamps as ISO-8601 UTC (2026-11-24T09:30:00.5Z) or integer nanoseconds, enums\n"
         "by name (buy, sell, open, close, ...). The columns lsn and date, which the SQL views\n"
         "add, are skipped: the output of qaxdb sql --csv \"SELECT * FROM TABLE\" loads as it is.\n"
         "The first bad line stops the import with its line number and column; the rows before\n"
         "it are kept and made durable. See docs/csv.md.\n");
  return CLI_EXIT_OK;
}

static void print_written(const qx_schema *table, const csv_import_result *r, FILE *out) {
  if (r->rows == 0)
    fprintf(out, "0 rows written to %s\n", table->name);
  else
    fprintf(out, "%" PRIu64 " rows durably written to %s (LSN %" PRIu64 "..%" PRIu64 ")\n", r->rows,
            table->name, r->first_lsn, r->last_lsn);
}

int cmd_load(int argc, char **argv) {
  const char *data = CLI_DEFAULT_DATA;
  const char *positional[2] = {NULL, NULL};
  int count = 0;
  for (int i = 1; i < argc; i++) {
    if (cli_is_help(argv[i])) return usage();
    int f = cli_flag_value(argc, argv, &i, "--data", &data);
    if (f < 0) return CLI_EXIT_USAGE;
    if (f > 0) continue;
    if (argv[i][0] == '-' || count == 2)
      return cli_usage_error("load", "unexpected argument '%s'", argv[i]);
    positional[count++] = argv[i];
  }
  if (count < 2) return cli_usage_error("load", "needs a TABLE and a FILE.csv");
  const qx_schema *table = cli_table("load", positional[0]);
  if (!table) return CLI_EXIT_USAGE;

  qx_db *db;
  if (cli_open_db("load", data, NULL, &db) != CLI_EXIT_OK) return CLI_EXIT_FAILURE;
  csv_import_result result;
  int rc = qx_csv_import(db, table, positional[1], &result);
  if (result.skipped[0])
    fprintf(stderr, "qaxdb load: skipped the columns %s, which the SQL views derive\n",
            result.skipped);
  if (rc != QX_OK) fprintf(stderr, "qaxdb load: %s\n", qx_last_error());
  int close_rc = qx_db_close(db);
  if (close_rc != QX_OK && rc == QX_OK) rc = cli_fail("load", "closing the database", close_rc);
  print_written(table, &result, rc == QX_OK ? stdout : stderr);
  return rc == QX_OK ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}
