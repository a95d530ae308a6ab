/* qaxdb check: verifies every checksum in a data folder and reports what is wrong, where. */
#include <inttypes.h>
#include <stdio.h>

#include "cli.h"
#include "qaxdb/db.h"
#include "qaxdb/wal.h"

static int count_entry(const qx_wal_entry *e, void *ctx) {
  (void)e;
  (*(uint64_t *)ctx)++;
  return 0;
}

static int check_wal(const char *data) {
  char wal_dir[PATH_MAX];
  cli_wal_dir(data, wal_dir);
  uint64_t entries = 0;
  qx_wal_recovery rec;
  int rc = qx_wal_scan(wal_dir, 1, count_entry, &entries, &rec);
  if (rc < 0) return cli_fail("check", "WAL", rc);
  printf("wal: %" PRIu64 " entries, LSN %" PRIu64 "..%" PRIu64 ", all checksums valid\n", entries,
         rec.first_lsn, rec.last_lsn);
  if (rec.truncated_bytes)
    printf("wal: torn tail of %" PRIu64 " bytes at %s offset %" PRIu64
           " (left by a crash mid-write; the next open discards it)\n",
           rec.truncated_bytes, rec.truncated_file, rec.truncated_offset);
  return CLI_EXIT_OK;
}

static int check_tables(const char *data) {
  qx_db_verify_report r;
  int rc = qx_db_verify(data, &r);
  if (rc < 0) return cli_fail("check", "table files", rc);
  printf("tables: MANIFEST valid; %" PRIu64 " files, %" PRIu64 " entries, %.1f MiB, all block, "
         "index, bloom and footer checksums valid\n",
         r.table_files, r.table_entries, (double)r.table_bytes / (1024.0 * 1024.0));
  return CLI_EXIT_OK;
}

int cmd_check(int argc, char **argv) {
  const char *data = CLI_DEFAULT_DATA;
  for (int i = 1; i < argc; i++) {
    if (cli_is_help(argv[i])) {
      printf("usage: qaxdb check [--data DIR]\n\nVerifies every checksum in the data folder "
             "(WAL segment headers and entries, LSN continuity; the MANIFEST;\nevery block, index, "
             "bloom filter and footer of the live table files). Reports the file and offset of "
             "anything damaged and exits 1 if there is any.\n");
      return CLI_EXIT_OK;
    }
    int f = cli_flag_value(argc, argv, &i, "--data", &data);
    if (f < 0) return CLI_EXIT_USAGE;
    if (f == 0) return cli_usage_error("check", "unexpected argument '%s'", argv[i]);
  }
  if (cli_require_data_dir("check", data) != CLI_EXIT_OK) return CLI_EXIT_FAILURE;
  int wal = check_wal(data);
  int tables = check_tables(data);
  return wal != CLI_EXIT_OK ? wal : tables;
}
