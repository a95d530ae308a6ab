/* qaxdb get: the current record of one key of a table, read through the engine. */
#include <inttypes.h>
#include <stdio.h>

#include "cli.h"
#include "qaxdb/key.h"

static int usage(void) {
  printf("usage: qaxdb get [--data DIR] TABLE KEY...\n\n"
         "Prints the current record of TABLE whose key columns have the values KEY... (one\n"
         "argument per key column, in key order: see qaxdb schema TABLE), with the LSN of the\n"
         "write that produced it. Exits 1 if there is no such record.\n"
         "examples: qaxdb get orders 8812\n"
         "          qaxdb get positions acct000001 rb2501\n");
  return CLI_EXIT_OK;
}

int cmd_get(int argc, char **argv) {
  const char *data = CLI_DEFAULT_DATA;
  const char *positional[8];
  int count = 0;
  for (int i = 1; i < argc; i++) {
    if (cli_is_help(argv[i])) return usage();
    int f = cli_flag_value(argc, argv, &i, "--data", &data);
    if (f < 0) return CLI_EXIT_USAGE;
    if (f > 0) continue;
    if (count == 8) return cli_usage_error("get", "too many arguments");
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
  qx_db *db;
  if (cli_open_db_to_read("get", data, 0, &db) != CLI_EXIT_OK) return CLI_EXIT_FAILURE;
  qx_db_value v;
  int rc = qx_db_get(db, NULL, key, key_len, &v);
  int result = CLI_EXIT_OK;
  if (rc == QX_OK) {
    printf("lsn=%" PRIu64 " ", v.lsn);
    if (!cli_print_fields(table, v.data, v.size))
      printf("(%zu bytes, not a %s record)", v.size, table->name);
    putchar('\n');
    qx_db_value_release(&v);
  } else if (rc == QX_ERR_NOT_FOUND) {
    fprintf(stderr, "qaxdb get: no %s record with that key\n", table->name);
    result = CLI_EXIT_FAILURE;
  } else {
    result = cli_fail("get", "reading", rc);
  }
  rc = qx_db_close(db);
  if (rc != QX_OK && result == CLI_EXIT_OK) result = cli_fail("get", "closing", rc);
  return result;
}
