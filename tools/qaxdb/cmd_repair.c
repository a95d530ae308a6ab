/* qaxdb repair: rebuilds a data folder's MANIFEST from its files when open refuses the folder
 * (CURRENT missing, MANIFEST damaged), keeping every readable file and saying what it moved
 * aside or could not keep. */
#include <inttypes.h>
#include <stdio.h>

#include "cli.h"

static void print_note(const char *line, void *ctx) {
  (void)ctx;
  fprintf(stderr, "repair: %s\n", line);
}

static void print_report(const char *data, const qx_db_repair_report *r) {
  printf("table files: %" PRIu64 " kept (%" PRIu64 " entries now, LSNs up to %" PRIu64 "), %" PRIu64
         " damaged\n",
         r->tables_kept, r->entries, r->table_max_lsn, r->tables_lost);
  printf("parquet:     %" PRIu64 " files kept, %" PRIu64 " damaged\n", r->parquet_kept,
         r->parquet_lost);
  printf("wal:         LSN %" PRIu64 "..%" PRIu64 ", %" PRIu64 " damaged bytes dropped\n",
         r->wal_first_lsn, r->wal_last_lsn, r->wal_discarded_bytes);
  if (r->lost_first_lsn)
    printf("lost:        writes with LSN %" PRIu64 "..%" PRIu64
           " were in neither table files nor the WAL\n",
           r->lost_first_lsn, r->lost_last_lsn);
  if (r->tables_lost || r->parquet_lost)
    printf("damaged files are in %s/lost/ (delete them once you no longer need them)\n", data);
}

int cmd_repair(int argc, char **argv) {
  const char *data = CLI_DEFAULT_DATA;
  for (int i = 1; i < argc; i++) {
    if (cli_is_help(argv[i])) {
      printf("usage: qaxdb repair [--data DIR]\n\nRebuilds the MANIFEST of a folder that open "
             "refuses (CURRENT missing, MANIFEST damaged)\nfrom the files themselves: every "
             "readable table file (merged into new ones), every\nreadable Parquet file and the "
             "WAL (a damaged WAL keeps each entry before the damage).\nDamaged files, the old "
             "MANIFEST and CURRENT are moved to DIR/lost/, never deleted.\nRun `qaxdb check` "
             "afterwards. The folder must not be open elsewhere.\n");
      return CLI_EXIT_OK;
    }
    int f = cli_flag_value(argc, argv, &i, "--data", &data);
    if (f < 0) return CLI_EXIT_USAGE;
    if (f == 0) return cli_usage_error("repair", "unexpected argument '%s'", argv[i]);
  }
  if (cli_require_data_dir("repair", data) != CLI_EXIT_OK) return CLI_EXIT_FAILURE;
  qx_db_repair_report report;
  int rc = qx_db_repair(data, NULL, print_note, NULL, &report);
  if (rc != QX_OK) return cli_fail("repair", "repairing", rc);
  print_report(data, &report);
  return CLI_EXIT_OK;
}
