/* Accounts and positions of the simulated venue, in exact fixed point. Per account:
 *   balance   = deposit + close_profit - commission        (no withdrawals, no mark-to-market)
 *   available = balance - margin - frozen_margin
 * Opening a position adds its cost (price x volume x multiplier) and margin (cost x margin
 * rate); closing releases both in proportion and books the difference to close_profit. */
#ifndef QX_SIM_LEDGER_H
#define QX_SIM_LEDGER_H

#include <stdint.h>

#include "qaxdb/records.h"
#include "sim/instruments.h"

typedef struct sim_side_position {
  int64_t volume, cost, margin;
  int64_t closing; /* volume in resting orders that close this side */
} sim_side_position;

typedef struct sim_position {
  sim_side_position side[2]; /* [QX_SIDE_BUY] long, [QX_SIDE_SELL] short */
  int64_t close_profit;      /* realized on this instrument; the account's is the sum */
} sim_position;

typedef struct sim_account {
  char id[QX_ACCOUNT_ID_LEN];
  int64_t deposit, close_profit, commission, margin, frozen_margin;
} sim_account;

int64_t qx_sim_account_balance(const sim_account *a);
int64_t qx_sim_account_available(const sim_account *a);

/* A fill of volume at price for an order of side and offset: updates the position, the
 * account's margin, commission and close profit. Returns the change in open interest (long
 * volume of the instrument). */
int64_t qx_sim_ledger_fill(sim_account *account, sim_position *position, const sim_instrument *ins,
                           int side, int offset, int64_t price, int64_t volume);

/* Margin one lot at price needs. */
int64_t qx_sim_margin_per_lot(const sim_instrument *ins, int64_t price);

void qx_sim_account_record(const sim_account *a, int64_t ts, qx_account *out);
void qx_sim_position_record(const sim_account *a, const sim_instrument *ins, const sim_position *p,
                            int64_t ts, qx_position *out);

#endif
