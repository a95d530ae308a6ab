/* Position and account bookkeeping for the simulator (see ledger.h). */
#include "sim/ledger.h"

#include <string.h>

int64_t qx_sim_account_balance(const sim_account *a) {
  return a->deposit + a->close_profit - a->commission;
}

int64_t qx_sim_account_available(const sim_account *a) {
  return qx_sim_account_balance(a) - a->margin - a->frozen_margin;
}

int64_t qx_sim_margin_per_lot(const sim_instrument *ins, int64_t price) {
  return price * ins->multiplier * ins->margin_percent / 100;
}

int64_t qx_sim_ledger_fill(sim_account *account, sim_position *position, const sim_instrument *ins,
                           int side, int offset, int64_t price, int64_t volume) {
  int64_t value = price * volume * ins->multiplier;
  account->commission += ins->commission_lot * volume;
  if (offset == QX_OFFSET_OPEN) {
    sim_side_position *p = &position->side[side]; /* a buy opens long, a sell opens short */
    int64_t margin = qx_sim_margin_per_lot(ins, price) * volume;
    p->volume += volume;
    p->cost += value;
    p->margin += margin;
    account->margin += margin;
    return side == QX_SIDE_BUY ? volume : 0;
  }
  sim_side_position *p = &position->side[side == QX_SIDE_BUY ? QX_SIDE_SELL : QX_SIDE_BUY];
  int64_t cost = p->cost * volume / p->volume;
  int64_t margin = p->margin * volume / p->volume;
  int64_t profit = side == QX_SIDE_SELL ? value - cost : cost - value;
  account->close_profit += profit;
  position->close_profit += profit;
  account->margin -= margin;
  p->volume -= volume;
  p->cost -= cost;
  p->margin -= margin;
  p->closing -= volume;
  return side == QX_SIDE_SELL ? -volume : 0;
}

void qx_sim_account_record(const sim_account *a, int64_t ts, qx_account *out) {
  memset(out, 0, sizeof *out);
  memcpy(out->account_id, a->id, sizeof out->account_id);
  memcpy(out->currency, "CNY", 4);
  out->deposit = a->deposit;
  out->close_profit = a->close_profit;
  out->commission = a->commission;
  out->balance = qx_sim_account_balance(a);
  out->margin = a->margin;
  out->frozen_margin = a->frozen_margin;
  out->available = qx_sim_account_available(a);
  out->risk_ratio = out->balance > 0 ? (int64_t)((__int128)a->margin * 1000000 / out->balance) : 0;
  out->ts = ts;
}

void qx_sim_position_record(const sim_account *a, const sim_instrument *ins, const sim_position *p,
                            int64_t ts, qx_position *out) {
  memset(out, 0, sizeof *out);
  memcpy(out->account_id, a->id, sizeof out->account_id);
  memcpy(out->instrument_id, ins->id, sizeof out->instrument_id);
  out->long_volume = p->side[QX_SIDE_BUY].volume;
  out->short_volume = p->side[QX_SIDE_SELL].volume;
  out->long_open_cost = p->side[QX_SIDE_BUY].cost;
  out->short_open_cost = p->side[QX_SIDE_SELL].cost;
  out->margin = p->side[QX_SIDE_BUY].margin + p->side[QX_SIDE_SELL].margin;
  out->ts = ts;
  out->close_profit = p->close_profit;
}
