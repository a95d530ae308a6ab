/* qaxdb scan: the current records of a table in key order, optionally within key bounds; the
 * first 100 unless told otherwise, with a note when more exist. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "qaxdb/key.h"
#include "source.h"

#define MAX_KEY_VALUES 8
#define DEFAULT_LIMIT 100

static int usage(void) {
  printf("usage: qaxdb scan [--data DIR] TABLE [--from KEY] [--to KEY] [--limit N | --all]\n"
         "                  [--csv | --json]\n\n"
         "Prints the current records of TABLE in key order, one per line with the LSN of the\n"
         "write that produced each; --csv and --json print them as qaxdb sql prints\n"
         "SELECT * FROM TABLE (lsn and date included). KEY is the values of the leading key\n"
         "columns separated by commas (a prefix of the key is allowed): --from is inclusive,\n"
         "--to exclusive. Prints the first %d records (--limit N: the first N, 0 included;\n"
         "--all: every one) and says on stderr when more exist.\n"
         "examples: qaxdb scan orders --from 1000 --to 2000\n"
         "          qaxdb scan positions --from acct000001 --to acct000002 --all --csv\n",
         DEFAULT_LIMIT);
  return CLI_EXIT_OK;
}

/* Splits a comma-separated KEY and encodes it as a key prefix of table. */
static int parse_bound(const qx_schema *table, const char *text, uint8_t *key, size_t *len) {
  char copy[512];
  snprintf(copy, sizeof copy, "%s", text);
  const char *values[MAX_KEY_VALUES];
  int count = 0;
  for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok && count < MAX_KEY_VALUES;
       tok = strtok_r(NULL, ",", &save))
    values[count++] = tok;
  return cli_parse_key("scan", table, values, count, key, len);
}

typedef struct scan_args {
  const char *data, *table, *from, *to, *limit;
  int all;
  cli_format format;
} scan_args;

static int parse_args(int argc, char **argv, scan_args *a) {
  for (int i = 1; i < argc; i++) {
    if (cli_is_help(argv[i])) return usage() - 1;
    int f = cli_flag_value(argc, argv, &i, "--data", &a->data);
    if (f == 0) f = cli_flag_value(argc, argv, &i, "--from", &a->from);
    if (f == 0) f = cli_flag_value(argc, argv, &i, "--to", &a->to);
    if (f == 0) f = cli_flag_value(argc, argv, &i, "--limit", &a->limit);
    if (f < 0) return CLI_EXIT_USAGE;
    if (f > 0 || cli_format_flag(argv[i], &a->format)) continue;
    if (strcmp(argv[i], "--all") == 0) {
      a->all = 1;
      continue;
    }
    if (a->table || argv[i][0] == '-')
      return cli_usage_error("scan", "unexpected argument '%s'", argv[i]);
    a->table = argv[i];
  }
  if (a->all && a->limit) return cli_usage_error("scan", "--limit and --all exclude each other");
  return a->table ? CLI_EXIT_OK : cli_usage_error("scan", "needs a TABLE");
}

typedef struct printing {
  cli_record_rows *rows;
  uint64_t printed;
} printing;

static void print_row(const cli_record *r, void *ctx) {
  printing *p = ctx;
  cli_record_rows_print(p->rows, r->data, r->size, r->lsn);
  p->printed++;
}

static int scan(const cli_source *src, const qx_schema *table, const scan_args *a, uint64_t limit,
                const cli_key_range *range) {
  printing p = {0};
  int more = 0;
  int result = cli_record_rows_start(table, a->format, 0, &p.rows);
  if (result == CLI_EXIT_OK) {
    int rc = cli_source_scan(src, table, range, limit, a->all, print_row, &p, &more);
    result = rc == QX_OK ? CLI_EXIT_OK : cli_fail("scan", "reading", rc);
  }
  cli_record_rows_end(p.rows);
  fflush(stdout);
  fprintf(stderr, "%" PRIu64 " %s records", p.printed, table->name);
  fprintf(stderr, "%s\n", more ? "; more exist (--limit N or --all to see them)" : "");
  return result;
}

int cmd_scan(int argc, char **argv) {
  scan_args a = {CLI_DEFAULT_DATA, NULL, NULL, NULL, NULL, 0, CLI_FORMAT_TABLE};
  int rc = parse_args(argc, argv, &a);
  if (rc != CLI_EXIT_OK) return rc < 0 ? CLI_EXIT_OK : rc;
  const qx_schema *table = cli_table("scan", a.table);
  if (!table) return CLI_EXIT_USAGE;
  cli_key_range range;
  uint64_t limit = DEFAULT_LIMIT;
  if ((a.limit && !cli_parse_u64(a.limit, "--limit", &limit)) ||
      !parse_bound(table, a.from ? a.from : "", range.from, &range.from_len) ||
      !parse_bound(table, a.to ? a.to : "", range.to, &range.to_len))
    return CLI_EXIT_USAGE;
  if (!a.to) range.to[1]++; /* the first key of the next table id: the end of this table */
  if (cli_require_data_dir("scan", a.data) != CLI_EXIT_OK) return CLI_EXIT_FAILURE;
  cli_source src;
  if (cli_source_open("scan", a.data, 0, &src) != CLI_EXIT_OK) return CLI_EXIT_FAILURE;
  int result = scan(&src, table, &a, limit, &range);
  int closed = cli_source_close("scan", &src);
  return result == CLI_EXIT_OK ? closed : result;
}
