/* qaxdb check: verifies a data folder as open would and every checksum in it, and reports what
 * is wrong, where. It changes no file. While a writer holds the folder, the end of the WAL and
 * of the MANIFEST are being written and files come and go: check says so, and reports only
 * what cannot be the writer's work in progress as damage. */
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

static int check_wal(const char *data, int *live_writer) {
  char wal_dir[PATH_MAX];
  cli_wal_dir(data, wal_dir);
  uint64_t entries = 0;
  qx_wal_recovery rec;
  int rc = qx_wal_scan(wal_dir, 1, count_entry, &entries, &rec);
  *live_writer = rc == QX_OK && rec.live_writer;
  if (rc < 0) return cli_fail("check", "WAL", rc);
  if (*live_writer)
    printf("wal: a writer holds this folder; its log is being written, so its end is not "
           "checked as crash damage\n");
  printf("wal: %" PRIu64 " entries, LSN %" PRIu64 "..%" PRIu64 ", all checksums valid\n", entries,
         rec.first_lsn, rec.last_lsn);
  if (rec.truncated_bytes && !*live_writer)
    printf("wal: torn tail of %" PRIu64 " bytes at %s offset %" PRIu64
           "%s (left by a crash mid-write; the next open discards it)\n",
           rec.truncated_bytes, rec.truncated_file, rec.truncated_offset,
           rec.dropped_segments ? " and the segments after it" : "");
  return CLI_EXIT_OK;
}

/* What open would say: CURRENT, the MANIFEST, every live table file's footer, index and
 * bloom filter, and the WAL's LSN range against the checkpoint. */
static int check_open(const char *data) {
  qx_db_options o;
  qx_db_options_init(&o);
  o.read_only = 1;
  o.olap = 0;
  qx_db *db;
  qx_db_recovery rec;
  int rc = qx_db_open(data, &o, &db, &rec);
  if (rc != QX_OK) return cli_fail("check", "open would fail", rc);
  printf("open: would succeed; the table files hold every write up to LSN %" PRIu64
         ", the WAL replays %" PRIu64 " after it\n",
         rec.checkpoint_lsn, rec.replayed);
  rc = qx_db_close(db);
  return rc == QX_OK ? CLI_EXIT_OK : cli_fail("check", "closing", rc);
}

static int check_files(const char *data, int live_writer) {
  qx_db_verify_report r;
  int rc = qx_db_verify(data, &r);
  if (rc == QX_ERR_NOT_FOUND && live_writer) {
    printf("files: a file named by the MANIFEST went away while checking (the writer compacted "
           "or merged it); run check again when the folder is idle to check every file\n");
    return CLI_EXIT_OK;
  }
  if (rc < 0) return cli_fail("check", "files", rc);
  printf("tables: MANIFEST valid; %" PRIu64 " files, %" PRIu64 " entries, %.1f MiB, all block, "
         "index, bloom and footer checksums valid\n",
         r.table_files, r.table_entries, (double)r.table_bytes / (1024.0 * 1024.0));
  printf("parquet: %" PRIu64 " files, %.1f MiB, each present at the size the MANIFEST records\n",
         r.parquet_files, (double)r.parquet_bytes / (1024.0 * 1024.0));
  if (r.torn_manifest_bytes && !live_writer)
    printf("manifest: torn last edit of %" PRIu64 " bytes (a crash mid-edit; the next open drops "
           "it)\n",
           r.torn_manifest_bytes);
  return CLI_EXIT_OK;
}

int cmd_check(int argc, char **argv) {
  const char *data = CLI_DEFAULT_DATA;
  for (int i = 1; i < argc; i++) {
    if (cli_is_help(argv[i])) {
      printf("usage: qaxdb check [--data DIR]\n\nVerifies the data folder as open would (CURRENT, "
             "the MANIFEST, the table files, the WAL's\nLSN range against the checkpoint) and "
             "every checksum in it (WAL segment headers and\nentries, LSN continuity; every "
             "block, index, bloom filter and footer of the live\ntable files; each live Parquet "
             "file's size). Reports the file and offset of anything\ndamaged and exits 1 if "
             "there is any. Changes no file. While a writer holds the\nfolder it says so and "
             "does not take the writer's work in progress for damage.\n");
      return CLI_EXIT_OK;
    }
    int f = cli_flag_value(argc, argv, &i, "--data", &data);
    if (f < 0) return CLI_EXIT_USAGE;
    if (f == 0) return cli_usage_error("check", "unexpected argument '%s'", argv[i]);
  }
  if (cli_require_data_dir("check", data) != CLI_EXIT_OK) return CLI_EXIT_FAILURE;
  int live_writer = 0;
  int wal = check_wal(data, &live_writer);
  int open = live_writer ? CLI_EXIT_OK : check_open(data);
  int files = check_files(data, live_writer);
  return wal != CLI_EXIT_OK ? wal : open != CLI_EXIT_OK ? open : files;
}
