/* Exchange functions for SQL (price_to_ticks, round_to_tick, trading_day); see udf.c. */
#ifndef QX_QUERY_UDF_H
#define QX_QUERY_UDF_H

#include <duckdb.h>

int qx_register_udfs(duckdb_connection con);

#endif
