/* qaxdb snapshot: writes a consistent copy of a data folder at one LSN (qx_db_snapshot) into a
 * new folder, opening the source read-only, so it runs beside readers; while qaxdbd holds the
 * folder, the server takes it (`SNAPSHOT TO '/path'`, docs/server.md). */
#include <inttypes.h>
#include <stdio.h>

#include "cli.h"
#include "source.h"

static int print_help(void) {
  printf("usage: qaxdb snapshot DIR DEST    (or: qaxdb --data DIR snapshot DEST)\n\n"
         "Writes a snapshot of the data folder DIR at one LSN into DEST (which must not exist,\n"
         "or be an empty folder): it opens on its own, and `qaxdb restore DEST NEWDIR` puts it\n"
         "back. Table and Parquet files are hard links when DEST is on the same filesystem\n"
         "(copies otherwise), so copy DEST elsewhere to protect against losing the disk.\n"
         "DIR is opened read-only; while qaxdbd holds it, the server takes the snapshot\n"
         "(DEST is then a path on the server's host). See docs/operations.md (backup and\n"
         "restore).\n");
  return CLI_EXIT_OK;
}

static int parse(int argc, char **argv, const char **data, const char **dest) {
  const char *folders[2] = {NULL, NULL};
  int count, data_given;
  int rc = cli_folder_args("snapshot", argc, argv, data, &data_given, folders, &count);
  if (rc != CLI_EXIT_OK) return rc;
  if (count == 0) return cli_usage_error("snapshot", "missing the destination folder DEST");
  if (count == 2) *data = folders[0];
  *dest = folders[count - 1];
  return CLI_EXIT_OK;
}

int cmd_snapshot(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (cli_is_help(argv[i])) return print_help();
  const char *data = CLI_DEFAULT_DATA, *dest = NULL;
  int usage = parse(argc, argv, &data, &dest);
  if (usage != CLI_EXIT_OK) return usage;
  if (cli_require_data_dir("snapshot", data) != CLI_EXIT_OK) return CLI_EXIT_FAILURE;
  cli_source src;
  if (cli_source_open("snapshot", data, 0, &src) != CLI_EXIT_OK) return CLI_EXIT_FAILURE;
  uint64_t lsn = 0;
  int rc = cli_source_snapshot(&src, dest, &lsn);
  int result = rc == QX_OK ? CLI_EXIT_OK : cli_fail("snapshot", "writing the snapshot", rc);
  if (result == CLI_EXIT_OK)
    printf("snapshot of %s at LSN %" PRIu64 " in %s%s\n", data, lsn, dest,
           src.server ? " (taken by the qaxdbd serving it)" : "");
  int closed = cli_source_close("snapshot", &src);
  return result == CLI_EXIT_OK ? closed : result;
}
