/* qaxdb scan: the current records of a table in key order, optionally within key bounds. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "qaxdb/key.h"

#define MAX_KEY_VALUES 8

static int usage(void) {
  printf("usage: qaxdb scan [--data DIR] TABLE [--from KEY] [--to KEY] [--limit N]\n\n"
         "Prints the current records of TABLE in key order, one per line with the LSN of the\n"
         "write that produced each. KEY is the values of the leading key columns separated by\n"
         "commas (a prefix of the key is allowed): --from is inclusive, --to exclusive.\n"
         "examples: qaxdb scan orders --from 1000 --to 2000\n"
         "          qaxdb scan positions --from acct000001 --to acct000002 --limit 10\n");
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

static int print_rows(qx_db_iter *it, const qx_schema *table, uint64_t limit, uint64_t *printed) {
  for (; qx_db_iter_valid(it) && (!limit || *printed < limit); qx_db_iter_next(it)) {
    size_t len;
    const void *record = qx_db_iter_value(it, &len);
    /* a raw entry that is not a record of the table is skipped */
    if (!qx_schema_version_of_size(table, (uint32_t)len)) continue;
    printf("lsn=%" PRIu64 " ", qx_db_iter_lsn(it));
    cli_print_fields(table, record, len);
    putchar('\n');
    (*printed)++;
  }
  return qx_db_iter_status(it);
}

typedef struct scan_args {
  const char *data, *table, *from, *to, *limit;
} scan_args;

static int parse_args(int argc, char **argv, scan_args *a) {
  for (int i = 1; i < argc; i++) {
    if (cli_is_help(argv[i])) return usage() - 1;
    int f = cli_flag_value(argc, argv, &i, "--data", &a->data);
    if (f == 0) f = cli_flag_value(argc, argv, &i, "--from", &a->from);
    if (f == 0) f = cli_flag_value(argc, argv, &i, "--to", &a->to);
    if (f == 0) f = cli_flag_value(argc, argv, &i, "--limit", &a->limit);
    if (f < 0) return CLI_EXIT_USAGE;
    if (f > 0) continue;
    if (a->table || argv[i][0] == '-')
      return cli_usage_error("scan", "unexpected argument '%s'", argv[i]);
    a->table = argv[i];
  }
  return a->table ? CLI_EXIT_OK : cli_usage_error("scan", "needs a TABLE");
}

int cmd_scan(int argc, char **argv) {
  scan_args a = {CLI_DEFAULT_DATA, NULL, NULL, NULL, NULL};
  int rc = parse_args(argc, argv, &a);
  if (rc != CLI_EXIT_OK) return rc < 0 ? CLI_EXIT_OK : rc;
  const qx_schema *table = cli_table("scan", a.table);
  if (!table) return CLI_EXIT_USAGE;
  uint8_t from[QX_KEY_MAX], to[QX_KEY_MAX];
  size_t from_len = 0, to_len = 0;
  uint64_t limit = 0, printed = 0;
  if ((a.limit && !cli_parse_u64(a.limit, "--limit", &limit)) ||
      !parse_bound(table, a.from ? a.from : "", from, &from_len) ||
      !parse_bound(table, a.to ? a.to : "", to, &to_len))
    return CLI_EXIT_USAGE;
  if (!a.to) to[1]++; /* the first key of the next table id: the end of this table */
  if (cli_require_data_dir("scan", a.data) != CLI_EXIT_OK) return CLI_EXIT_FAILURE;
  qx_db *db;
  if (cli_open_db_to_read("scan", a.data, 0, &db) != CLI_EXIT_OK) return CLI_EXIT_FAILURE;
  qx_db_iter *it;
  rc = qx_db_iter_create(db, NULL, from, from_len, to, to_len, &it);
  if (rc == QX_OK) {
    rc = print_rows(it, table, limit, &printed);
    qx_db_iter_destroy(it);
  }
  int result = rc == QX_OK ? CLI_EXIT_OK : cli_fail("scan", "reading", rc);
  fprintf(stderr, "%" PRIu64 " %s records\n", printed, table->name);
  rc = qx_db_close(db);
  if (rc != QX_OK && result == CLI_EXIT_OK) result = cli_fail("scan", "closing", rc);
  return result;
}
