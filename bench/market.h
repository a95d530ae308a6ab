/* The generated market the SQL and server benches trade in: the simulator's instruments, each
 * price moving by at most one tick per trade, from a fixed seed, so that every run writes the
 * same trades. */
#ifndef QX_BENCH_MARKET_H
#define QX_BENCH_MARKET_H

#include <stdint.h>

#include "sim/instruments.h"
#include "sim/rng.h"

#define BENCH_INSTRUMENTS 50

typedef struct bench_market {
  sim_instrument instruments[SIM_MAX_INSTRUMENTS];
  int64_t price[BENCH_INSTRUMENTS];
  sim_rng rng;
} bench_market;

void bench_market_init(bench_market *m);

/* The instrument of the next trade, its price moved by at most one tick (never to 0 or below). */
int bench_market_next(bench_market *m);

#endif
