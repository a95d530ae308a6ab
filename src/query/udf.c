/* Exchange functions registered with DuckDB through its C API:
 *   price_to_ticks(price DECIMAL(18,4), tick DECIMAL(18,4)) -> BIGINT
 *       the number of ticks nearest to price (halves away from zero);
 *   round_to_tick(price DECIMAL(18,4), tick DECIMAL(18,4)) -> DECIMAL(18,4)
 *       price rounded to the nearest multiple of tick;
 *   trading_day(ts TIMESTAMP_NS | TIMESTAMP | TIMESTAMP WITH TIME ZONE) -> DATE
 *       the trading day a timestamp belongs to (night session -> next trading day); the
 *       time-zone form takes the instant, so trading_day(now()) is today's trading day. */
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

/* Trading days of a vector of timestamps in units of unit_ns nanoseconds (1: TIMESTAMP_NS;
 * 1000: TIMESTAMP and TIMESTAMPTZ, both microseconds since the epoch in UTC). Instants that
 * nanoseconds cannot hold (beyond 1677..2262, or +-infinity) have no trading day: NULL. */
static void trading_day_of(duckdb_data_chunk input, duckdb_vector output, int64_t unit_ns) {
  idx_t n = duckdb_data_chunk_get_size(input);
  duckdb_vector in = duckdb_data_chunk_get_vector(input, 0);
  const int64_t *ts = duckdb_vector_get_data(in);
  uint64_t *valid = duckdb_vector_get_validity(in);
  int32_t *out = duckdb_vector_get_data(output);
  for (idx_t i = 0; i < n; i++) {
    int null = valid && !duckdb_validity_row_is_valid(valid, i);
    if (!null && (ts[i] > INT64_MAX / unit_ns || ts[i] < INT64_MIN / unit_ns)) null = 1;
    if (null) {
      duckdb_vector_ensure_validity_writable(output);
      duckdb_validity_set_row_invalid(duckdb_vector_get_validity(output), i);
      continue;
    }
    out[i] = qx_trading_day(ts[i] * unit_ns);
  }
}

static void trading_day_ns_fn(duckdb_function_info info, duckdb_data_chunk input,
                              duckdb_vector output) {
  (void)info;
  trading_day_of(input, output, 1);
}

static void trading_day_us_fn(duckdb_function_info info, duckdb_data_chunk input,
                              duckdb_vector output) {
  (void)info;
  trading_day_of(input, output, 1000);
}

static duckdb_scalar_function make_function(const char *name, const duckdb_type *params, int count,
                                            duckdb_type ret, duckdb_scalar_function_t fn) {
  duckdb_scalar_function f = duckdb_create_scalar_function();
  duckdb_scalar_function_set_name(f, name);
  for (int i = 0; i < count; i++) {
    duckdb_logical_type t = params[i] == DUCKDB_TYPE_DECIMAL
                                ? duckdb_create_decimal_type(18, QX_PRICE_SCALE)
                                : duckdb_create_logical_type(params[i]);
    duckdb_scalar_function_add_parameter(f, t);
    duckdb_destroy_logical_type(&t);
  }
  duckdb_logical_type r = ret == DUCKDB_TYPE_DECIMAL
                              ? duckdb_create_decimal_type(18, QX_PRICE_SCALE)
                              : duckdb_create_logical_type(ret);
  duckdb_scalar_function_set_return_type(f, r);
  duckdb_destroy_logical_type(&r);
  duckdb_scalar_function_set_function(f, fn);
  return f;
}

static int register_function(duckdb_connection con, duckdb_scalar_function f, const char *name) {
  duckdb_state st = duckdb_register_scalar_function(con, f);
  duckdb_destroy_scalar_function(&f);
  return st == DuckDBSuccess ? QX_OK : qx_fail(QX_ERR_SQL, "cannot register function %s", name);
}

/* trading_day over each timestamp type, so that no caller needs a cast (TIMESTAMPTZ has none
 * to TIMESTAMP_NS, and one to TIMESTAMP would apply the session's time zone). */
static int register_trading_day(duckdb_connection con) {
  static const duckdb_type types[] = {DUCKDB_TYPE_TIMESTAMP_NS, DUCKDB_TYPE_TIMESTAMP,
                                      DUCKDB_TYPE_TIMESTAMP_TZ};
  duckdb_scalar_function_set set = duckdb_create_scalar_function_set("trading_day");
  duckdb_state st = DuckDBSuccess;
  for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
    duckdb_scalar_function f =
        make_function("trading_day", &types[i], 1, DUCKDB_TYPE_DATE,
                      types[i] == DUCKDB_TYPE_TIMESTAMP_NS ? trading_day_ns_fn : trading_day_us_fn);
    if (st == DuckDBSuccess) st = duckdb_add_scalar_function_to_set(set, f);
    duckdb_destroy_scalar_function(&f);
  }
  if (st == DuckDBSuccess) st = duckdb_register_scalar_function_set(con, set);
  duckdb_destroy_scalar_function_set(&set);
  return st == DuckDBSuccess ? QX_OK : qx_fail(QX_ERR_SQL, "cannot register function trading_day");
}

int qx_register_udfs(duckdb_connection con) {
  static const duckdb_type prices[2] = {DUCKDB_TYPE_DECIMAL, DUCKDB_TYPE_DECIMAL};
  int rc = register_function(
      con, make_function("price_to_ticks", prices, 2, DUCKDB_TYPE_BIGINT, price_to_ticks_fn),
      "price_to_ticks");
  if (rc == QX_OK)
    rc = register_function(
        con, make_function("round_to_tick", prices, 2, DUCKDB_TYPE_DECIMAL, round_to_tick_fn),
        "round_to_tick");
  if (rc == QX_OK) rc = register_trading_day(con);
  return rc;
}
