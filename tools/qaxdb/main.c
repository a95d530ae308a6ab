/* qaxdb: the command-line tool. Dispatches `qaxdb COMMAND [options]` to tools/qaxdb/cmd_*.c. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

const cli_command cli_commands[] = {
    {"simulate", "generate a seeded exchange workload and log it", cmd_simulate},
    {"load", "import a CSV file into a table", cmd_load},
    {"get", "print the current record of a key", cmd_get},
    {"scan", "print the current records of a table in key order", cmd_scan},
    {"stats", "show levels, files, amplification and cache figures", cmd_stats},
    {"compact", "compact every level of the engine now", cmd_compact},
    {"sql", "run SQL over the whole history (or open an SQL shell)", cmd_sql},
    {"wal-dump", "print WAL entries with LSN, table and fields", cmd_wal_dump},
    {"check", "verify every checksum in a data folder (WAL, MANIFEST, tables)", cmd_check},
    {"repair", "rebuild the MANIFEST of a folder open refuses, from its files", cmd_repair},
    {"schema", "list the tables and their columns", cmd_schema},
    {"version", "print the qaxdb and DuckDB versions", cmd_version},
    {NULL, NULL, NULL},
};

static void print_help(FILE *out) {
  fprintf(out, "usage: qaxdb COMMAND [options]\n\n"
               "qaxdb is the system of record for a trading venue.\n\ncommands:\n");
  for (const cli_command *c = cli_commands; c->name; c++)
    fprintf(out, "  %-10s %s\n", c->name, c->summary);
  fprintf(out,
          "\nEvery command takes --help, and --data DIR (default %s) where it reads or "
          "writes data.\n",
          CLI_DEFAULT_DATA);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    print_help(stderr);
    return CLI_EXIT_USAGE;
  }
  if (cli_is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
    print_help(stdout);
    return CLI_EXIT_OK;
  }
  for (const cli_command *c = cli_commands; c->name; c++)
    if (strcmp(argv[1], c->name) == 0) return c->run(argc - 1, argv + 1);
  fprintf(stderr, "qaxdb: unknown command '%s' (see qaxdb --help)\n", argv[1]);
  return CLI_EXIT_USAGE;
}
