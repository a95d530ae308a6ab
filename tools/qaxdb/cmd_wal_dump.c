/* qaxdb wal-dump: prints WAL entries, one line each: LSN, time, table and every field. */
#include <inttypes.h>
#include <stdio.h>

#include "cli.h"
#include "qaxdb/schema.h"
#include "qaxdb/wal.h"
#include "record/text.h"

typedef struct dump_state {
  uint64_t from;
  uint64_t limit; /* UINT64_MAX: no --limit */
  uint64_t printed;
  uint64_t first; /* the first LSN visited, 0 before */
} dump_state;

/* Says so when the log starts after the LSN asked for: the entries before were trimmed once
 * they were checkpointed into table files (qaxdb get and scan read them there, SQL in Parquet). */
static void note_trimmed(const dump_state *st, uint64_t first) {
  if (first > st->from)
    fprintf(stderr,
            "qaxdb wal-dump: the log starts at LSN %" PRIu64 ": entries %" PRIu64 "..%" PRIu64
            " were trimmed (checkpointed into table files)\n",
            first, st->from, first - 1);
}

static int print_entry(const qx_wal_entry *e, void *ctx) {
  dump_state *st = ctx;
  if (!st->first) {
    st->first = e->lsn;
    note_trimmed(st, e->lsn);
  }
  if (st->printed == st->limit) return 1;
  cli_print_log_entry(e);
  st->printed++;
  return 0;
}

static int usage(void) {
  printf("usage: qaxdb wal-dump [--data DIR] [--from LSN] [--limit N]\n\n"
         "Prints the WAL entries of a data folder from LSN (default 1), one per line: LSN,\n"
         "timestamp, table and every field; with --limit, the first N (0 prints none).\n"
         "Entries checkpointed into table files are trimmed from the log: if it starts after\n"
         "LSN, a note on stderr says where. Stops at the first corruption with its file and\n"
         "offset. Works while another process writes the folder.\n");
  return CLI_EXIT_OK;
}

int cmd_wal_dump(int argc, char **argv) {
  const char *data = CLI_DEFAULT_DATA, *from_text = NULL, *limit_text = NULL;
  for (int i = 1; i < argc; i++) {
    if (cli_is_help(argv[i])) return usage();
    int f = cli_flag_value(argc, argv, &i, "--data", &data);
    if (f == 0) f = cli_flag_value(argc, argv, &i, "--from", &from_text);
    if (f == 0) f = cli_flag_value(argc, argv, &i, "--limit", &limit_text);
    if (f < 0) return CLI_EXIT_USAGE;
    if (f == 0) return cli_usage_error("wal-dump", "unexpected argument '%s'", argv[i]);
  }
  dump_state st = {1, UINT64_MAX, 0, 0};
  if (from_text && !cli_parse_u64(from_text, "--from", &st.from)) return CLI_EXIT_USAGE;
  if (limit_text && !cli_parse_u64(limit_text, "--limit", &st.limit)) return CLI_EXIT_USAGE;
  if (cli_require_data_dir("wal-dump", data) != CLI_EXIT_OK) return CLI_EXIT_FAILURE;
  char wal_dir[PATH_MAX];
  cli_wal_dir(data, wal_dir);
  qx_wal_recovery rec;
  int rc = qx_wal_scan(wal_dir, st.from, print_entry, &st, &rec);
  if (rc < 0) return cli_fail("wal-dump", wal_dir, rc);
  if (!st.first && rec.last_lsn == 0)
    fprintf(stderr, "qaxdb wal-dump: the log holds no entries\n");
  else if (!st.first && rec.last_lsn < st.from)
    fprintf(stderr,
            "qaxdb wal-dump: no entries from LSN %" PRIu64 " on: the log ends at %" PRIu64 "\n",
            st.from, rec.last_lsn);
  return CLI_EXIT_OK;
}
