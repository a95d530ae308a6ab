/* qaxdb get: the current record of one key of a table, read through the engine. */
#include <inttypes.h>
#include <stdio.h>

#include "cli.h"
#include "qaxdb/key.h"
#include "source.h"

#define MAX_ARGS 8

static int usage(void) {
  printf("usage: qaxdb get [--data DIR] [--csv | --json] TABLE KEY...\n\n"
         "Prints the current record of TABLE whose key columns have the values KEY... (one\n"
         "argument per key column, in key order: see qaxdb schema TABLE), with the LSN of the\n"
         "write that produced it. --csv and --json print it as qaxdb sql prints\n"
         "SELECT * FROM TABLE (lsn and date included). Exits 1 if there is no such record.\n"
         "examples: qaxdb get orders 8812\n"
         "          qaxdb get positions acct000001 rb2501 --json\n");
  return CLI_EXIT_OK;
}

/* "(acct000001, rb2501)": the key as the user gave it. */
static void print_key(FILE *out, const char *const *values, int count) {
  fputc('(', out);
  for (int i = 0; i < count; i++)
    fprintf(out, "%s%s", i ? ", " : "", values[i]);
  fputc(')', out);
}

static int print_record(const cli_source *src, const qx_schema *table, const uint8_t *key,
                        size_t key_len, const char *const *values, int count, cli_format format) {
  cli_record r;
  int rc = cli_source_get(src, key, key_len, &r);
  if (rc == QX_ERR_NOT_FOUND) {
    fprintf(stderr, "qaxdb get: no %s record with key ", table->name);
    print_key(stderr, values, count);
    fputc('\n', stderr);
    return CLI_EXIT_FAILURE;
  }
  if (rc != QX_OK) return cli_fail("get", "reading", rc);
  cli_record_rows *rows;
  int result = cli_record_rows_start(table, format, 0, &rows);
  if (result == CLI_EXIT_OK) {
    cli_record_rows_print(rows, r.data, r.size, r.lsn);
    cli_record_rows_end(rows);
  }
  cli_record_release(&r);
  return result;
}

int cmd_get(int argc, char **argv) {
  const char *data = CLI_DEFAULT_DATA;
  const char *positional[MAX_ARGS];
  int count = 0;
  cli_format format = CLI_FORMAT_TABLE;
  for (int i = 1; i < argc; i++) {
    if (cli_is_help(argv[i])) return usage();
    int f = cli_flag_value(argc, argv, &i, "--data", &data);
    if (f < 0) return CLI_EXIT_USAGE;
    if (f > 0 || cli_format_flag(argv[i], &format)) continue;
    if (argv[i][0] == '-' && argv[i][1] == '-')
      return cli_usage_error("get", "unknown option '%s'", argv[i]);
    if (count == MAX_ARGS) return cli_usage_error("get", "too many arguments");
    positional[count++] = argv[i];
  }
  if (count < 1) return cli_usage_error("get", "needs a TABLE and its KEY values");
  const qx_schema *table = cli_table("get", positional[0]);
  if (!table) return CLI_EXIT_USAGE;
  if (count - 1 != (int)table->key_column_count)
    return cli_usage_error("get", "table %s needs %u key values, got %d", table->name,
                           table->key_column_count, count - 1);
  uint8_t key[QX_KEY_MAX];
  size_t key_len;
  if (!cli_parse_key("get", table, positional + 1, count - 1, key, &key_len)) return CLI_EXIT_USAGE;
  if (cli_require_data_dir("get", data) != CLI_EXIT_OK) return CLI_EXIT_FAILURE;
  cli_source src;
  if (cli_source_open("get", data, 0, &src) != CLI_EXIT_OK) return CLI_EXIT_FAILURE;
  int result = print_record(&src, table, key, key_len, positional + 1, count - 1, format);
  int closed = cli_source_close("get", &src);
  return result == CLI_EXIT_OK ? closed : result;
}
