/* qaxdb stats: the engine's shape (levels, files, bytes against targets) and its counters. */
#include <inttypes.h>
#include <stdio.h>

#include "cli.h"
#include "source.h"

static double mib(uint64_t bytes) {
  return (double)bytes / (1024.0 * 1024.0);
}

static double share(uint64_t part, uint64_t whole) {
  return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

void cli_print_db_stats(qx_db *db) {
  qx_db_stats s;
  if (qx_db_stats_get(db, &s) == QX_OK) cli_print_stats(&s);
}

void cli_print_stats(const qx_db_stats *s) {
  printf("level  files        MiB   target MiB\n");
  for (int l = 0; l < QX_DB_LEVELS; l++)
    printf("L%d    %6u  %9.1f  %11.1f\n", l, s->levels[l].files, mib(s->levels[l].bytes),
           mib(s->levels[l].target_bytes));
  printf("lsn         last %" PRIu64 ", in table files up to %" PRIu64 "; memtables %.1f MiB\n",
         s->last_lsn, s->checkpoint_lsn, mib(s->memtable_bytes));
  printf("since the folder was created:\n");
  printf("writes      %.1f MiB by callers, write amplification %.2f (WAL + flush + compaction)\n",
         mib(s->user_bytes_written), s->write_amplification);
  printf("background  %" PRIu64 " flushes (%.1f MiB), %" PRIu64
         " compactions (read %.1f MiB, wrote %.1f MiB), %.2f s CPU\n",
         s->flushes, mib(s->flush_bytes), s->compactions, mib(s->compaction_bytes_read),
         mib(s->compaction_bytes_written), (double)s->compaction_cpu_ns / 1e9);
  printf("stalls      %" PRIu64 " (%.3f s)\n", s->stall_count, (double)s->stall_ns / 1e9);
  printf(
      "parquet     %" PRIu64 " files, %.1f MiB, %" PRIu64 " rows up to LSN %" PRIu64 "; %" PRIu64
      " rows buffered (%.1f MiB) up to LSN %" PRIu64 "; %" PRIu64 " flushes, %" PRIu64 " merges\n",
      s->parquet_files, mib(s->parquet_bytes), s->parquet_rows, s->olap_lsn, s->olap_buffered_rows,
      mib(s->olap_buffered_bytes), s->olap_converted_lsn, s->parquet_flushes, s->parquet_merges);
  printf("this process:\n");
  printf("ring waits  %" PRIu64 " (%.3f s): writes that waited for the WAL flusher\n",
         s->ring_waits, (double)s->ring_wait_ns / 1e9);
  printf("group waits %" PRIu64 " (%.3f s): writes that waited for a sync others waited for\n",
         s->group_waits, (double)s->group_wait_ns / 1e9);
  printf("bloom       %" PRIu64 " checks, %.1f%% skipped a file, %" PRIu64 " false positives\n",
         s->bloom_checks, share(s->bloom_negatives, s->bloom_checks), s->bloom_false_positives);
  printf("block cache %.1f%% hits of %" PRIu64 " lookups, %.1f MiB held\n",
         share(s->cache_hits, s->cache_hits + s->cache_misses), s->cache_hits + s->cache_misses,
         mib(s->cache_bytes));
}

int cmd_stats(int argc, char **argv) {
  const char *data = CLI_DEFAULT_DATA;
  for (int i = 1; i < argc; i++) {
    if (cli_is_help(argv[i])) {
      printf(
          "usage: qaxdb stats [--data DIR]\n\nOpens the database and prints its levels (files, "
          "size, target size) and the LSN\nthe table files reach. Write, flush, compaction and "
          "stall counters are the\nfolder's totals since it was created (kept in the "
          "MANIFEST); bloom and cache counters\nare this process's. When qaxdbd serves the "
          "folder, the "
          "server's, with replication: this node's role, epoch and LSNs,\nand each replica's, with "
          "its lag (see docs/server.md and docs/replication.md).\n");
      return CLI_EXIT_OK;
    }
    int f = cli_flag_value(argc, argv, &i, "--data", &data);
    if (f < 0) return CLI_EXIT_USAGE;
    if (f == 0) return cli_usage_error("stats", "unexpected argument '%s'", argv[i]);
  }
  if (cli_require_data_dir("stats", data) != CLI_EXIT_OK) return CLI_EXIT_FAILURE;
  cli_source src;
  if (cli_source_open("stats", data, 0, &src) != CLI_EXIT_OK) return CLI_EXIT_FAILURE;
  qx_db_stats s;
  int rc = cli_source_stats(&src, &s);
  int result = rc == QX_OK ? CLI_EXIT_OK : cli_fail("stats", "reading the counters", rc);
  if (result == CLI_EXIT_OK) cli_print_stats(&s);
  if (result == CLI_EXIT_OK && src.server) {
    printf("replication (this node, then the replicas it serves):\n");
    fflush(stdout);
    result = cli_server_sql(src.server, "QAXDB REPLICATION", CLI_FORMAT_TABLE);
  }
  int closed = cli_source_close("stats", &src);
  return result == CLI_EXIT_OK ? closed : result;
}
