/* qaxdb snapshot: writes a consistent copy of a data folder at one LSN (qx_db_snapshot) into a
 * new folder, opening the source read-only, so it runs beside readers but not beside a writer
 * (a running qaxdbd takes snapshots itself: `SNAPSHOT TO '/path'`, docs/server.md). */
#include <inttypes.h>
#include <stdio.h>

#include "cli.h"

static int print_help(void) {
  printf("usage: qaxdb snapshot DIR DEST    (or: qaxdb --data DIR snapshot DEST)\n\n"
         "Writes a snapshot of the data folder DIR at one LSN into DEST (which must not exist,\n"
         "or be an empty folder): it opens on its own, and `qaxdb restore DEST NEWDIR` puts it\n"
         "back. Table and Parquet files are hard links when DEST is on the same filesystem\n"
         "(copies otherwise), so copy DEST elsewhere to protect against losing the disk.\n"
         "DIR is opened read-only; while qaxdbd holds it, run `SNAPSHOT TO 'DEST'` through\n"
         "psql instead. See docs/operations.md (backup and restore).\n");
  return CLI_EXIT_OK;
}

/* Positional arguments after the options: up to two folders. */
static int parse(int argc, char **argv, const char **data, const char **dest) {
  const char *folders[2] = {NULL, NULL};
  int count = 0;
  for (int i = 1; i < argc; i++) {
    int f = cli_flag_value(argc, argv, &i, "--data", data);
    if (f < 0) return CLI_EXIT_USAGE;
    if (f == 1) continue;
    if (argv[i][0] == '-' || count == 2)
      return cli_usage_error("snapshot", "unexpected argument '%s'", argv[i]);
    folders[count++] = argv[i];
  }
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
  qx_db_options o;
  qx_db_options_init(&o);
  o.read_only = 1;
  o.olap = 0; /* the snapshot copies the WAL the converter needs; nothing is converted here */
  qx_db *db;
  int rc = qx_db_open(data, &o, &db, NULL);
  if (rc == QX_ERR_LOCKED)
    fprintf(stderr,
            "qaxdb snapshot: a process holds %s; if it is qaxdbd, take the snapshot "
            "through it: psql -c \"SNAPSHOT TO '%s'\"\n",
            data, dest);
  if (rc != QX_OK) return cli_fail("snapshot", "cannot open the database", rc);
  uint64_t lsn = 0;
  rc = qx_db_snapshot(db, dest, &lsn);
  int result = rc == QX_OK ? CLI_EXIT_OK : cli_fail("snapshot", "writing the snapshot", rc);
  if (result == CLI_EXIT_OK) printf("snapshot of %s at LSN %" PRIu64 " in %s\n", data, lsn, dest);
  rc = qx_db_close(db);
  if (rc != QX_OK && result == CLI_EXIT_OK) result = cli_fail("snapshot", "closing", rc);
  return result;
}
