/* qaxdb subscribers: lists the named cursors of a data folder with their lag behind the writer,
 * and deletes one (--delete NAME) so that the WAL no longer keeps segments for it. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "qaxdb/sub.h"
#include "record/text.h"

typedef struct listing {
  uint64_t last_lsn; /* the log's end */
  int count;
} listing;

static int usage(void) {
  printf("usage: qaxdb subscribers [--data DIR] [--delete NAME]\n\n"
         "Lists the named subscriber cursors of a data folder: name, the last LSN acknowledged,\n"
         "the lag (records written after it) and when it was last acknowledged. The WAL keeps\n"
         "the segments a cursor still needs, up to a limit (4 GiB by default); --delete NAME\n"
         "removes a cursor nobody uses any more. Works while a writer runs.\n");
  return CLI_EXIT_OK;
}

static int print_cursor(const qx_sub_cursor_info *c, void *ctx) {
  listing *l = ctx;
  if (l->count++ == 0) printf("%-24s %20s %12s  %s\n", "name", "acked_lsn", "lag", "acked_at");
  char at[48];
  qx_format_timestamp(c->updated_ns, at, sizeof at);
  uint64_t lag = l->last_lsn > c->acked_lsn ? l->last_lsn - c->acked_lsn : 0;
  printf("%-24s %20" PRIu64 " %12" PRIu64 "  %s\n", c->name, c->acked_lsn, lag, at);
  return 0;
}

/* The log's last LSN as a subscriber sees it (the writer's, or the files' end), after a line
 * on the writer. */
static uint64_t show_writer(const char *data) {
  qx_sub *sub;
  if (qx_sub_open(data, NULL, &sub) != QX_OK) {
    fprintf(stderr, "qaxdb subscribers: %s\n", qx_last_error());
    return 0;
  }
  qx_sub_status st;
  qx_sub_get_status(sub, &st);
  qx_sub_close(sub);
  if (st.writer_alive)
    printf("writer: running, last LSN %" PRIu64 ", heartbeat %.1f ms ago\n", st.writer_last_lsn,
           (double)st.heartbeat_age_ns / 1e6);
  else
    printf("writer: none running; the log ends at LSN %" PRIu64 "\n", st.next_lsn - 1);
  return st.next_lsn - 1;
}

int cmd_subscribers(int argc, char **argv) {
  const char *data = CLI_DEFAULT_DATA, *to_delete = NULL;
  for (int i = 1; i < argc; i++) {
    if (cli_is_help(argv[i])) return usage();
    int f = cli_flag_value(argc, argv, &i, "--data", &data);
    if (f == 0) f = cli_flag_value(argc, argv, &i, "--delete", &to_delete);
    if (f < 0) return CLI_EXIT_USAGE;
    if (f == 0) return cli_usage_error("subscribers", "unexpected argument '%s'", argv[i]);
  }
  if (cli_require_data_dir("subscribers", data) != CLI_EXIT_OK) return CLI_EXIT_FAILURE;
  if (to_delete) {
    int rc = qx_sub_delete_cursor(data, to_delete);
    return rc == QX_OK ? CLI_EXIT_OK : cli_fail("subscribers", to_delete, rc);
  }
  listing l = {show_writer(data), 0};
  int rc = qx_sub_list_cursors(data, print_cursor, &l);
  if (l.count == 0 && rc == QX_OK) fprintf(stderr, "qaxdb subscribers: no named cursors\n");
  return rc == QX_OK ? CLI_EXIT_OK : cli_fail("subscribers", data, rc);
}
