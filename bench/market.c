/* The benches' generated market (market.h). */
#include "market.h"

void bench_market_init(bench_market *m) {
  qx_sim_instruments_init(m->instruments, SIM_MAX_INSTRUMENTS);
  for (int i = 0; i < BENCH_INSTRUMENTS; i++)
    m->price[i] = m->instruments[i].start_price;
  sim_rng_seed(&m->rng, 42);
}

int bench_market_next(bench_market *m) {
  int ins = (int)sim_rng_below(&m->rng, BENCH_INSTRUMENTS);
  int64_t step = ((int64_t)sim_rng_below(&m->rng, 3) - 1) * m->instruments[ins].tick;
  if (m->price[ins] + step > 0) m->price[ins] += step;
  return ins;
}
