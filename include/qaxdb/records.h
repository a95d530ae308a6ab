/* The fixed-layout records of the built-in tables, at their current schema version.
 * A record is little-endian, naturally aligned, with explicit padding, so that a record in a
 * WAL segment, an SSTable block or shared memory can be read in place as one of these structs.
 * Prices and money are fixed point (int64, QX_PRICE_SCALE / QX_MONEY_SCALE digits after the
 * point); timestamps are int64 nanoseconds since the Unix epoch (UTC). Strings are fixed-width,
 * NUL-padded. src/record/schema.c describes every field and checks these layouts at compile time.
 */
#ifndef QAXDB_RECORDS_H
#define QAXDB_RECORDS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define QX_PRICE_SCALE 4 /* 38500000 = 3850.0000 */
#define QX_MONEY_SCALE 4
#define QX_RATIO_SCALE 6 /* risk ratio: 250000 = 0.25 */
#define QX_ACCOUNT_ID_LEN 32
#define QX_INSTRUMENT_ID_LEN 16
#define QX_CURRENCY_LEN 8
#define QX_EXCHANGE_ID_LEN 8
#define QX_PRODUCT_ID_LEN 8
#define QX_BOOK_LEVELS 10

enum qx_side { QX_SIDE_BUY = 0, QX_SIDE_SELL = 1 };
enum qx_offset { QX_OFFSET_OPEN = 0, QX_OFFSET_CLOSE = 1, QX_OFFSET_CLOSE_TODAY = 2 };
enum qx_order_type { QX_ORDER_LIMIT = 0, QX_ORDER_MARKET = 1 };
enum qx_order_status {
  QX_STATUS_NEW = 0,
  QX_STATUS_PARTIALLY_FILLED = 1,
  QX_STATUS_FILLED = 2,
  QX_STATUS_CANCELLED = 3,
  QX_STATUS_REJECTED = 4,
};

typedef struct qx_order {
  uint64_t order_id;
  char account_id[QX_ACCOUNT_ID_LEN];
  char instrument_id[QX_INSTRUMENT_ID_LEN];
  uint8_t side;       /* enum qx_side */
  uint8_t offset;     /* enum qx_offset */
  uint8_t order_type; /* enum qx_order_type */
  uint8_t status;     /* enum qx_order_status */
  uint32_t reserved;
  int64_t price; /* QX_PRICE_SCALE; 0 for market orders */
  int64_t volume;
  int64_t filled_volume;
  int64_t insert_ts;
  int64_t update_ts;
} qx_order;

typedef struct qx_trade {
  uint64_t trade_id;
  char instrument_id[QX_INSTRUMENT_ID_LEN];
  uint64_t buy_order_id;
  uint64_t sell_order_id;
  char buy_account_id[QX_ACCOUNT_ID_LEN];
  char sell_account_id[QX_ACCOUNT_ID_LEN];
  int64_t price; /* QX_PRICE_SCALE */
  int64_t volume;
  uint8_t aggressor; /* enum qx_side of the order that crossed the spread */
  uint8_t reserved[7];
  int64_t ts;
} qx_trade;

typedef struct qx_account {
  char account_id[QX_ACCOUNT_ID_LEN];
  char currency[QX_CURRENCY_LEN];
  int64_t pre_balance; /* all money fields QX_MONEY_SCALE */
  int64_t deposit;
  int64_t withdraw;
  int64_t close_profit;
  int64_t commission;
  int64_t position_profit;
  int64_t balance;
  int64_t margin;
  int64_t frozen_margin;
  int64_t available;
  int64_t risk_ratio; /* QX_RATIO_SCALE: margin / balance */
  int64_t ts;
} qx_account;

typedef struct qx_position {
  char account_id[QX_ACCOUNT_ID_LEN];
  char instrument_id[QX_INSTRUMENT_ID_LEN];
  int64_t long_volume;
  int64_t short_volume;
  int64_t long_open_cost; /* QX_MONEY_SCALE: sum of price * volume * multiplier when opened */
  int64_t short_open_cost;
  int64_t margin;
  int64_t ts;
  /* schema version 2: */
  int64_t close_profit; /* QX_MONEY_SCALE: profit realized by closing on this instrument, so far */
} qx_position;

typedef struct qx_tick {
  char instrument_id[QX_INSTRUMENT_ID_LEN];
  int64_t ts;
  int64_t last_price; /* all prices QX_PRICE_SCALE */
  int64_t bid_price;
  int64_t bid_volume;
  int64_t ask_price;
  int64_t ask_volume;
  int64_t volume;   /* cumulative traded volume of the trading day */
  int64_t turnover; /* cumulative traded value, QX_MONEY_SCALE */
  int64_t open_interest;
  /* version 2 */
  int64_t average_price; /* the day's volume-weighted average trade price, QX_PRICE_SCALE */
} qx_tick;

typedef struct qx_orderbook_snapshot {
  char instrument_id[QX_INSTRUMENT_ID_LEN];
  int64_t ts;
  int64_t bid_price[QX_BOOK_LEVELS]; /* best first; 0 where the level is empty */
  int64_t bid_volume[QX_BOOK_LEVELS];
  int64_t ask_price[QX_BOOK_LEVELS];
  int64_t ask_volume[QX_BOOK_LEVELS];
} qx_orderbook_snapshot;

typedef struct qx_kline {
  char instrument_id[QX_INSTRUMENT_ID_LEN];
  uint32_t period_s; /* bar length in seconds: 60, 300, 3600, 86400 */
  uint32_t reserved;
  int64_t ts; /* start of the bar */
  int64_t open;
  int64_t high;
  int64_t low;
  int64_t close;
  int64_t volume;
  int64_t turnover;
} qx_kline;

/* Reference data: the contract terms of a listed instrument. The newest version of an
 * instrument_id holds; the SQL functions that need a multiplier or a tick read it from here. */
typedef struct qx_instrument {
  char instrument_id[QX_INSTRUMENT_ID_LEN];
  char exchange[QX_EXCHANGE_ID_LEN]; /* "SHFE", "DCE", "CZCE", "CFFEX", "INE" */
  char product[QX_PRODUCT_ID_LEN];   /* the product code: "rb" for rb2501 */
  int64_t price_tick;                /* QX_PRICE_SCALE: prices are multiples of it */
  int64_t multiplier;                /* units per lot: money = price * volume * multiplier */
  int64_t margin_ratio;       /* QX_RATIO_SCALE: margin per lot = price * multiplier * ratio */
  int64_t commission_per_lot; /* QX_MONEY_SCALE, per lot traded, each side */
  int64_t settlement_price;   /* QX_PRICE_SCALE: the reference price the session opens from */
  int64_t ts;                 /* when these terms took effect */
} qx_instrument;

#ifdef __cplusplus
}
#endif
#endif
