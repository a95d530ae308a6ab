/* qaxdb tail: follows a data folder's log like `tail -f`, through a subscriber (qaxdb/sub.h),
 * while another process writes it; one line per record, or one JSON object with --json. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "qaxdb/sub.h"

#define POLL_NS 200000000 /* how often a waiting tail looks at Ctrl-C and the writer */

typedef struct tail_args {
  const char *data, *table, *from, *limit;
  qx_sub_options sub;
  int json;
  uint64_t max_records; /* UINT64_MAX: until interrupted */
} tail_args;

static volatile sig_atomic_t interrupted;

static void on_signal(int sig) {
  (void)sig;
  interrupted = 1;
}

static int usage(void) {
  printf("usage: qaxdb tail [--data DIR] [--live | --oldest | --from LSN] [--table T]\n"
         "                  [--instrument I] [--account A] [--json] [--limit N] [--cursor NAME]\n"
         "                  [--delay MS [--conflate]]\n\n"
         "Follows the log of a data folder like tail -f while another process (qaxdb simulate,\n"
         "qaxdb load, an application) writes it, until Ctrl-C or N records. It starts at the\n"
         "next record written (--live, the default), the oldest record the WAL keeps (--oldest)\n"
         "or LSN. One line per record (lsn, time, table, every field), or with --json one\n"
         "object per record with \"table\", its columns, \"lsn\" and \"date\". Filters: a\n"
         "table, an instrument (instrument_id) and an account (account_id, or either side of a\n"
         "trade). --delay MS prints in batches every MS ms; with --conflate only the newest\n"
         "record per key of each batch (per order, account, position; per instrument for ticks,\n"
         "trades and the other event tables). With --cursor NAME every record printed is "
         "acknowledged under that name: a\n"
         "tail started again with it goes on after the last one (see qaxdb subscribers).\n"
         "Notes on stderr say when the writer stops or a new one starts. Reads shared memory\n"
         "and the WAL files; it never slows or blocks the writer.\n");
  return CLI_EXIT_OK;
}

static int copy_filter(const char *value, char *out, size_t size, const char *flag) {
  if (strlen(value) >= size) {
    fprintf(stderr, "qaxdb tail: %s '%s' is longer than %zu characters\n", flag, value, size - 1);
    return 0;
  }
  snprintf(out, size, "%s", value);
  return 1;
}

/* Returns -1 to go on, or the exit code. */
static int parse_args(int argc, char **argv, tail_args *a) {
  const char *instrument = NULL, *account = NULL, *cursor = NULL, *delay = NULL;
  for (int i = 1; i < argc; i++) {
    if (cli_is_help(argv[i])) return usage();
    if (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "--live") == 0 ||
        strcmp(argv[i], "--oldest") == 0 || strcmp(argv[i], "--conflate") == 0) {
      if (argv[i][2] == 'j') a->json = 1;
      if (argv[i][2] == 'o') a->sub.start = QX_SUB_OLDEST;
      if (argv[i][2] == 'c') a->sub.conflate = 1;
      continue;
    }
    int f = cli_flag_value(argc, argv, &i, "--data", &a->data);
    if (f == 0) f = cli_flag_value(argc, argv, &i, "--from", &a->from);
    if (f == 0) f = cli_flag_value(argc, argv, &i, "--table", &a->table);
    if (f == 0) f = cli_flag_value(argc, argv, &i, "--instrument", &instrument);
    if (f == 0) f = cli_flag_value(argc, argv, &i, "--account", &account);
    if (f == 0) f = cli_flag_value(argc, argv, &i, "--limit", &a->limit);
    if (f == 0) f = cli_flag_value(argc, argv, &i, "--cursor", &cursor);
    if (f == 0) f = cli_flag_value(argc, argv, &i, "--delay", &delay);
    if (f < 0) return CLI_EXIT_USAGE;
    if (f == 0) return cli_usage_error("tail", "unexpected argument '%s'", argv[i]);
  }
  if (a->from) {
    if (!cli_parse_u64(a->from, "--from", &a->sub.from_lsn)) return CLI_EXIT_USAGE;
    a->sub.start = QX_SUB_FROM_LSN;
  }
  if (a->limit && !cli_parse_u64(a->limit, "--limit", &a->max_records)) return CLI_EXIT_USAGE;
  uint64_t delay_ms = 0;
  if (delay && (!cli_parse_u64(delay, "--delay", &delay_ms) || delay_ms > 3600000)) {
    if (delay_ms > 3600000) fprintf(stderr, "qaxdb tail: --delay is at most 3600000 ms\n");
    return CLI_EXIT_USAGE;
  }
  a->sub.delay_ms = (uint32_t)delay_ms;
  if (a->sub.conflate && !delay_ms)
    return cli_usage_error("tail", "--conflate needs --delay MS (the window it conflates)");
  if ((instrument &&
       !copy_filter(instrument, a->sub.instrument, sizeof a->sub.instrument, "--instrument")) ||
      (account && !copy_filter(account, a->sub.account, sizeof a->sub.account, "--account")) ||
      (cursor && !copy_filter(cursor, a->sub.cursor, sizeof a->sub.cursor, "--cursor")))
    return CLI_EXIT_USAGE;
  return -1;
}

/* The printer of JSON rows for each table, made when its first record comes. */
static cli_record_rows *rows_for(cli_record_rows *rows[], const qx_wal_entry *e) {
  const qx_schema *s = qx_schema_by_id(e->table_id);
  if (!s) return NULL;
  if (!rows[e->table_id] && cli_record_rows_start(s, CLI_FORMAT_JSON, 1, &rows[e->table_id]))
    return NULL;
  return rows[e->table_id];
}

static void print_record(const tail_args *a, cli_record_rows *rows[], const qx_wal_entry *e) {
  cli_record_rows *r = a->json ? rows_for(rows, e) : NULL;
  if (r)
    cli_record_rows_print(r, e->data, e->size, e->lsn);
  else if (a->json)
    printf("{\"lsn\":%" PRIu64 ",\"table_id\":%u,\"size\":%u}\n", e->lsn, e->table_id, e->size);
  else
    cli_print_log_entry(e);
}

/* Notes on stderr when the writer goes away or comes back. */
static void note_writer(qx_sub *sub, int *was_alive) {
  qx_sub_status st;
  qx_sub_get_status(sub, &st);
  if (st.writer_alive == *was_alive) return;
  *was_alive = st.writer_alive;
  if (st.writer_alive)
    fprintf(stderr, "qaxdb tail: a writer is running (LSN %" PRIu64 ")\n", st.writer_last_lsn);
  else
    fprintf(stderr, "qaxdb tail: no writer is running; waiting for one (next LSN %" PRIu64 ")\n",
            st.next_lsn);
}

static int follow(const tail_args *a, qx_sub *sub) {
  cli_record_rows *rows[QX_TABLE_MAX + 1] = {0};
  int was_alive = -1, rc = QX_OK;
  uint64_t printed = 0;
  while (!interrupted && printed < a->max_records) {
    qx_wal_entry e;
    rc = qx_sub_next(sub, &e, POLL_NS);
    if (rc == QX_ERR_TIMEOUT || rc == QX_ERR_LAPPED) {
      if (rc == QX_ERR_LAPPED) fprintf(stderr, "qaxdb tail: warning: %s\n", qx_last_error());
      note_writer(sub, &was_alive);
      rc = QX_OK;
      continue;
    }
    if (rc != QX_OK) break;
    print_record(a, rows, &e);
    if (!qx_sub_held_valid(sub))
      fprintf(stderr, "qaxdb tail: warning: LSN %" PRIu64 " was overwritten while printed\n",
              e.lsn);
    printed++;
    if (a->sub.cursor[0] && (rc = qx_sub_ack(sub, e.lsn)) != QX_OK) break;
  }
  for (size_t t = 0; t <= QX_TABLE_MAX; t++)
    cli_record_rows_end(rows[t]);
  return rc;
}

int cmd_tail(int argc, char **argv) {
  tail_args a = {.data = CLI_DEFAULT_DATA, .max_records = UINT64_MAX};
  qx_sub_options_init(&a.sub);
  int code = parse_args(argc, argv, &a);
  if (code >= 0) return code;
  if (a.table) {
    const qx_schema *s = cli_table("tail", a.table);
    if (!s) return CLI_EXIT_USAGE;
    a.sub.table_id = (uint16_t)s->table_id;
  }
  if (cli_require_data_dir("tail", a.data) != CLI_EXIT_OK) return CLI_EXIT_FAILURE;
  qx_sub *sub;
  int rc = qx_sub_open(a.data, &a.sub, &sub);
  if (rc != QX_OK) return cli_fail("tail", a.data, rc);
  qx_sub_status st;
  qx_sub_get_status(sub, &st);
  fprintf(stderr, "qaxdb tail: following %s from LSN %" PRIu64 "\n", a.data, st.next_lsn);
  setvbuf(stdout, NULL, _IOLBF, 0);
  struct sigaction sa = {.sa_handler = on_signal};
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  rc = follow(&a, sub);
  qx_sub_close(sub);
  return rc == QX_OK ? CLI_EXIT_OK : cli_fail("tail", a.data, rc);
}
