/* Which SQL engine this build links: proves at build and test time that DuckDB is present. */
#include <duckdb.h>

#include "query/engine_info.h"

const char *qx_sql_engine_version(void) {
  return duckdb_library_version();
}
