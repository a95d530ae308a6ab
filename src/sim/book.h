/* A price-time-priority limit order book for one instrument. Prices are whole ticks on a
 * ladder of SIM_LADDER levels around the start price; each level is a FIFO queue of resting
 * orders, so at one price the earliest order fills first, and a better price always fills
 * before a worse one. Resting orders live in a pool shared by all books (sim_order_pool). */
#ifndef QX_SIM_BOOK_H
#define QX_SIM_BOOK_H

#include <stdint.h>

#define SIM_LADDER 8192 /* price levels per side */
#define SIM_NONE UINT32_MAX

typedef struct sim_order {
  uint64_t order_id;
  int64_t insert_ts;
  uint32_t account;
  uint32_t instrument;
  int32_t level; /* price in ticks relative to the book's ladder base */
  uint8_t side, offset, order_type, pad;
  int64_t volume, filled;
  int64_t frozen_per_lot; /* margin frozen for each unfilled lot (open orders) */
  uint32_t prev, next;    /* FIFO queue at the level */
  uint32_t resting_slot;  /* position in the pool's list of resting orders */
} sim_order;

typedef struct sim_order_pool {
  sim_order *orders;
  uint32_t capacity;
  uint32_t free_head; /* free slots chained through next */
  uint32_t *resting;  /* indices of all resting orders, in no particular order */
  uint32_t resting_count;
} sim_order_pool;

typedef struct sim_level {
  uint32_t head, tail; /* oldest and newest order, SIM_NONE if empty */
  int64_t volume;      /* unfilled volume resting here */
} sim_level;

typedef struct sim_book {
  sim_level bids[SIM_LADDER], asks[SIM_LADDER];
  int32_t best_bid, best_ask; /* -1 / SIM_LADDER when that side is empty */
} sim_book;

int qx_sim_pool_init(sim_order_pool *pool, uint32_t capacity);
void qx_sim_pool_free(sim_order_pool *pool);
/* A free slot, or SIM_NONE when the pool is full. */
uint32_t qx_sim_pool_take(sim_order_pool *pool);
/* Returns a slot that holds no resting order to the pool. */
void qx_sim_pool_give(sim_order_pool *pool, uint32_t slot);

void qx_sim_book_init(sim_book *book);

/* Puts order (a pool index with level, side and volumes set) at the back of its level. */
void qx_sim_book_rest(sim_book *book, sim_order_pool *pool, uint32_t order);

/* Removes a resting order from its level and returns its slot to the pool. */
void qx_sim_book_remove(sim_book *book, sim_order_pool *pool, uint32_t order);

/* The resting order an incoming order of side at limit level would trade with next (best
 * price, then oldest), or SIM_NONE. A market order passes level -1 (sell) or SIM_LADDER (buy). */
uint32_t qx_sim_book_match_candidate(const sim_book *book, int side, int32_t limit_level);

/* Records a fill of volume on a resting order; returns 1 when it is now completely filled
 * (the caller then removes it, after using its fields). */
int qx_sim_book_fill(sim_book *book, sim_order_pool *pool, uint32_t order, int64_t volume);

/* Total volume at the best n levels of a side, for ticks and snapshots: fills levels[] and
 * volumes[] (best first) and returns how many levels were found. */
int qx_sim_book_depth(const sim_book *book, int side, int n, int32_t *levels, int64_t *volumes);

#endif
