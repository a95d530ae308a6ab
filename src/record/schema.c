/* Schema descriptors of the built-in tables (see qaxdb/schema.h) and compile-time checks that
 * the record structs in qaxdb/records.h have exactly the layout the descriptors and the on-disk
 * formats promise. Adding a column means a new schema version: see docs/formats/records.md. */
#include <stddef.h>
#include <string.h>

#include "qaxdb/records.h"
#include "qaxdb/schema.h"

#define FIELD_WIDTH(type, field) ((uint16_t)sizeof(((type *)0)->field))
#define COL_SINCE(version, type, field, coltype, sc)                                               \
  {                                                                                                \
#field, coltype, (uint16_t)offsetof(type, field), FIELD_WIDTH(type, field), sc, NULL, 0,       \
        version                                                                                    \
  }
#define COL(type, field, coltype, sc) COL_SINCE(1, type, field, coltype, sc)
#define ENUM_COL(type, field, names)                                                               \
  {                                                                                                \
#field, QX_COL_ENUM, (uint16_t)offsetof(type, field), 1, 0, names,                             \
        (uint8_t)(sizeof(names) / sizeof((names)[0])), 1                                           \
  }
#define COUNT(array) ((uint32_t)(sizeof(array) / sizeof((array)[0])))

static const char *const side_names[] = {"buy", "sell"};
static const char *const offset_names[] = {"open", "close", "close_today"};
static const char *const order_type_names[] = {"limit", "market"};
static const char *const status_names[] = {"new", "partially_filled", "filled", "cancelled",
                                           "rejected"};

static const qx_column order_columns[] = {
    COL(qx_order, order_id, QX_COL_U64, 0),
    COL(qx_order, account_id, QX_COL_CHAR, 0),
    COL(qx_order, instrument_id, QX_COL_CHAR, 0),
    ENUM_COL(qx_order, side, side_names),
    ENUM_COL(qx_order, offset, offset_names),
    ENUM_COL(qx_order, order_type, order_type_names),
    ENUM_COL(qx_order, status, status_names),
    COL(qx_order, price, QX_COL_DECIMAL, QX_PRICE_SCALE),
    COL(qx_order, volume, QX_COL_I64, 0),
    COL(qx_order, filled_volume, QX_COL_I64, 0),
    COL(qx_order, insert_ts, QX_COL_TIMESTAMP, 0),
    COL(qx_order, update_ts, QX_COL_TIMESTAMP, 0),
};
static const uint16_t order_key[] = {0};

static const qx_column trade_columns[] = {
    COL(qx_trade, trade_id, QX_COL_U64, 0),
    COL(qx_trade, instrument_id, QX_COL_CHAR, 0),
    COL(qx_trade, buy_order_id, QX_COL_U64, 0),
    COL(qx_trade, sell_order_id, QX_COL_U64, 0),
    COL(qx_trade, buy_account_id, QX_COL_CHAR, 0),
    COL(qx_trade, sell_account_id, QX_COL_CHAR, 0),
    COL(qx_trade, price, QX_COL_DECIMAL, QX_PRICE_SCALE),
    COL(qx_trade, volume, QX_COL_I64, 0),
    ENUM_COL(qx_trade, aggressor, side_names),
    COL(qx_trade, ts, QX_COL_TIMESTAMP, 0),
};
static const uint16_t trade_key[] = {0};

static const qx_column account_columns[] = {
    COL(qx_account, account_id, QX_COL_CHAR, 0),
    COL(qx_account, currency, QX_COL_CHAR, 0),
    COL(qx_account, pre_balance, QX_COL_DECIMAL, QX_MONEY_SCALE),
    COL(qx_account, deposit, QX_COL_DECIMAL, QX_MONEY_SCALE),
    COL(qx_account, withdraw, QX_COL_DECIMAL, QX_MONEY_SCALE),
    COL(qx_account, close_profit, QX_COL_DECIMAL, QX_MONEY_SCALE),
    COL(qx_account, commission, QX_COL_DECIMAL, QX_MONEY_SCALE),
    COL(qx_account, position_profit, QX_COL_DECIMAL, QX_MONEY_SCALE),
    COL(qx_account, balance, QX_COL_DECIMAL, QX_MONEY_SCALE),
    COL(qx_account, margin, QX_COL_DECIMAL, QX_MONEY_SCALE),
    COL(qx_account, frozen_margin, QX_COL_DECIMAL, QX_MONEY_SCALE),
    COL(qx_account, available, QX_COL_DECIMAL, QX_MONEY_SCALE),
    COL(qx_account, risk_ratio, QX_COL_DECIMAL, QX_RATIO_SCALE),
    COL(qx_account, ts, QX_COL_TIMESTAMP, 0),
};
static const uint16_t account_key[] = {0};

static const qx_column position_columns[] = {
    COL(qx_position, account_id, QX_COL_CHAR, 0),
    COL(qx_position, instrument_id, QX_COL_CHAR, 0),
    COL(qx_position, long_volume, QX_COL_I64, 0),
    COL(qx_position, short_volume, QX_COL_I64, 0),
    COL(qx_position, long_open_cost, QX_COL_DECIMAL, QX_MONEY_SCALE),
    COL(qx_position, short_open_cost, QX_COL_DECIMAL, QX_MONEY_SCALE),
    COL(qx_position, margin, QX_COL_DECIMAL, QX_MONEY_SCALE),
    COL(qx_position, ts, QX_COL_TIMESTAMP, 0),
    COL_SINCE(2, qx_position, close_profit, QX_COL_DECIMAL, QX_MONEY_SCALE),
};
static const uint16_t position_key[] = {0, 1};

static const qx_column tick_columns[] = {
    COL(qx_tick, instrument_id, QX_COL_CHAR, 0),
    COL(qx_tick, ts, QX_COL_TIMESTAMP, 0),
    COL(qx_tick, last_price, QX_COL_DECIMAL, QX_PRICE_SCALE),
    COL(qx_tick, bid_price, QX_COL_DECIMAL, QX_PRICE_SCALE),
    COL(qx_tick, bid_volume, QX_COL_I64, 0),
    COL(qx_tick, ask_price, QX_COL_DECIMAL, QX_PRICE_SCALE),
    COL(qx_tick, ask_volume, QX_COL_I64, 0),
    COL(qx_tick, volume, QX_COL_I64, 0),
    COL(qx_tick, turnover, QX_COL_DECIMAL, QX_MONEY_SCALE),
    COL(qx_tick, open_interest, QX_COL_I64, 0),
    COL_SINCE(2, qx_tick, average_price, QX_COL_DECIMAL, QX_PRICE_SCALE),
};
static const uint16_t tick_key[] = {0, 1};

/* The 10 book levels are flattened into columns bid_price_1 .. ask_volume_10 (best first). */
#define LEVEL(field, i, coltype, sc)                                                               \
  {                                                                                                \
#field "_" #i, coltype,                                                                        \
        (uint16_t)(offsetof(qx_orderbook_snapshot, field) + sizeof(int64_t) * ((i)-1)), 8, sc,     \
        NULL, 0, 1                                                                                 \
  }
#define LEVELS(field, coltype, sc)                                                                 \
  LEVEL(field, 1, coltype, sc), LEVEL(field, 2, coltype, sc), LEVEL(field, 3, coltype, sc),        \
      LEVEL(field, 4, coltype, sc), LEVEL(field, 5, coltype, sc), LEVEL(field, 6, coltype, sc),    \
      LEVEL(field, 7, coltype, sc), LEVEL(field, 8, coltype, sc), LEVEL(field, 9, coltype, sc),    \
      LEVEL(field, 10, coltype, sc)

static const qx_column orderbook_columns[] = {
    COL(qx_orderbook_snapshot, instrument_id, QX_COL_CHAR, 0),
    COL(qx_orderbook_snapshot, ts, QX_COL_TIMESTAMP, 0),
    LEVELS(bid_price, QX_COL_DECIMAL, QX_PRICE_SCALE),
    LEVELS(bid_volume, QX_COL_I64, 0),
    LEVELS(ask_price, QX_COL_DECIMAL, QX_PRICE_SCALE),
    LEVELS(ask_volume, QX_COL_I64, 0),
};
static const uint16_t orderbook_key[] = {0, 1};

static const qx_column kline_columns[] = {
    COL(qx_kline, instrument_id, QX_COL_CHAR, 0),
    COL(qx_kline, period_s, QX_COL_U32, 0),
    COL(qx_kline, ts, QX_COL_TIMESTAMP, 0),
    COL(qx_kline, open, QX_COL_DECIMAL, QX_PRICE_SCALE),
    COL(qx_kline, high, QX_COL_DECIMAL, QX_PRICE_SCALE),
    COL(qx_kline, low, QX_COL_DECIMAL, QX_PRICE_SCALE),
    COL(qx_kline, close, QX_COL_DECIMAL, QX_PRICE_SCALE),
    COL(qx_kline, volume, QX_COL_I64, 0),
    COL(qx_kline, turnover, QX_COL_DECIMAL, QX_MONEY_SCALE),
};
static const uint16_t kline_key[] = {0, 1, 2};

static const qx_column instrument_columns[] = {
    COL(qx_instrument, instrument_id, QX_COL_CHAR, 0),
    COL(qx_instrument, exchange, QX_COL_CHAR, 0),
    COL(qx_instrument, product, QX_COL_CHAR, 0),
    COL(qx_instrument, price_tick, QX_COL_DECIMAL, QX_PRICE_SCALE),
    COL(qx_instrument, multiplier, QX_COL_I64, 0),
    COL(qx_instrument, margin_ratio, QX_COL_DECIMAL, QX_RATIO_SCALE),
    COL(qx_instrument, commission_per_lot, QX_COL_DECIMAL, QX_MONEY_SCALE),
    COL(qx_instrument, settlement_price, QX_COL_DECIMAL, QX_PRICE_SCALE),
    COL(qx_instrument, ts, QX_COL_TIMESTAMP, 0),
};
static const uint16_t instrument_key[] = {0};

/* Record layouts are part of the on-disk format: any change here is a format change. */
_Static_assert(sizeof(qx_order) == 104, "orders record layout");
_Static_assert(sizeof(qx_trade) == 136, "trades record layout");
_Static_assert(sizeof(qx_account) == 136, "accounts record layout");
_Static_assert(sizeof(qx_position) == 104,
               "positions record layout (version 2; version 1 is 96 bytes)");
_Static_assert(sizeof(qx_tick) == 96, "ticks record layout (version 2; version 1 is 88 bytes)");
_Static_assert(sizeof(qx_orderbook_snapshot) == 344, "orderbook_snapshots record layout");
_Static_assert(sizeof(qx_kline) == 80, "klines record layout");
_Static_assert(sizeof(qx_instrument) == 80, "instruments record layout");

#define SCHEMA(id, name, version, type, cols, key, latest)                                         \
  { id, name, version, sizeof(type), cols, COUNT(cols), key, COUNT(key), latest }

static const qx_schema schemas[] = {
    SCHEMA(QX_TABLE_ORDERS, "orders", 1, qx_order, order_columns, order_key, 1),
    SCHEMA(QX_TABLE_TRADES, "trades", 1, qx_trade, trade_columns, trade_key, 0),
    SCHEMA(QX_TABLE_ACCOUNTS, "accounts", 1, qx_account, account_columns, account_key, 1),
    SCHEMA(QX_TABLE_POSITIONS, "positions", 2, qx_position, position_columns, position_key, 1),
    SCHEMA(QX_TABLE_TICKS, "ticks", 2, qx_tick, tick_columns, tick_key, 0),
    SCHEMA(QX_TABLE_ORDERBOOK_SNAPSHOTS, "orderbook_snapshots", 1, qx_orderbook_snapshot,
           orderbook_columns, orderbook_key, 0),
    SCHEMA(QX_TABLE_KLINES, "klines", 1, qx_kline, kline_columns, kline_key, 1),
    SCHEMA(QX_TABLE_INSTRUMENTS, "instruments", 1, qx_instrument, instrument_columns,
           instrument_key, 1),
};

const qx_schema *qx_schema_by_id(int table_id) {
  if (table_id < QX_TABLE_MIN || table_id > QX_TABLE_MAX) return NULL;
  return &schemas[table_id - QX_TABLE_MIN];
}

const qx_schema *qx_schema_by_name(const char *name) {
  for (size_t i = 0; i < COUNT(schemas); i++)
    if (strcmp(schemas[i].name, name) == 0) return &schemas[i];
  return NULL;
}

uint32_t qx_schema_column_count(const qx_schema *schema, unsigned version) {
  if (version == 0 || version > schema->version) return 0;
  uint32_t n = 0;
  while (n < schema->column_count && schema->columns[n].since_version <= version)
    n++;
  return n;
}

uint32_t qx_schema_record_size(const qx_schema *schema, unsigned version) {
  uint32_t n = qx_schema_column_count(schema, version);
  if (n == 0) return 0;
  return n < schema->column_count ? schema->columns[n].offset : schema->record_size;
}

unsigned qx_schema_version_of_size(const qx_schema *schema, uint32_t size) {
  for (unsigned v = 1; v <= schema->version; v++)
    if (qx_schema_record_size(schema, v) == size) return v;
  return 0;
}

int qx_schema_column_index(const qx_schema *schema, const char *name) {
  for (uint32_t i = 0; i < schema->column_count; i++)
    if (strcmp(schema->columns[i].name, name) == 0) return (int)i;
  return -1;
}

int qx_column_enum_value(const qx_column *col, const char *name) {
  for (int i = 0; i < col->enum_count; i++)
    if (strcmp(col->enum_names[i], name) == 0) return i;
  return -1;
}
