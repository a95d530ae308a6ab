/* The event loop of the simulator (see sim.h): choosing what happens next, matching, and
 * turning every state change into the records the venue logs. */
#include "sim/sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qaxdb/records.h"
#include "qaxdb/schema.h"
#include "sim/book.h"
#include "sim/instruments.h"
#include "sim/ledger.h"
#include "sim/rng.h"
#include "util/error.h"

#define POOL_CAPACITY (1u << 20)
#define RESTING_PER_INSTRUMENT 400 /* above this, events cancel rather than add */
#define SNAPSHOT_EVERY 500         /* events between order book snapshots */
#define MID_MARGIN 1024            /* keep the mid this many levels from the ladder ends */

typedef struct sim_market {
  sim_book book;
  int64_t ladder_base; /* price of level 0 */
  int32_t mid;         /* level around which orders are placed */
  int64_t last_price, volume, turnover, open_interest;
} sim_market;

struct sim {
  sim_config config;
  sim_rng rng;
  sim_instrument instruments[SIM_MAX_INSTRUMENTS];
  sim_market *markets;
  sim_order_pool pool;
  sim_account *accounts;
  sim_position *positions; /* [account * instruments + instrument] */
  uint32_t accounts_opened;
  uint64_t next_order_id, next_trade_id, events;
  int64_t now;
  sim_emit_fn emit;
  void *emit_ctx;
  uint32_t emitted;
};

void qx_sim_config_init(sim_config *c) {
  c->seed = 1;
  c->instruments = 50;
  c->accounts = 1000;
  c->start_ns = 1795482000000000000ll; /* 2026-11-24T01:00:00Z, 09:00 in Shanghai */
  c->first_id = 1;
}

int qx_sim_create(const sim_config *config, sim **out) {
  if (config->instruments < 1 || config->instruments > SIM_MAX_INSTRUMENTS || !config->accounts)
    return qx_fail(QX_ERR_INVALID_ARG, "simulate: 1..%d instruments and at least 1 account",
                   SIM_MAX_INSTRUMENTS);
  sim *s = calloc(1, sizeof *s);
  if (!s) return qx_fail(QX_ERR_NOMEM, "simulate");
  s->config = *config;
  sim_rng_seed(&s->rng, config->seed);
  qx_sim_instruments_init(s->instruments, config->instruments);
  s->markets = calloc((size_t)config->instruments, sizeof *s->markets);
  s->accounts = calloc(config->accounts, sizeof *s->accounts);
  s->positions =
      calloc((size_t)config->accounts * (size_t)config->instruments, sizeof *s->positions);
  if (!s->markets || !s->accounts || !s->positions || !qx_sim_pool_init(&s->pool, POOL_CAPACITY)) {
    qx_sim_destroy(s);
    return qx_fail(QX_ERR_NOMEM, "simulate: state for %u accounts", config->accounts);
  }
  for (int i = 0; i < config->instruments; i++) {
    sim_market *m = &s->markets[i];
    qx_sim_book_init(&m->book);
    m->mid = SIM_LADDER / 2;
    m->ladder_base = s->instruments[i].start_price - (int64_t)m->mid * s->instruments[i].tick;
  }
  s->now = config->start_ns;
  s->next_order_id = config->first_id;
  s->next_trade_id = config->first_id;
  *out = s;
  return QX_OK;
}

void qx_sim_destroy(sim *s) {
  if (!s) return;
  qx_sim_pool_free(&s->pool);
  free(s->markets);
  free(s->accounts);
  free(s->positions);
  free(s);
}

/* ---- records ------------------------------------------------------------------------------ */

static void emit(sim *s, uint16_t table, const void *record, uint32_t size) {
  s->emit(s->emit_ctx, table, record, size);
  s->emitted++;
}

static int64_t price_of(const sim *s, uint32_t instrument, int32_t level) {
  return s->markets[instrument].ladder_base + level * s->instruments[instrument].tick;
}

static void emit_order(sim *s, const sim_order *o, uint8_t status) {
  qx_order r;
  memset(&r, 0, sizeof r);
  r.order_id = o->order_id;
  memcpy(r.account_id, s->accounts[o->account].id, sizeof r.account_id);
  memcpy(r.instrument_id, s->instruments[o->instrument].id, sizeof r.instrument_id);
  r.side = o->side;
  r.offset = o->offset;
  r.order_type = o->order_type;
  r.status = status;
  r.price = o->order_type == QX_ORDER_LIMIT ? price_of(s, o->instrument, o->level) : 0;
  r.volume = o->volume;
  r.filled_volume = o->filled;
  r.insert_ts = o->insert_ts;
  r.update_ts = s->now;
  emit(s, QX_TABLE_ORDERS, &r, sizeof r);
}

static uint8_t fill_status(const sim_order *o) {
  return o->filled == 0           ? QX_STATUS_NEW
         : o->filled == o->volume ? QX_STATUS_FILLED
                                  : QX_STATUS_PARTIALLY_FILLED;
}

static sim_position *position_of(sim *s, uint32_t account, uint32_t instrument) {
  return &s->positions[(size_t)account * (size_t)s->config.instruments + instrument];
}

static void emit_account(sim *s, uint32_t account) {
  qx_account r;
  qx_sim_account_record(&s->accounts[account], s->now, &r);
  emit(s, QX_TABLE_ACCOUNTS, &r, sizeof r);
}

static void emit_position(sim *s, uint32_t account, uint32_t instrument) {
  qx_position r;
  qx_sim_position_record(&s->accounts[account], &s->instruments[instrument],
                         position_of(s, account, instrument), s->now, &r);
  emit(s, QX_TABLE_POSITIONS, &r, sizeof r);
}

static void emit_tick(sim *s, uint32_t instrument) {
  sim_market *m = &s->markets[instrument];
  qx_tick t;
  memset(&t, 0, sizeof t);
  memcpy(t.instrument_id, s->instruments[instrument].id, sizeof t.instrument_id);
  t.ts = s->now;
  t.last_price = m->last_price;
  int32_t level;
  if (qx_sim_book_depth(&m->book, QX_SIDE_BUY, 1, &level, &t.bid_volume))
    t.bid_price = price_of(s, instrument, level);
  if (qx_sim_book_depth(&m->book, QX_SIDE_SELL, 1, &level, &t.ask_volume))
    t.ask_price = price_of(s, instrument, level);
  t.volume = m->volume;
  t.turnover = m->turnover;
  t.open_interest = m->open_interest;
  /* Turnover carries the contract multiplier; money and price share one scale. */
  if (m->volume > 0)
    t.average_price = m->turnover / (m->volume * s->instruments[instrument].multiplier);
  emit(s, QX_TABLE_TICKS, &t, sizeof t);
}

static void emit_snapshot(sim *s, uint32_t instrument) {
  sim_market *m = &s->markets[instrument];
  qx_orderbook_snapshot r;
  memset(&r, 0, sizeof r);
  memcpy(r.instrument_id, s->instruments[instrument].id, sizeof r.instrument_id);
  r.ts = s->now;
  int32_t levels[QX_BOOK_LEVELS];
  int n = qx_sim_book_depth(&m->book, QX_SIDE_BUY, QX_BOOK_LEVELS, levels, r.bid_volume);
  for (int i = 0; i < n; i++)
    r.bid_price[i] = price_of(s, instrument, levels[i]);
  n = qx_sim_book_depth(&m->book, QX_SIDE_SELL, QX_BOOK_LEVELS, levels, r.ask_volume);
  for (int i = 0; i < n; i++)
    r.ask_price[i] = price_of(s, instrument, levels[i]);
  emit(s, QX_TABLE_ORDERBOOK_SNAPSHOTS, &r, sizeof r);
}

/* ---- state changes ------------------------------------------------------------------------ */

static void open_account(sim *s) {
  uint32_t i = s->accounts_opened++;
  sim_account *a = &s->accounts[i];
  snprintf(a->id, sizeof a->id, "acct%06u", i + 1);
  a->deposit = (int64_t)(500000 + sim_rng_below(&s->rng, 4500001)) * 10000; /* whole CNY */
  emit_account(s, i);
}

/* Applies a fill of volume at price to one order's account and position. */
static void book_fill(sim *s, sim_order *o, int64_t price, int64_t volume) {
  sim_account *a = &s->accounts[o->account];
  a->frozen_margin -= o->frozen_per_lot * volume;
  s->markets[o->instrument].open_interest +=
      qx_sim_ledger_fill(a, position_of(s, o->account, o->instrument),
                         &s->instruments[o->instrument], o->side, o->offset, price, volume);
}

static void emit_trade(sim *s, const sim_order *taker, const sim_order *maker, int64_t price,
                       int64_t volume) {
  const sim_order *buy = taker->side == QX_SIDE_BUY ? taker : maker;
  const sim_order *sell = taker->side == QX_SIDE_BUY ? maker : taker;
  qx_trade t;
  memset(&t, 0, sizeof t);
  t.trade_id = s->next_trade_id++;
  memcpy(t.instrument_id, s->instruments[taker->instrument].id, sizeof t.instrument_id);
  t.buy_order_id = buy->order_id;
  t.sell_order_id = sell->order_id;
  memcpy(t.buy_account_id, s->accounts[buy->account].id, sizeof t.buy_account_id);
  memcpy(t.sell_account_id, s->accounts[sell->account].id, sizeof t.sell_account_id);
  t.price = price;
  t.volume = volume;
  t.aggressor = taker->side;
  t.ts = s->now;
  emit(s, QX_TABLE_TRADES, &t, sizeof t);
}

/* Matches the incoming order against the book; returns 1 if anything traded. */
static int match(sim *s, sim_order *taker, int32_t limit_level) {
  sim_market *m = &s->markets[taker->instrument];
  int traded = 0;
  while (taker->filled < taker->volume) {
    uint32_t maker_index = qx_sim_book_match_candidate(&m->book, taker->side, limit_level);
    if (maker_index == SIM_NONE) break;
    sim_order *maker = &s->pool.orders[maker_index];
    int64_t volume = taker->volume - taker->filled;
    if (maker->volume - maker->filled < volume) volume = maker->volume - maker->filled;
    int64_t price = price_of(s, taker->instrument, maker->level);
    emit_trade(s, taker, maker, price, volume);
    int complete = qx_sim_book_fill(&m->book, &s->pool, maker_index, volume);
    book_fill(s, maker, price, volume);
    taker->filled += volume;
    book_fill(s, taker, price, volume);
    m->last_price = price;
    m->volume += volume;
    m->turnover += price * volume * s->instruments[taker->instrument].multiplier;
    emit_order(s, maker, fill_status(maker));
    emit_account(s, maker->account);
    emit_position(s, maker->account, maker->instrument);
    if (complete) qx_sim_book_remove(&m->book, &s->pool, maker_index);
    traded = 1;
  }
  return traded;
}

/* Releases what an order still holds (frozen margin, volume reserved to close). */
static void release_unfilled(sim *s, const sim_order *o) {
  int64_t left = o->volume - o->filled;
  s->accounts[o->account].frozen_margin -= o->frozen_per_lot * left;
  if (o->offset != QX_OFFSET_OPEN) {
    int closes = o->side == QX_SIDE_BUY ? QX_SIDE_SELL : QX_SIDE_BUY;
    position_of(s, o->account, o->instrument)->side[closes].closing -= left;
  }
}

/* Decides open or close (always close when reducing, else by a coin when there is something to
 * close) and reserves what the order needs; 0 if margin is insufficient. */
static int admit(sim *s, sim_order *o, int64_t reference_price, int reducing) {
  sim_position *p = position_of(s, o->account, o->instrument);
  sim_side_position *opposite = &p->side[o->side == QX_SIDE_BUY ? QX_SIDE_SELL : QX_SIDE_BUY];
  int64_t closable = opposite->volume - opposite->closing;
  if (closable > 0 && (reducing || sim_rng_below(&s->rng, 2))) {
    if (o->volume > closable) o->volume = closable;
    o->offset = QX_OFFSET_CLOSE;
    opposite->closing += o->volume;
    return 1;
  }
  o->offset = QX_OFFSET_OPEN;
  const sim_instrument *ins = &s->instruments[o->instrument];
  o->frozen_per_lot = qx_sim_margin_per_lot(ins, reference_price);
  sim_account *a = &s->accounts[o->account];
  int64_t needed = (o->frozen_per_lot + ins->commission_lot) * o->volume;
  if (qx_sim_account_available(a) < needed) return 0;
  a->frozen_margin += o->frozen_per_lot * o->volume;
  return 1;
}

/* An account using over half its balance as margin looks for a position to reduce: up to a
 * few instruments are tried, and the order side is the one that closes. Otherwise -1. */
static int reducing_side(sim *s, uint32_t account, uint32_t *instrument) {
  const sim_account *a = &s->accounts[account];
  if (a->margin * 2 < qx_sim_account_balance(a)) return -1;
  for (int attempt = 0; attempt < 8; attempt++) {
    uint32_t i =
        attempt ? (uint32_t)sim_rng_below(&s->rng, (uint64_t)s->config.instruments) : *instrument;
    const sim_position *p = position_of(s, account, i);
    for (int held = 0; held < 2; held++)
      if (p->side[held].volume > p->side[held].closing) {
        *instrument = i;
        return held == QX_SIDE_BUY ? QX_SIDE_SELL : QX_SIDE_BUY;
      }
  }
  return -1;
}

static void new_order(sim *s, int market) {
  uint32_t instrument = (uint32_t)sim_rng_below(&s->rng, (uint64_t)s->config.instruments);
  uint32_t account = (uint32_t)sim_rng_below(&s->rng, s->accounts_opened);
  int side = reducing_side(s, account, &instrument);
  int reducing = side >= 0;
  if (!reducing) side = (int)sim_rng_below(&s->rng, 2);
  sim_market *m = &s->markets[instrument];
  if (sim_rng_below(&s->rng, 16) == 0) { /* the market drifts */
    m->mid += sim_rng_below(&s->rng, 2) ? 1 : -1;
    if (m->mid < MID_MARGIN) m->mid = MID_MARGIN;
    if (m->mid > SIM_LADDER - MID_MARGIN) m->mid = SIM_LADDER - MID_MARGIN;
  }
  uint32_t slot = qx_sim_pool_take(&s->pool);
  if (slot == SIM_NONE) return;
  sim_order *o = &s->pool.orders[slot];
  memset(o, 0, sizeof *o);
  o->order_id = s->next_order_id++;
  o->insert_ts = s->now;
  o->account = account;
  o->instrument = instrument;
  o->side = (uint8_t)side;
  o->order_type = market ? QX_ORDER_MARKET : QX_ORDER_LIMIT;
  o->volume = 1 + (int64_t)sim_rng_below(&s->rng, 10);
  int32_t distance = (int32_t)sim_rng_below(&s->rng, 12) - 2; /* < 0: crosses the mid */
  o->level = o->side == QX_SIDE_BUY ? m->mid - distance : m->mid + distance;
  int32_t limit = market ? (o->side == QX_SIDE_BUY ? SIM_LADDER : -1) : o->level;
  int32_t reference = market ? m->mid + (o->side == QX_SIDE_BUY ? 20 : -20) : o->level;
  if (!admit(s, o, price_of(s, instrument, reference), reducing)) {
    emit_order(s, o, QX_STATUS_REJECTED);
    qx_sim_pool_give(&s->pool, slot);
    return;
  }
  emit_order(s, o, QX_STATUS_NEW);
  int traded = match(s, o, limit);
  int done = market || o->filled == o->volume; /* market orders never rest (IOC) */
  if (done) {
    release_unfilled(s, o);
    emit_order(s, o, o->filled == o->volume ? QX_STATUS_FILLED : QX_STATUS_CANCELLED);
  } else if (traded) {
    emit_order(s, o, fill_status(o));
  }
  emit_account(s, o->account);
  if (traded) {
    emit_position(s, o->account, instrument);
    emit_tick(s, instrument);
  }
  if (done) {
    qx_sim_pool_give(&s->pool, slot);
  } else {
    qx_sim_book_rest(&m->book, &s->pool, slot);
  }
}

static void cancel_order(sim *s) {
  uint32_t slot = s->pool.resting[sim_rng_below(&s->rng, s->pool.resting_count)];
  sim_order *o = &s->pool.orders[slot];
  release_unfilled(s, o);
  emit_order(s, o, QX_STATUS_CANCELLED);
  emit_account(s, o->account);
  qx_sim_book_remove(&s->markets[o->instrument].book, &s->pool, slot);
}

uint32_t qx_sim_reference_data(sim *s, sim_emit_fn emit_fn, void *ctx) {
  for (int i = 0; i < s->config.instruments; i++) {
    qx_instrument r;
    qx_sim_instrument_record(&s->instruments[i], s->config.start_ns, &r);
    emit_fn(ctx, QX_TABLE_INSTRUMENTS, &r, sizeof r);
  }
  return (uint32_t)s->config.instruments;
}

uint32_t qx_sim_next(sim *s, sim_emit_fn emit_fn, void *ctx) {
  s->emit = emit_fn;
  s->emit_ctx = ctx;
  s->emitted = 0;
  s->now += 1000 * (1 + (int64_t)sim_rng_below(&s->rng, 50)); /* 1..50 us between events */
  if (s->accounts_opened < s->config.accounts) {
    open_account(s);
  } else {
    uint64_t dice = sim_rng_below(&s->rng, 100);
    int crowded = s->pool.resting_count > (uint32_t)s->config.instruments * RESTING_PER_INSTRUMENT;
    if ((dice >= 75 || crowded) && s->pool.resting_count > 0)
      cancel_order(s);
    else
      new_order(s, dice >= 65 && dice < 75);
    if (++s->events % SNAPSHOT_EVERY == 0)
      emit_snapshot(s, (uint32_t)(s->events / SNAPSHOT_EVERY % (uint64_t)s->config.instruments));
  }
  return s->emitted;
}
