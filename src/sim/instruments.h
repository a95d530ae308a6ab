/* The instruments the simulator trades: futures contracts with a tick size, a contract
 * multiplier, a margin rate and a commission, modelled on Chinese futures exchanges. The
 * simulator writes them to the instruments table before its first event. */
#ifndef QX_SIM_INSTRUMENTS_H
#define QX_SIM_INSTRUMENTS_H

#include <stdint.h>

#include "qaxdb/records.h"

typedef struct sim_instrument {
  char id[QX_INSTRUMENT_ID_LEN];
  char exchange[QX_EXCHANGE_ID_LEN];
  char product[QX_PRODUCT_ID_LEN];
  int64_t tick;           /* price step, QX_PRICE_SCALE */
  int64_t start_price;    /* QX_PRICE_SCALE, a multiple of tick */
  int64_t multiplier;     /* units per lot: money = price * volume * multiplier */
  int64_t margin_percent; /* margin per lot = price * multiplier * margin_percent / 100 */
  int64_t commission_lot; /* QX_MONEY_SCALE, per lot traded, each side */
} sim_instrument;

#define SIM_MAX_INSTRUMENTS 64

/* Fills out with count instruments (count <= SIM_MAX_INSTRUMENTS), the same for every run. */
void qx_sim_instruments_init(sim_instrument *out, int count);

/* The reference-data record (table instruments) of ins, effective at ts. */
void qx_sim_instrument_record(const sim_instrument *ins, int64_t ts, qx_instrument *out);

#endif
