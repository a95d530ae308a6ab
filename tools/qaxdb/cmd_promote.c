/* qaxdb promote: makes the replica that serves a data folder the primary, in a new epoch, for
 * clusters without etcd (with etcd, the nodes elect the primary themselves). It asks the qaxdbd
 * holding the folder (`QAXDB PROMOTE`, docs/replication.md). */
#include <libpq-fe.h>
#include <stdio.h>

#include "cli.h"
#include "source.h"

int cmd_promote(int argc, char **argv) {
  const char *data = CLI_DEFAULT_DATA;
  for (int i = 1; i < argc; i++) {
    if (cli_is_help(argv[i])) {
      printf("usage: qaxdb promote [--data DIR]\n\nMakes the replica qaxdbd serving DIR the "
             "primary, in the next epoch, at the last\nLSN it applied: for clusters without "
             "etcd, after the primary is lost. Point the\nother replicas at it (qaxdbd "
             "--primary) and make sure the old primary stays down:\nit is fenced only by "
             "replicas refusing its older epoch. See docs/replication.md.\n");
      return CLI_EXIT_OK;
    }
    int f = cli_flag_value(argc, argv, &i, "--data", &data);
    if (f < 0) return CLI_EXIT_USAGE;
    if (f == 0) return cli_usage_error("promote", "unexpected argument '%s'", argv[i]);
  }
  if (cli_require_data_dir("promote", data) != CLI_EXIT_OK) return CLI_EXIT_FAILURE;
  cli_source src;
  if (cli_source_open("promote", data, 0, &src) != CLI_EXIT_OK) return CLI_EXIT_FAILURE;
  int result = CLI_EXIT_OK;
  if (!src.server) {
    fprintf(stderr, "qaxdb promote: no qaxdbd serves %s: promote asks a running replica\n", data);
    result = CLI_EXIT_FAILURE;
  } else {
    PGresult *r = PQexec(src.server, "QAXDB PROMOTE");
    if (PQresultStatus(r) == PGRES_COMMAND_OK) {
      printf("promoted: ");
      fflush(stdout);
      result = cli_server_sql(src.server, "QAXDB REPLICATION", CLI_FORMAT_LINE);
    } else {
      fprintf(stderr, "qaxdb promote: %s", PQresultErrorMessage(r));
      result = CLI_EXIT_FAILURE;
    }
    PQclear(r);
  }
  int closed = cli_source_close("promote", &src);
  return result == CLI_EXIT_OK ? closed : result;
}
