/* qaxdb compact: flushes the MemTable and compacts every level into the deepest one, so that
 * each key is stored once and deleted keys take no space; and writes every record to Parquet
 * and merges each table's Parquet files of a trading day into one. */
#include <stdio.h>

#include "cli.h"
#include "util/clock.h"

int cmd_compact(int argc, char **argv) {
  const char *data = CLI_DEFAULT_DATA;
  for (int i = 1; i < argc; i++) {
    if (cli_is_help(argv[i])) {
      printf("usage: qaxdb compact [--data DIR]\n\nFlushes the MemTable, then compacts every "
             "level into the deepest non-empty one\n(dropping overwritten versions and deleted "
             "keys); writes every record to Parquet and merges\neach table's Parquet files of a "
             "trading day into one; prints the levels after.\n");
      return CLI_EXIT_OK;
    }
    int f = cli_flag_value(argc, argv, &i, "--data", &data);
    if (f < 0) return CLI_EXIT_USAGE;
    if (f == 0) return cli_usage_error("compact", "unexpected argument '%s'", argv[i]);
  }
  if (cli_require_data_dir("compact", data) != CLI_EXIT_OK) return CLI_EXIT_FAILURE;
  qx_db *db;
  if (cli_open_db("compact", data, NULL, &db) != CLI_EXIT_OK) return CLI_EXIT_FAILURE;
  fprintf(stderr, "compact: compacting %s ...\n", data);
  int64_t start = qx_monotonic_ns();
  int rc = qx_db_compact(db);
  if (rc == QX_OK) rc = qx_db_olap_compact(db);
  int result = rc == QX_OK ? CLI_EXIT_OK : cli_fail("compact", "compacting", rc);
  if (result == CLI_EXIT_OK) {
    fprintf(stderr, "compact: done in %.2f s\n", (double)(qx_monotonic_ns() - start) / 1e9);
    cli_print_db_stats(db);
  }
  rc = qx_db_close(db);
  if (rc != QX_OK && result == CLI_EXIT_OK) result = cli_fail("compact", "closing", rc);
  return result;
}
