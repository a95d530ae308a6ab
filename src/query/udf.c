/* Exchange functions registered with DuckDB through its C API:
 *   price_to_ticks(price DECIMAL(18,4), tick DECIMAL(18,4)) -> BIGINT
 *       the number of ticks nearest to price (halves away from zero);
 *   round_to_tick(price DECIMAL(18,4), tick DECIMAL(18,4)) -> DECIMAL(18,4)
 *       price rounded to the nearest multiple of tick;
 *   trading_day(ts TIMESTAMP_NS) -> DATE
 *       the trading day a timestamp belongs to (night session -> next trading day). */
#include "query/udf.h"

#include <stdint.h>

#include "olap/trading_day.h"
#include "qaxdb/records.h"
#include "util/error.h"

static int64_t nearest_ticks(int64_t price, int64_t tick) {
  int64_t q = price / tick, r = price % tick;
  if (2 * (r < 0 ? -r : r) >= tick) q += price < 0 ? -1 : 1;
  return q;
}

/* Rounds each price of a (price, tick) call to the nearest tick: the tick count, or as_price
 * the rounded price. Both arguments are DECIMAL(18,4), so their int64 forms share a scale. */
static void tick_function(duckdb_function_info info, duckdb_data_chunk input, duckdb_vector output,
                          int as_price) {
  idx_t n = duckdb_data_chunk_get_size(input);
  duckdb_vector pv = duckdb_data_chunk_get_vector(input, 0);
  duckdb_vector tv = duckdb_data_chunk_get_vector(input, 1);
  const int64_t *price = duckdb_vector_get_data(pv), *tick = duckdb_vector_get_data(tv);
  uint64_t *pvalid = duckdb_vector_get_validity(pv), *tvalid = duckdb_vector_get_validity(tv);
  int64_t *out = duckdb_vector_get_data(output);
  for (idx_t i = 0; i < n; i++) {
    if ((pvalid && !duckdb_validity_row_is_valid(pvalid, i)) ||
        (tvalid && !duckdb_validity_row_is_valid(tvalid, i))) {
      duckdb_vector_ensure_validity_writable(output);
      duckdb_validity_set_row_invalid(duckdb_vector_get_validity(output), i);
      continue;
    }
    if (tick[i] <= 0) {
      duckdb_scalar_function_set_error(info, "tick must be positive");
      return;
    }
    int64_t ticks = nearest_ticks(price[i], tick[i]);
    out[i] = as_price ? ticks * tick[i] : ticks;
  }
}

static void price_to_ticks_fn(duckdb_function_info info, duckdb_data_chunk input,
                              duckdb_vector output) {
  tick_function(info, input, output, 0);
}

static void round_to_tick_fn(duckdb_function_info info, duckdb_data_chunk input,
                             duckdb_vector output) {
  tick_function(info, input, output, 1);
}

static void trading_day_fn(duckdb_function_info info, duckdb_data_chunk input,
                           duckdb_vector output) {
  (void)info;
  idx_t n = duckdb_data_chunk_get_size(input);
  duckdb_vector in = duckdb_data_chunk_get_vector(input, 0);
  const int64_t *ts = duckdb_vector_get_data(in);
  uint64_t *valid = duckdb_vector_get_validity(in);
  int32_t *out = duckdb_vector_get_data(output);
  for (idx_t i = 0; i < n; i++) {
    if (valid && !duckdb_validity_row_is_valid(valid, i)) {
      duckdb_vector_ensure_validity_writable(output);
      duckdb_validity_set_row_invalid(duckdb_vector_get_validity(output), i);
      continue;
    }
    out[i] = qx_trading_day(ts[i]);
  }
}

static int register_function(duckdb_connection con, const char *name, duckdb_type *params,
                             int count, duckdb_logical_type ret, duckdb_scalar_function_t fn) {
  duckdb_scalar_function f = duckdb_create_scalar_function();
  duckdb_scalar_function_set_name(f, name);
  for (int i = 0; i < count; i++) {
    duckdb_logical_type t = params[i] == DUCKDB_TYPE_DECIMAL
                                ? duckdb_create_decimal_type(18, QX_PRICE_SCALE)
                                : duckdb_create_logical_type(params[i]);
    duckdb_scalar_function_add_parameter(f, t);
    duckdb_destroy_logical_type(&t);
  }
  duckdb_scalar_function_set_return_type(f, ret);
  duckdb_destroy_logical_type(&ret);
  duckdb_scalar_function_set_function(f, fn);
  duckdb_state st = duckdb_register_scalar_function(con, f);
  duckdb_destroy_scalar_function(&f);
  return st == DuckDBSuccess ? QX_OK : qx_fail(QX_ERR_SQL, "cannot register function %s", name);
}

int qx_register_udfs(duckdb_connection con) {
  duckdb_type prices[2] = {DUCKDB_TYPE_DECIMAL, DUCKDB_TYPE_DECIMAL};
  duckdb_type ts[1] = {DUCKDB_TYPE_TIMESTAMP_NS};
  int rc = register_function(con, "price_to_ticks", prices, 2,
                             duckdb_create_logical_type(DUCKDB_TYPE_BIGINT), price_to_ticks_fn);
  if (rc == QX_OK)
    rc = register_function(con, "round_to_tick", prices, 2,
                           duckdb_create_decimal_type(18, QX_PRICE_SCALE), round_to_tick_fn);
  if (rc == QX_OK)
    rc = register_function(con, "trading_day", ts, 1, duckdb_create_logical_type(DUCKDB_TYPE_DATE),
                           trading_day_fn);
  return rc;
}
