/* qaxdb restore: checks a snapshot (qaxdb snapshot, qaxdbd's periodic ones, SNAPSHOT TO) and
 * puts a copy of it in place as a new data folder (qx_db_restore); never overwrites data. */
#include <inttypes.h>
#include <stdio.h>

#include "cli.h"

static int print_help(void) {
  printf("usage: qaxdb restore SNAPSHOT DIR    (or: qaxdb --data DIR restore SNAPSHOT)\n\n"
         "Checks every checksum of the snapshot SNAPSHOT (MANIFEST, table files, WAL) and the\n"
         "size of each Parquet file, then puts a copy of it at DIR, which must not exist or be\n"
         "an empty folder: restore never overwrites data. A damaged snapshot is refused, naming\n"
         "the file and offset, and nothing is written. Table and Parquet files are hard links\n"
         "on the same filesystem. Open DIR (qaxdbd --data DIR, or any qaxdb command) as usual.\n");
  return CLI_EXIT_OK;
}

static int parse(int argc, char **argv, const char **snapshot, const char **data) {
  const char *folders[2] = {NULL, NULL};
  int count, data_given;
  int rc = cli_folder_args("restore", argc, argv, data, &data_given, folders, &count);
  if (rc != CLI_EXIT_OK) return rc;
  if (count == 0) return cli_usage_error("restore", "missing the snapshot folder SNAPSHOT");
  if (count == 1 && !data_given)
    return cli_usage_error("restore", "missing the folder DIR to restore into");
  *snapshot = folders[0];
  if (count == 2) *data = folders[1];
  return CLI_EXIT_OK;
}

int cmd_restore(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (cli_is_help(argv[i])) return print_help();
  const char *snapshot = NULL, *data = NULL;
  int usage = parse(argc, argv, &snapshot, &data);
  if (usage != CLI_EXIT_OK) return usage;
  uint64_t lsn = 0;
  int rc = qx_db_restore(snapshot, data, &lsn);
  if (rc != QX_OK) return cli_fail("restore", "restoring", rc);
  printf("restored %s (LSN %" PRIu64 ") into %s\n", snapshot, lsn, data);
  return CLI_EXIT_OK;
}
