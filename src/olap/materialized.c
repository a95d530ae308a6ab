/* The materialized views (see materialized.h): 1-minute klines per instrument and traded
 * totals per account and trading day, both from trades. Sums are cast to fixed types so that
 * partial and combined rows keep one Parquet schema however often they are folded. */
#include "olap/materialized.h"

#define MV_KLINES_1M (QX_MV_ID_BASE + 1)
#define MV_ACCOUNT_DAILY_TOTALS (QX_MV_ID_BASE + 2)

static const qx_mv views[] = {
    {
        MV_KLINES_1M,
        "klines_1m",
        QX_TABLE_TRADES,
        "WITH src AS (%s) SELECT instrument_id, date, "
        "time_bucket(INTERVAL 1 MINUTE, ts::TIMESTAMP) AS bar_start, "
        "min(lsn) AS first_lsn, max(lsn) AS last_lsn, arg_min(price, lsn) AS open, "
        "max(price) AS high, min(price) AS low, arg_max(price, lsn) AS close, "
        "sum(volume)::BIGINT AS volume, sum(price * volume)::DECIMAL(38,4) AS turnover, "
        "count(*)::BIGINT AS trades FROM src GROUP BY ALL",
        "WITH src AS (%s) SELECT instrument_id, date, bar_start, "
        "min(first_lsn) AS first_lsn, max(last_lsn) AS last_lsn, "
        "arg_min(open, first_lsn) AS open, max(high) AS high, min(low) AS low, "
        "arg_max(close, last_lsn) AS close, sum(volume)::BIGINT AS volume, "
        "sum(turnover)::DECIMAL(38,4) AS turnover, sum(trades)::BIGINT AS trades "
        "FROM src GROUP BY ALL",
        "instrument_id, bar_start, open, high, low, close, volume, turnover, trades, "
        "last_lsn AS lsn, date",
    },
    {
        MV_ACCOUNT_DAILY_TOTALS,
        "account_daily_totals",
        QX_TABLE_TRADES,
        "WITH src AS (%s), sides AS ("
        "SELECT buy_account_id AS account_id, date, lsn, volume, price * volume AS turnover, "
        "volume AS buy_volume, 0 AS sell_volume FROM src UNION ALL "
        "SELECT sell_account_id, date, lsn, volume, price * volume, 0, volume FROM src) "
        "SELECT account_id, date, max(lsn) AS last_lsn, count(*)::BIGINT AS trades, "
        "sum(volume)::BIGINT AS volume, sum(buy_volume)::BIGINT AS buy_volume, "
        "sum(sell_volume)::BIGINT AS sell_volume, sum(turnover)::DECIMAL(38,4) AS turnover "
        "FROM sides GROUP BY ALL",
        "WITH src AS (%s) SELECT account_id, date, max(last_lsn) AS last_lsn, "
        "sum(trades)::BIGINT AS trades, sum(volume)::BIGINT AS volume, "
        "sum(buy_volume)::BIGINT AS buy_volume, sum(sell_volume)::BIGINT AS sell_volume, "
        "sum(turnover)::DECIMAL(38,4) AS turnover FROM src GROUP BY ALL",
        "account_id, date, trades AS trade_count, volume, buy_volume, sell_volume, turnover, "
        "last_lsn AS lsn",
    },
};
#define VIEW_COUNT ((int)(sizeof views / sizeof *views))

const qx_mv *qx_mv_by_id(uint16_t id) {
  for (int i = 0; i < VIEW_COUNT; i++)
    if (views[i].id == id) return &views[i];
  return NULL;
}

const qx_mv *qx_mv_all(int *count) {
  *count = VIEW_COUNT;
  return views;
}

const char *qx_olap_table_name(uint16_t id) {
  const qx_schema *s = qx_schema_by_id(id);
  if (s) return s->name;
  const qx_mv *v = qx_mv_by_id(id);
  return v ? v->name : NULL;
}
