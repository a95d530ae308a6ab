/* qaxdb: the command-line tool. Dispatches `qaxdb [--data DIR] COMMAND [options]` to
 * tools/qaxdb/cmd_*.c; --data before the command is handed to it, and --version and --help
 * stand alone. */
#include <stdio.h>
#include <stdlib.h>
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
    {"tail", "follow the log while another process writes it, like tail -f", cmd_tail},
    {"subscribers", "list named subscriber cursors and their lag", cmd_subscribers},
    {"check", "verify every checksum in a data folder (WAL, MANIFEST, tables)", cmd_check},
    {"repair", "rebuild the MANIFEST of a folder open refuses, from its files", cmd_repair},
    {"snapshot", "write a consistent copy of a data folder at one LSN", cmd_snapshot},
    {"restore", "check a snapshot and put a copy of it in place as a data folder", cmd_restore},
    {"promote", "make the replica serving a data folder the primary", cmd_promote},
    {"schema", "list the tables and their columns", cmd_schema},
    {"version", "print the qaxdb and DuckDB versions", cmd_version},
    {NULL, NULL, NULL},
};

static void print_help(FILE *out) {
  fprintf(out, "usage: qaxdb [--data DIR] COMMAND [options]\n"
               "       qaxdb --version\n\n"
               "qaxdb is the system of record for a trading venue.\n\ncommands:\n");
  for (const cli_command *c = cli_commands; c->name; c++)
    fprintf(out, "  %-12s %s\n", c->name, c->summary);
  fprintf(out,
          "\nEvery command takes --help, and --data DIR (default %s) where it reads or "
          "writes data,\nbefore or after the command's name.\n",
          CLI_DEFAULT_DATA);
}

static const cli_command *command_named(const char *name) {
  for (const cli_command *c = cli_commands; c->name; c++)
    if (strcmp(name, c->name) == 0) return c;
  return NULL;
}

/* Runs command with --data DIR (a global option) put in front of its own arguments, where an
 * option of its own after it still wins. */
static int run_with_data(const cli_command *command, const char *data, int argc, char **argv) {
  char **args = calloc((size_t)argc + 3, sizeof *args);
  if (!args) {
    fprintf(stderr, "qaxdb: out of memory\n");
    return CLI_EXIT_FAILURE;
  }
  int n = 0;
  args[n++] = argv[0];
  args[n++] = "--data";
  args[n++] = (char *)data;
  for (int i = 1; i < argc; i++)
    args[n++] = argv[i];
  int rc = command->run(n, args);
  free(args);
  return rc;
}

int main(int argc, char **argv) {
  const char *data = NULL;
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) { /* global options, before the command */
    if (cli_is_help(argv[i])) {
      print_help(stdout);
      return CLI_EXIT_OK;
    }
    if (strcmp(argv[i], "--version") == 0) return cmd_version(1, argv + i);
    int f = cli_flag_value(argc, argv, &i, "--data", &data);
    if (f < 0) return CLI_EXIT_USAGE;
    if (f == 0) {
      fprintf(stderr, "qaxdb: unknown option '%s' before the command (see qaxdb --help)\n",
              argv[i]);
      return CLI_EXIT_USAGE;
    }
  }
  if (i == argc) {
    print_help(stderr);
    return CLI_EXIT_USAGE;
  }
  if (strcmp(argv[i], "help") == 0) {
    print_help(stdout);
    return CLI_EXIT_OK;
  }
  const cli_command *command = command_named(argv[i]);
  if (!command) {
    fprintf(stderr, "qaxdb: unknown command '%s' (see qaxdb --help)\n", argv[i]);
    return CLI_EXIT_USAGE;
  }
  return data ? run_with_data(command, data, argc - i, argv + i) : command->run(argc - i, argv + i);
}
