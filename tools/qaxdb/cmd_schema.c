/* qaxdb schema [TABLE]: the built-in tables, their columns, types, scales and keys. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "qaxdb/schema.h"

static const char *type_name(const qx_column *c, char *buf, size_t cap) {
  switch (c->type) {
  case QX_COL_U8:
    return "u8";
  case QX_COL_U32:
    return "u32";
  case QX_COL_U64:
    return "u64";
  case QX_COL_I64:
    return "i64";
  case QX_COL_TIMESTAMP:
    return "timestamp_ns";
  case QX_COL_DECIMAL:
    snprintf(buf, cap, "decimal(18,%u)", c->scale);
    return buf;
  case QX_COL_CHAR:
    snprintf(buf, cap, "char(%u)", c->width);
    return buf;
  case QX_COL_ENUM:
    buf[0] = '\0';
    for (int i = 0; i < c->enum_count; i++) {
      strncat(buf, i ? "|" : "enum(", cap - strlen(buf) - 1);
      strncat(buf, c->enum_names[i], cap - strlen(buf) - 1);
    }
    strncat(buf, ")", cap - strlen(buf) - 1);
    return buf;
  }
  return "?";
}

static int is_key_column(const qx_schema *s, uint32_t col) {
  for (uint32_t k = 0; k < s->key_column_count; k++)
    if (s->key_columns[k] == col) return 1;
  return 0;
}

static void print_schema(const qx_schema *s) {
  printf("%s (table id %d, schema version %u, %u-byte records, %s)\n", s->name, s->table_id,
         s->version, s->record_size, s->latest_state ? "latest state by key" : "append-only");
  for (uint32_t i = 0; i < s->column_count; i++) {
    char buf[128];
    printf("  %-16s %-40s offset %3u%s", s->columns[i].name,
           type_name(&s->columns[i], buf, sizeof buf), s->columns[i].offset,
           is_key_column(s, i) ? "  key" : "");
    if (s->columns[i].since_version > 1) printf("  since v%u", s->columns[i].since_version);
    putchar('\n');
  }
}

int cmd_schema(int argc, char **argv) {
  const char *table = NULL;
  for (int i = 1; i < argc; i++) {
    const char *data;
    if (cli_is_help(argv[i])) {
      printf("usage: qaxdb schema [TABLE] [--data DIR]\n\nLists the built-in tables, or one "
             "table, with each column's type, scale, byte offset and key membership.\n");
      return CLI_EXIT_OK;
    }
    int f = cli_flag_value(argc, argv, &i, "--data", &data);
    if (f < 0) return CLI_EXIT_USAGE;
    if (f > 0) continue;
    if (argv[i][0] == '-' || table)
      return cli_usage_error("schema", "unexpected argument '%s'", argv[i]);
    table = argv[i];
  }
  if (table) {
    const qx_schema *s = qx_schema_by_name(table);
    if (!s) return cli_usage_error("schema", "no table named '%s'", table);
    print_schema(s);
    return CLI_EXIT_OK;
  }
  for (int id = QX_TABLE_MIN; id <= QX_TABLE_MAX; id++)
    print_schema(qx_schema_by_id(id));
  return CLI_EXIT_OK;
}
