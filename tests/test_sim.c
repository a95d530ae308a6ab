/* The simulator: the same seed gives byte-identical records and a different seed does not; and
 * over a long run the records obey the venue's accounting: orders never overfill and their
 * filled volume equals their trades, positions equal the net of trades, account balances
 * follow deposits, profits and commissions, commissions equal the traded lots, and trade
 * prices lie on the instrument's tick grid; the reference data written before the first event
 * holds the contract terms the ledger applies. */
#include <stdlib.h>

#include "check.h"
#include "qaxdb/records.h"
#include "qaxdb/schema.h"
#include "sim/instruments.h"
#include "sim/ledger.h"
#include "sim/sim.h"

#define EVENTS 100000
#define INSTRUMENTS 8
#define ACCOUNTS 50

static void hash_record(void *ctx, uint16_t table, const void *record, uint32_t size) {
  uint64_t *h = ctx;
  *h = (*h ^ table) * 0x100000001b3ull;
  for (uint32_t i = 0; i < size; i++)
    *h = (*h ^ ((const uint8_t *)record)[i]) * 0x100000001b3ull;
}

static uint64_t run_hash(uint64_t seed, uint64_t events) {
  sim_config c;
  qx_sim_config_init(&c);
  c.seed = seed;
  c.instruments = INSTRUMENTS;
  c.accounts = ACCOUNTS;
  sim *s;
  CHECK_OK(qx_sim_create(&c, &s));
  uint64_t h = 0xcbf29ce484222325ull;
  for (uint64_t e = 0; e < events; e++)
    qx_sim_next(s, hash_record, &h);
  qx_sim_destroy(s);
  return h;
}

static void test_determinism(void) {
  uint64_t a = run_hash(7, 20000), b = run_hash(7, 20000), c = run_hash(8, 20000);
  CHECK(a == b);
  CHECK(a != c);
}

typedef struct ledger_check {
  sim_instrument instruments[INSTRUMENTS];
  int64_t *order_volume, *order_filled, *order_traded; /* by order id */
  uint64_t order_capacity, overfilled, filled_went_back;
  qx_account last_account[ACCOUNTS + 1];
  int64_t net_traded[ACCOUNTS + 1][INSTRUMENTS]; /* buys - sells */
  qx_position last_position[ACCOUNTS + 1][INSTRUMENTS];
  int64_t expected_commission;
  uint64_t trades, off_tick, bad_balance;
} ledger_check;

static int instrument_index(const ledger_check *lc, const char *id) {
  for (int i = 0; i < INSTRUMENTS; i++)
    if (strncmp(lc->instruments[i].id, id, QX_INSTRUMENT_ID_LEN) == 0) return i;
  return -1;
}

static int account_number(const char *id) {
  return atoi(id + 4); /* "acct000017" */
}

static void check_order(ledger_check *lc, const qx_order *o) {
  if (o->order_id >= lc->order_capacity) return;
  if (o->filled_volume > o->volume) lc->overfilled++;
  if (o->filled_volume < lc->order_filled[o->order_id]) lc->filled_went_back++;
  lc->order_volume[o->order_id] = o->volume;
  lc->order_filled[o->order_id] = o->filled_volume;
}

static void check_trade(ledger_check *lc, const qx_trade *t) {
  int i = instrument_index(lc, t->instrument_id);
  CHECK(i >= 0);
  if (i < 0) return;
  lc->trades++;
  if (t->price % lc->instruments[i].tick != 0) lc->off_tick++;
  if (t->buy_order_id < lc->order_capacity) lc->order_traded[t->buy_order_id] += t->volume;
  if (t->sell_order_id < lc->order_capacity) lc->order_traded[t->sell_order_id] += t->volume;
  lc->net_traded[account_number(t->buy_account_id)][i] += t->volume;
  lc->net_traded[account_number(t->sell_account_id)][i] -= t->volume;
  lc->expected_commission += 2 * t->volume * lc->instruments[i].commission_lot;
}

static void check_account(ledger_check *lc, const qx_account *a) {
  if (a->balance != a->deposit + a->close_profit - a->commission ||
      a->available != a->balance - a->margin - a->frozen_margin || a->frozen_margin < 0 ||
      a->margin < 0)
    lc->bad_balance++;
  lc->last_account[account_number(a->account_id)] = *a;
}

static void observe(void *ctx, uint16_t table, const void *record, uint32_t size) {
  ledger_check *lc = ctx;
  CHECK_EQ_U64(size, qx_schema_by_id(table)->record_size);
  if (table == QX_TABLE_ORDERS)
    check_order(lc, record);
  else if (table == QX_TABLE_TRADES)
    check_trade(lc, record);
  else if (table == QX_TABLE_ACCOUNTS)
    check_account(lc, record);
  else if (table == QX_TABLE_POSITIONS) {
    const qx_position *p = record;
    int i = instrument_index(lc, p->instrument_id);
    if (i >= 0) lc->last_position[account_number(p->account_id)][i] = *p;
  }
}

static void test_invariants(void) {
  static ledger_check lc;
  qx_sim_instruments_init(lc.instruments, INSTRUMENTS);
  lc.order_capacity = 4 * EVENTS;
  lc.order_volume = calloc(lc.order_capacity, sizeof(int64_t));
  lc.order_filled = calloc(lc.order_capacity, sizeof(int64_t));
  lc.order_traded = calloc(lc.order_capacity, sizeof(int64_t));
  sim_config c;
  qx_sim_config_init(&c);
  c.seed = 42;
  c.instruments = INSTRUMENTS;
  c.accounts = ACCOUNTS;
  sim *s;
  CHECK_OK(qx_sim_create(&c, &s));
  for (int e = 0; e < EVENTS; e++)
    qx_sim_next(s, observe, &lc);
  qx_sim_destroy(s);

  CHECK(lc.trades > EVENTS / 50); /* the matcher does match */
  CHECK_EQ_U64(lc.overfilled, 0);
  CHECK_EQ_U64(lc.filled_went_back, 0);
  CHECK_EQ_U64(lc.off_tick, 0);
  CHECK_EQ_U64(lc.bad_balance, 0);
  uint64_t mismatched = 0;
  for (uint64_t id = 1; id < lc.order_capacity; id++)
    if (lc.order_traded[id] != lc.order_filled[id]) mismatched++;
  CHECK_EQ_U64(mismatched, 0);

  int64_t commission = 0, any_realized = 0;
  uint64_t wrong_positions = 0, wrong_realized = 0;
  for (int a = 1; a <= ACCOUNTS; a++) {
    commission += lc.last_account[a].commission;
    int64_t realized = 0; /* per instrument, summed: the account's close profit */
    for (int i = 0; i < INSTRUMENTS; i++) {
      const qx_position *p = &lc.last_position[a][i];
      if (p->long_volume - p->short_volume != lc.net_traded[a][i] || p->long_volume < 0 ||
          p->short_volume < 0)
        wrong_positions++;
      realized += p->close_profit;
      any_realized |= p->close_profit;
    }
    if (realized != lc.last_account[a].close_profit) wrong_realized++;
  }
  CHECK_EQ_U64(wrong_positions, 0);
  CHECK_EQ_U64(wrong_realized, 0);
  CHECK(any_realized != 0); /* positions were closed, at a profit or a loss */
  CHECK(commission == lc.expected_commission);
  free(lc.order_volume);
  free(lc.order_filled);
  free(lc.order_traded);
}

typedef struct reference_data {
  qx_instrument records[SIM_MAX_INSTRUMENTS];
  int count, other_tables;
} reference_data;

static void collect_reference(void *ctx, uint16_t table, const void *record, uint32_t size) {
  reference_data *r = ctx;
  if (table != QX_TABLE_INSTRUMENTS || size != sizeof(qx_instrument) ||
      r->count == SIM_MAX_INSTRUMENTS)
    r->other_tables++;
  else
    memcpy(&r->records[r->count++], record, size);
}

/* The reference data a run writes first: one instruments record per instrument traded, with
 * the terms the ledger applies (margin from margin_ratio equals the simulator's margin). */
static void test_reference_data(void) {
  sim_config c;
  qx_sim_config_init(&c);
  c.instruments = 40;
  sim *s;
  CHECK_OK(qx_sim_create(&c, &s));
  static reference_data r;
  CHECK_EQ_U64(qx_sim_reference_data(s, collect_reference, &r), 40);
  CHECK_EQ_U64(r.count, 40);
  CHECK_EQ_U64(r.other_tables, 0);
  sim_instrument ins[40];
  qx_sim_instruments_init(ins, 40);
  for (int i = 0; i < 40; i++) {
    const qx_instrument *q = &r.records[i];
    CHECK(strncmp(q->instrument_id, ins[i].id, QX_INSTRUMENT_ID_LEN) == 0);
    CHECK(q->price_tick == ins[i].tick && q->multiplier == ins[i].multiplier);
    CHECK(q->commission_per_lot == ins[i].commission_lot);
    CHECK(q->settlement_price == ins[i].start_price && q->ts == c.start_ns);
    CHECK(q->exchange[0] != 0 && strncmp(q->instrument_id, q->product, strlen(q->product)) == 0);
    int64_t price = ins[i].start_price;
    CHECK(price * q->multiplier * q->margin_ratio / 1000000 ==
          qx_sim_margin_per_lot(&ins[i], price));
  }
  CHECK(strncmp(r.records[32].instrument_id, "rb2502", QX_INSTRUMENT_ID_LEN) == 0);
  CHECK(strcmp(r.records[21].exchange, "CFFEX") == 0); /* IF */
  qx_sim_destroy(s);
}

static void test_bad_config(void) {
  sim_config c;
  qx_sim_config_init(&c);
  c.instruments = 0;
  sim *s;
  CHECK_RC(qx_sim_create(&c, &s), QX_ERR_INVALID_ARG);
  c.instruments = 5;
  c.accounts = 0;
  CHECK_RC(qx_sim_create(&c, &s), QX_ERR_INVALID_ARG);
}

int main(void) {
  test_determinism();
  test_invariants();
  test_reference_data();
  test_bad_config();
  return test_finish("test_sim");
}
