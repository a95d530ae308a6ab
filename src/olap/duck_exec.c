/* One DuckDB statement, its error kept (see duck_exec.h). */
#include "olap/duck_exec.h"

#include "util/error.h"

int qx_duck_exec(duckdb_connection con, const char *sql, const char *context,
                 uint64_t *first_value) {
  duckdb_result res;
  int rc = QX_OK;
  if (duckdb_query(con, sql, &res) == DuckDBError)
    rc = qx_fail(QX_ERR_SQL, "%s: %s", context, duckdb_result_error(&res));
  else if (first_value)
    *first_value = (uint64_t)duckdb_value_int64(&res, 0, 0);
  duckdb_destroy_result(&res);
  return rc;
}
