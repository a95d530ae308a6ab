/* qaxdb version: the qaxdb version and the SQL engine it links. */
#include <stdio.h>

#include "cli.h"
#include "query/engine_info.h"

int cmd_version(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *data;
    if (cli_is_help(argv[i])) {
      printf("usage: qaxdb version [--data DIR]\n\nPrints the qaxdb version and the version of "
             "the linked DuckDB.\n");
      return CLI_EXIT_OK;
    }
    int f = cli_flag_value(argc, argv, &i, "--data", &data);
    if (f < 0) return CLI_EXIT_USAGE;
    if (f == 0) return cli_usage_error("version", "unexpected argument '%s'", argv[i]);
  }
  printf("qaxdb %s (DuckDB %s)\n", QAXDB_VERSION, qx_sql_engine_version());
  return CLI_EXIT_OK;
}
