/* PostgreSQL's catalog as its clients read it (pg_catalog.h): qx_pg's views and macros over
 * DuckDB's pg_catalog and information_schema, and the rewrite that points statements at them. */
#include "query/pg_catalog.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "olap/duck_exec.h"
#include "qaxdb/schema.h"
#include "query/sql_lexer.h"
#include "util/error.h"

/* PostgreSQL's type OID for a DuckDB type name, as DuckDB's format_type or
 * information_schema.columns spell it; the same choice the wire protocol makes for result
 * columns (unsigned 64-bit and wider integers are numeric, nanosecond times are timestamps). */
#define TYPE_OID_MACRO                                                                             \
  "CREATE OR REPLACE MACRO qx_pg.qx_type_oid(duck_type) AS ("                                      \
  "WITH t(name) AS (SELECT lower(duck_type)) SELECT CASE "                                         \
  "WHEN name IN ('bool', 'boolean') THEN 16 "                                                      \
  "WHEN name IN ('int2', 'smallint', 'tinyint', 'utinyint') THEN 21 "                              \
  "WHEN name IN ('int4', 'integer', 'usmallint') THEN 23 "                                         \
  "WHEN name IN ('int8', 'bigint', 'uinteger') THEN 20 "                                           \
  "WHEN name IN ('float4', 'float', 'real') THEN 700 "                                             \
  "WHEN name IN ('float8', 'double') THEN 701 "                                                    \
  "WHEN name LIKE 'numeric%' OR name LIKE 'decimal%' "                                             \
  "  OR name IN ('ubigint', 'hugeint', 'uhugeint') THEN 1700 "                                     \
  "WHEN name = 'date' THEN 1082 "                                                                  \
  "WHEN name = 'time' THEN 1083 "                                                                  \
  "WHEN name IN ('timestamptz', 'timestamp with time zone') THEN 1184 "                            \
  "WHEN name LIKE 'timestamp%' THEN 1114 "                                                         \
  "WHEN name = 'interval' THEN 1186 "                                                              \
  "WHEN name = 'uuid' THEN 2950 "                                                                  \
  "ELSE 25 END FROM t)"

/* numeric(p,s) as PostgreSQL's typmod, ((p << 16) | s) + 4; -1 for every other type. */
#define TYPMOD_MACRO                                                                               \
  "CREATE OR REPLACE MACRO qx_pg.qx_typmod(duck_type) AS "                                         \
  "coalesce(TRY_CAST(regexp_extract(duck_type, '\\((\\d+),\\s*(\\d+)\\)', 1) AS INTEGER) * 65536 " \
  "+ "                                                                                             \
  "TRY_CAST(regexp_extract(duck_type, '\\((\\d+),\\s*(\\d+)\\)', 2) AS INTEGER) + 4, -1)"

/* An object qx_pg defines under a PostgreSQL name; statements naming pg_catalog.<name> (or
 * information_schema.<name> for those prefixed information_schema_) are pointed at it. */
typedef struct pg_object {
  const char *name, *definition;
} pg_object;

static const pg_object objects[] = {
    {QX_PG_SCHEMA, "CREATE SCHEMA " QX_PG_SCHEMA},
    {"qx_type_oid", TYPE_OID_MACRO},
    {"qx_typmod", TYPMOD_MACRO},
    {"format_type",
     "CREATE OR REPLACE MACRO qx_pg.format_type(type_oid, typmod) AS CASE type_oid "
     "WHEN 16 THEN 'boolean' WHEN 20 THEN 'bigint' WHEN 21 THEN 'smallint' "
     "WHEN 23 THEN 'integer' WHEN 25 THEN 'text' WHEN 700 THEN 'real' "
     "WHEN 701 THEN 'double precision' WHEN 1043 THEN 'character varying' "
     "WHEN 1082 THEN 'date' WHEN 1083 THEN 'time without time zone' "
     "WHEN 1114 THEN 'timestamp without time zone' WHEN 1184 THEN 'timestamp with time zone' "
     "WHEN 1186 THEN 'interval' WHEN 2950 THEN 'uuid' "
     "WHEN 1700 THEN CASE WHEN typmod >= 4 THEN 'numeric(' || ((typmod - 4) // 65536) || ',' || "
     "((typmod - 4) % 65536) || ')' ELSE 'numeric' END END"},
    {"pg_attribute", "CREATE OR REPLACE VIEW qx_pg.pg_attribute AS SELECT * REPLACE ("
                     "qx_pg.qx_type_oid(pg_catalog.format_type(atttypid, atttypmod)) AS atttypid, "
                     "qx_pg.qx_typmod(pg_catalog.format_type(atttypid, atttypmod)) AS atttypmod, "
                     "'p' AS attstorage) "
                     "FROM system.pg_catalog.pg_attribute"},
    {"pg_namespace", "CREATE OR REPLACE VIEW qx_pg.pg_namespace AS SELECT * FROM "
                     "system.pg_catalog.pg_namespace WHERE nspname <> 'qx_pg'"},
    /* pg_class is made in create_pg_class: it names the engine's tables */
    {"pg_class", NULL},
    {"pg_database",
     "CREATE OR REPLACE VIEW qx_pg.pg_database AS SELECT 1 AS oid, 'qaxdb' AS datname, "
     "10 AS datdba, 6 AS encoding, 'c' AS datlocprovider, false AS datistemplate, "
     "true AS datallowconn, -1 AS datconnlimit, 'C' AS datcollate, 'C' AS datctype, "
     "NULL::VARCHAR AS daticulocale, NULL::VARCHAR[] AS datacl"},
    {"pg_collation", "CREATE OR REPLACE VIEW qx_pg.pg_collation AS SELECT 100 AS oid, "
                     "'default' AS collname, 11 AS collnamespace WHERE false"},
    {"pg_policy", "CREATE OR REPLACE VIEW qx_pg.pg_policy AS SELECT NULL::VARCHAR AS polname, "
                  "true AS polpermissive, [0] AS polroles, NULL::VARCHAR AS polqual, "
                  "NULL::VARCHAR AS polwithcheck, 'r' AS polcmd, 0 AS polrelid WHERE false"},
    {"pg_roles", "CREATE OR REPLACE VIEW qx_pg.pg_roles AS SELECT 10 AS oid, 'qaxdb' AS rolname"},
    {"pg_statistic_ext",
     "CREATE OR REPLACE VIEW qx_pg.pg_statistic_ext AS SELECT 0 AS oid, 0 AS stxrelid, "
     "0 AS stxnamespace, NULL::VARCHAR AS stxname, ['d'] AS stxkind, -1 AS stxstattarget "
     "WHERE false"},
    {"pg_publication", "CREATE OR REPLACE VIEW qx_pg.pg_publication AS SELECT 0 AS oid, "
                       "NULL::VARCHAR AS pubname, false AS puballtables WHERE false"},
    {"pg_publication_namespace", "CREATE OR REPLACE VIEW qx_pg.pg_publication_namespace AS "
                                 "SELECT 0 AS pnpubid, 0 AS pnnspid WHERE false"},
    {"pg_publication_rel", "CREATE OR REPLACE VIEW qx_pg.pg_publication_rel AS SELECT 0 AS "
                           "prpubid, 0 AS prrelid, NULL::VARCHAR AS prqual, [0] AS prattrs "
                           "WHERE false"},
    {"pg_inherits", "CREATE OR REPLACE VIEW qx_pg.pg_inherits AS SELECT 0 AS inhrelid, "
                    "0 AS inhparent, 0 AS inhseqno, false AS inhdetachpending WHERE false"},
    {"pg_get_statisticsobjdef_columns",
     "CREATE OR REPLACE MACRO qx_pg.pg_get_statisticsobjdef_columns(statistics) AS NULL::VARCHAR"},
    {"pg_relation_is_publishable",
     "CREATE OR REPLACE MACRO qx_pg.pg_relation_is_publishable(relation) AS false"},
    {"pg_get_userbyid", "CREATE OR REPLACE MACRO qx_pg.pg_get_userbyid(role_oid) AS 'qaxdb'"},
    {"pg_encoding_to_char", "CREATE OR REPLACE MACRO qx_pg.pg_encoding_to_char(e) AS 'UTF8'"},
    {"pg_is_in_recovery", "CREATE OR REPLACE MACRO qx_pg.pg_is_in_recovery() AS false"},
    {"current_setting",
     "CREATE OR REPLACE MACRO qx_pg.current_setting(setting) AS CASE lower(setting) "
     "WHEN 'server_version_num' THEN '150000' WHEN 'server_version' THEN '15.0' "
     "WHEN 'search_path' THEN 'main' WHEN 'server_encoding' THEN 'UTF8' "
     "WHEN 'client_encoding' THEN 'UTF8' WHEN 'standard_conforming_strings' THEN 'on' "
     "WHEN 'timezone' THEN 'UTC' WHEN 'datestyle' THEN 'ISO, YMD' END"},
    {"quote_ident", "CREATE OR REPLACE MACRO qx_pg.quote_ident(name) AS CASE "
                    "WHEN regexp_full_match(name, '[a-z_][a-z0-9_$]*') THEN name "
                    "ELSE '\"' || replace(name, '\"', '\"\"') || '\"' END"},
    {"parse_ident", "CREATE OR REPLACE MACRO qx_pg.parse_ident(name) AS string_split(name, '.')"},
    {"array_lower", "CREATE OR REPLACE MACRO qx_pg.array_lower(list, dimension) AS "
                    "CASE WHEN len(list) > 0 THEN 1 END"},
    {"array_upper", "CREATE OR REPLACE MACRO qx_pg.array_upper(list, dimension) AS "
                    "CASE WHEN len(list) > 0 THEN len(list) END"},
    {"pg_get_expr", "CREATE OR REPLACE MACRO qx_pg.pg_get_expr(node, relation) AS NULL::VARCHAR, "
                    "(node, relation, pretty) AS NULL::VARCHAR"},
    {"pg_table_size", "CREATE OR REPLACE MACRO qx_pg.pg_table_size(relation) AS NULL::BIGINT"},
    {"pg_size_pretty",
     "CREATE OR REPLACE MACRO qx_pg.pg_size_pretty(bytes) AS format_bytes(bytes)"},
    {"regtype", "CREATE TYPE qx_pg.regtype AS VARCHAR"},
    {"regclass", "CREATE TYPE qx_pg.regclass AS VARCHAR"},
    {"regnamespace", "CREATE TYPE qx_pg.regnamespace AS VARCHAR"},
    {"information_schema_tables",
     "CREATE OR REPLACE VIEW qx_pg.information_schema_tables AS SELECT * REPLACE ("
     "CASE WHEN table_schema = 'main' AND table_name IN (SELECT relname FROM qx_pg.pg_class "
     "WHERE relkind = 'r') THEN 'BASE TABLE' ELSE table_type END AS table_type) "
     "FROM system.information_schema.tables WHERE table_schema <> 'qx_pg'"},
    {"information_schema_columns",
     "CREATE OR REPLACE VIEW qx_pg.information_schema_columns AS SELECT * REPLACE ("
     "qx_pg.format_type(qx_pg.qx_type_oid(data_type), -1) AS data_type) "
     "FROM system.information_schema.columns WHERE table_schema <> 'qx_pg'"},
};

/* The engine's tables are views in DuckDB; to clients they are tables (relkind 'r'), since
 * they take INSERT and COPY. qx_pg's own objects are left out. */
static int create_pg_class(duckdb_connection con) {
  qx_buffer t = {0};
  qx_buffer_puts(&t, "CREATE OR REPLACE VIEW qx_pg.pg_class AS SELECT * REPLACE (CASE WHEN "
                     "relkind = 'v' AND relname IN (");
  for (int id = QX_TABLE_MIN; id <= QX_TABLE_MAX; id++) {
    qx_buffer_puts(&t, id > QX_TABLE_MIN ? ", " : "");
    qx_buffer_put_sql_string(&t, qx_schema_by_id(id)->name);
  }
  qx_buffer_puts(
      &t, ") AND relnamespace = (SELECT oid FROM system.pg_catalog.pg_namespace WHERE "
          "nspname = 'main') THEN 'r' ELSE relkind END AS relkind, NULL::VARCHAR[] AS reloptions), "
          "false AS relforcerowsecurity FROM "
          "system.pg_catalog.pg_class WHERE relnamespace NOT IN (SELECT oid FROM "
          "system.pg_catalog.pg_namespace WHERE nspname = 'qx_pg')");
  const char *sql = qx_buffer_text(&t);
  int rc = sql ? qx_duck_exec(con, sql, "pg_catalog", NULL)
               : qx_fail(QX_ERR_NOMEM, "out of memory building the pg_class view");
  qx_buffer_free(&t);
  return rc;
}

int qx_pg_catalog_create(duckdb_connection con) {
  int rc = QX_OK;
  for (size_t i = 0; i < sizeof objects / sizeof *objects && rc == QX_OK; i++)
    rc = objects[i].definition ? qx_duck_exec(con, objects[i].definition, "pg_catalog", NULL)
                               : create_pg_class(con);
  return rc;
}

/* ---- the rewrite ---- */

static int word_is(const char *p, size_t n, const char *word) {
  return strlen(word) == n && strncasecmp(p, word, n) == 0;
}

/* The length of the name at p (0 if none). */
static size_t name_length(const char *p) {
  size_t n = 0;
  while (qx_sql_ident_char((unsigned char)p[n]))
    n++;
  return n;
}

/* Whether qx_pg overrides schema.name: the object's name if so. */
static const char *override_of(const char *schema, size_t schema_len, const char *name,
                               size_t name_len) {
  int information = word_is(schema, schema_len, "information_schema");
  if (!information && !word_is(schema, schema_len, "pg_catalog")) return NULL;
  for (size_t i = 0; i < sizeof objects / sizeof *objects; i++) {
    const char *object = objects[i].name;
    if (information != (strncmp(object, "information_schema_", 19) == 0)) continue;
    if (word_is(name, name_len, information ? object + 19 : object)) return object;
  }
  return NULL;
}

static const char *skip_space(const char *p) {
  while (isspace((unsigned char)*p))
    p++;
  return p;
}

static const char *rewrite_code(const char *p, int until_close, qx_buffer *out, int *rewrote);

/* OPERATOR(pg_catalog.~) is ~. */
static const char *rewrite_operator(const char *p, size_t n, qx_buffer *out) {
  const char *inner = skip_space(skip_space(p + n) + 1), *close = strchr(inner, ')');
  if (!close || strncasecmp(inner, "pg_catalog.", 11) != 0) return p;
  qx_buffer_put(out, inner + 11, (size_t)(close - inner - 11));
  return close + 1;
}

/* COLLATE pg_catalog.default goes: DuckDB has no such collation, and it is the default. */
static const char *rewrite_collate(const char *p, size_t n) {
  const char *what = skip_space(p + n);
  return strncasecmp(what, "pg_catalog.default", 18) == 0 && !qx_sql_ident_char(what[18])
             ? what + 18
             : p;
}

/* ::pg_catalog.text is ::text: DuckDB takes no schema in a cast. */
static const char *rewrite_cast(const char *p, qx_buffer *out) {
  const char *type = skip_space(p + 2);
  if (strncasecmp(type, "pg_catalog.", 11) != 0) return p;
  qx_buffer_puts(out, "::");
  return type + 11;
}

static int is_clause_word(const char *p, size_t n) {
  static const char *const words[] = {"where",  "join",   "on",      "left",  "right", "inner",
                                      "cross",  "full",   "order",   "group", "limit", "union",
                                      "having", "window", "natural", "using"};
  for (size_t i = 0; i < sizeof words / sizeof *words; i++)
    if (word_is(p, n, words[i])) return 1;
  return 0;
}

/* The alias after a function in FROM (p just past its call, "AS" optional), or NULL. */
static const char *function_alias(const char *p, size_t *len) {
  const char *alias = skip_space(p);
  size_t n = name_length(alias);
  if (word_is(alias, n, "as")) {
    alias = skip_space(alias + n);
    n = name_length(alias);
  }
  const char *after = skip_space(alias + n);
  if (n == 0 || is_clause_word(alias, n) || *after == '(' || *after == '.') return NULL;
  *len = n;
  return alias;
}

/* A function in FROM with an alias, as in "FROM generate_series(1, 3) s": in PostgreSQL the
 * alias names its column too (DuckDB: AS s(s)), and string_to_array(...) s is a one-row table
 * (DuckDB takes only table functions there: a subquery stands in for it). Only these; table
 * macros such as ohlcv(...) are DuckDB's own and stay as they are. p is at the function's
 * name; returns p if it leaves the call alone. */
static const char *rewrite_from_function(const char *p, qx_buffer *out, int *rewrote) {
  size_t n = name_length(p), alias_len;
  int rows = word_is(p, n, "generate_series") || word_is(p, n, "unnest");
  if (!rows && !word_is(p, n, "string_to_array")) return p;
  const char *open = skip_space(p + n);
  qx_buffer call = {0};
  qx_buffer_put(&call, p, (size_t)(open + 1 - p));
  const char *alias = function_alias(rewrite_code(open + 1, 1, &call, rewrote), &alias_len);
  if (alias && !call.failed) {
    qx_buffer_puts(out, rows ? "" : "(SELECT ");
    qx_buffer_put(out, call.p, call.len);
    qx_buffer_puts(out, rows ? " AS " : ") AS ");
    qx_buffer_printf(out, "%.*s(%.*s)", (int)alias_len, alias, (int)alias_len, alias);
    p = alias + alias_len;
  }
  qx_buffer_free(&call);
  return p;
}

/* pg_catalog.<name> at p (schema of length n): a function is left to the search path (qx_pg's
 * before DuckDB's); a table or view qx_pg overrides becomes qx_pg's. */
static const char *rewrite_qualified(const char *p, size_t n, qx_buffer *out) {
  const char *name = p + n + 1;
  size_t name_len = name_length(name);
  if (word_is(p, n, "pg_catalog") && *skip_space(name + name_len) == '(') return name;
  const char *object = override_of(p, n, name, name_len);
  if (!object) return p;
  qx_buffer_puts(out, QX_PG_SCHEMA ".");
  qx_buffer_puts(out, object);
  return name + name_len;
}

/* At p, a PostgreSQL form to replace: writes its replacement and returns where the form ends,
 * or returns p. */
static const char *rewrite_at(const char *p, qx_buffer *out) {
  size_t n = name_length(p);
  if (word_is(p, n, "operator") && *skip_space(p + n) == '(') return rewrite_operator(p, n, out);
  if (word_is(p, n, "collate")) return rewrite_collate(p, n);
  if (p[0] == ':' && p[1] == ':') return rewrite_cast(p, out);
  if (n > 0 && p[n] == '.') return rewrite_qualified(p, n, out);
  return p;
}

/* Where a statement is: FROM clauses by parenthesis depth, and whether the code at p begins
 * an item of one (after FROM, JOIN or a comma in FROM). */
#define DEPTHS 32 /* parentheses deeper than this share the last one's FROM flag */

typedef struct place {
  int depth; /* below 0 after a stray ')' */
  unsigned char in_from[DEPTHS];
  int item_start;
} place;

/* Whether the code at the current depth is in a FROM clause. */
static unsigned char *in_from(place *at) {
  int d = at->depth < 0 ? 0 : at->depth < DEPTHS ? at->depth : DEPTHS - 1;
  return &at->in_from[d];
}

static void note_word(place *at, const char *p, size_t n) {
  static const char *const ends[] = {"select", "where", "group",  "order",  "having",
                                     "limit",  "union", "window", "qualify"};
  if (word_is(p, n, "from")) *in_from(at) = 1;
  for (size_t i = 0; i < sizeof ends / sizeof *ends; i++)
    if (word_is(p, n, ends[i])) *in_from(at) = 0;
  at->item_start = *in_from(at) && (word_is(p, n, "from") || word_is(p, n, "join"));
}

/* Copies the code at p into out with its forms rewritten, up to the end of the text or, if
 * until_close, just past the parenthesis that closes one opened before p. */
static const char *rewrite_code(const char *p, int until_close, qx_buffer *out, int *rewrote) {
  place at = {0};
  while (*p) {
    const char *end = qx_sql_skip_quoted(p);
    size_t n = name_length(p);
    if (end == p && (end = rewrite_at(p, out)) != p) {
      *rewrote = 1;
      p = end;
      continue;
    }
    if (end == p && n && at.item_start && *skip_space(p + n) == '(' &&
        (end = rewrite_from_function(p, out, rewrote)) != p) {
      *rewrote = 1;
      at.item_start = 0;
      p = end;
      continue;
    }
    if (end == p && *p == ')' && at.depth-- == 0 && until_close) {
      qx_buffer_put(out, ")", 1);
      return p + 1;
    }
    if (end == p && *p == '(') {
      at.depth++;
      *in_from(&at) = 0;
    }
    if (end == p && n) {
      note_word(&at, p, n); /* a name whole, so that no part of one is taken for a form */
      end = p + n;
    } else if (end == p) {
      if (!isspace((unsigned char)*p)) at.item_start = *p == ',' && *in_from(&at);
      end = p + 1;
    }
    qx_buffer_put(out, p, (size_t)(end - p));
    p = end;
  }
  return p;
}

int qx_pg_catalog_rewrite(const char *text, qx_buffer *out) {
  int rewrote = 0;
  rewrite_code(text, 0, out, &rewrote);
  if (!rewrote) qx_buffer_free(out);
  return rewrote;
}
