/* The rewrite of PostgreSQL's catalog dialect into what DuckDB and qaxdb's qx_pg schema take
 * (query/pg_catalog.h): each form psql and Grafana send, and text that must stay as it is. */
#include "check.h"
#include "query/pg_catalog.h"

int check_failures;

/* Checks that text is rewritten into want, or left alone if want is NULL. */
static void check_rewrite(const char *text, const char *want) {
  qx_buffer out = {0};
  int rewrote = qx_pg_catalog_rewrite(text, &out);
  CHECK_EQ_U64(rewrote, want != NULL);
  if (want && rewrote) CHECK_STR(qx_buffer_text(&out), want);
  if (!want) CHECK_EQ_U64(out.len, 0);
  qx_buffer_free(&out);
}

int main(void) {
  check_rewrite("SELECT 1", NULL);
  check_rewrite("SELECT c.oid FROM pg_catalog.pg_class c WHERE c.relname "
                "OPERATOR(pg_catalog.~) '^(trades)$' COLLATE pg_catalog.default",
                "SELECT c.oid FROM qx_pg.pg_class c WHERE c.relname ~ '^(trades)$' ");
  check_rewrite("SELECT pg_catalog.format_type(a, b), x::pg_catalog.text FROM "
                "information_schema.tables",
                "SELECT format_type(a, b), x::text FROM qx_pg.information_schema_tables");
  /* a table qx_pg does not override stays DuckDB's */
  check_rewrite("SELECT amname FROM pg_catalog.pg_am", NULL);
  /* quoted text, quoted names and comments are not code */
  check_rewrite("SELECT 'pg_catalog.pg_class', \"pg_catalog.pg_class\" -- pg_catalog.pg_class\n"
                "/* OPERATOR(pg_catalog.~) */ FROM t",
                NULL);
  check_rewrite("SELECT $$ pg_catalog.pg_class $$, E'\\' pg_catalog.pg_class'", NULL);
  /* functions in FROM: the alias names the column, a scalar becomes a one-row table */
  check_rewrite("SELECT s FROM pg_catalog.generate_series(0, 3) s",
                "SELECT s FROM generate_series(0, 3) AS s(s)");
  check_rewrite("SELECT x FROM string_to_array('a,b', ',') s, unnest(s) AS x",
                "SELECT x FROM (SELECT string_to_array('a,b', ',')) AS s(s), unnest(s) AS x(x)");
  check_rewrite("SELECT (SELECT count(*) FROM generate_series(1, 2) g WHERE g > 1) FROM t",
                "SELECT (SELECT count(*) FROM generate_series(1, 2) AS g(g) WHERE g > 1) FROM t");
  check_rewrite("SELECT s FROM generate_series(pg_catalog.array_upper(a::pg_catalog.int2[], 1)) s",
                "SELECT s FROM generate_series(array_upper(a::int2[], 1)) AS s(s)");
  /* the same calls outside FROM, without an alias, or table macros are left alone */
  check_rewrite("SELECT string_to_array('a', ',') s FROM trades", NULL);
  check_rewrite("SELECT * FROM generate_series(1, 3) WHERE generate_series > 1", NULL);
  check_rewrite("SELECT * FROM ohlcv('x', INTERVAL 1 MINUTE) o", NULL);
  check_rewrite("SELECT * FROM trades t, generate_series(1, 2) g(n)", NULL);
  /* a stray parenthesis, and a call longer than a line of text, rewritten whole */
  check_rewrite("SELECT 1) FROM pg_catalog.pg_class", "SELECT 1) FROM qx_pg.pg_class");
  char long_call[2048], want[2200];
  snprintf(long_call, sizeof long_call, "SELECT s FROM generate_series(0, %01500d) s", 7);
  snprintf(want, sizeof want, "SELECT s FROM generate_series(0, %01500d) AS s(s)", 7);
  check_rewrite(long_call, want);
  return check_failures ? 1 : 0;
}
