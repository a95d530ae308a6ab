/* The exchange workload generator behind `qaxdb simulate`: accounts open with a deposit, then
 * every event is a limit order, a market order or a cancel on one of many instruments, matched
 * by price-time priority, with the trades, order updates, account and position updates and
 * ticks it causes, and periodic order book snapshots. Deterministic: the same configuration
 * and seed give byte-identical records, timestamps included (a simulated clock). */
#ifndef QX_SIM_SIM_H
#define QX_SIM_SIM_H

#include <stdint.h>

typedef struct sim sim;

typedef struct sim_config {
  uint64_t seed;
  int instruments;   /* 1 .. SIM_MAX_INSTRUMENTS */
  uint32_t accounts; /* >= 1 */
  int64_t start_ns;  /* simulated clock at the first event */
  uint64_t first_id; /* first order id and first trade id (default 1) */
} sim_config;

/* Receives each record an event produces, in order. */
typedef void (*sim_emit_fn)(void *ctx, uint16_t table_id, const void *record, uint32_t size);

/* 50 instruments, 1000 accounts, seed 1, ids from 1, clock at 2026-11-24T01:00:00Z. */
void qx_sim_config_init(sim_config *config);
int qx_sim_create(const sim_config *config, sim **out);
void qx_sim_destroy(sim *s);

/* Emits the reference data of the configured instruments (one instruments record each,
 * effective at the clock's start); returns how many. Written before the first event. */
uint32_t qx_sim_reference_data(sim *s, sim_emit_fn emit, void *ctx);

/* Runs one event, emitting its records; returns how many. */
uint32_t qx_sim_next(sim *s, sim_emit_fn emit, void *ctx);

#endif
