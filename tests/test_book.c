/* The order book: price-time priority, partial fills, sweeping several levels, cancels from
 * the middle of a queue, no trade without a cross, and depth per level. */
#include "check.h"
#include "qaxdb/records.h"
#include "sim/book.h"

static sim_order_pool pool;
static sim_book book;

static uint32_t rest(uint64_t id, int side, int32_t level, int64_t volume) {
  uint32_t slot = qx_sim_pool_take(&pool);
  sim_order *o = &pool.orders[slot];
  memset(o, 0, sizeof *o);
  o->order_id = id;
  o->side = (uint8_t)side;
  o->level = level;
  o->volume = volume;
  qx_sim_book_rest(&book, &pool, slot);
  return slot;
}

static uint64_t candidate_id(int side, int32_t limit) {
  uint32_t c = qx_sim_book_match_candidate(&book, side, limit);
  return c == SIM_NONE ? 0 : pool.orders[c].order_id;
}

/* Fills the next candidate for an incoming order of side completely; returns its id. */
static uint64_t take_next(int side, int32_t limit) {
  uint32_t c = qx_sim_book_match_candidate(&book, side, limit);
  if (c == SIM_NONE) return 0;
  uint64_t id = pool.orders[c].order_id;
  sim_order *o = &pool.orders[c];
  CHECK(qx_sim_book_fill(&book, &pool, c, o->volume - o->filled));
  qx_sim_book_remove(&book, &pool, c);
  return id;
}

static void test_price_time_priority(void) {
  qx_sim_book_init(&book);
  rest(1, QX_SIDE_BUY, 100, 5);
  rest(2, QX_SIDE_BUY, 100, 3);
  rest(3, QX_SIDE_BUY, 101, 2);
  rest(4, QX_SIDE_SELL, 103, 4);
  CHECK_EQ_U64(book.best_bid, 101);
  CHECK_EQ_U64(book.best_ask, 103);
  CHECK_EQ_U64(candidate_id(QX_SIDE_SELL, 102), 0); /* no cross: no trade */
  CHECK_EQ_U64(candidate_id(QX_SIDE_BUY, 102), 0);
  CHECK_EQ_U64(take_next(QX_SIDE_SELL, 100), 3); /* better price first */
  CHECK_EQ_U64(take_next(QX_SIDE_SELL, 100), 1); /* then the earlier order at 100 */
  CHECK_EQ_U64(take_next(QX_SIDE_SELL, 100), 2);
  CHECK_EQ_U64(take_next(QX_SIDE_SELL, 100), 0);
  CHECK(book.best_bid < 0);
  CHECK_EQ_U64(take_next(QX_SIDE_BUY, SIM_LADDER), 4); /* a market buy takes the best ask */
  CHECK_EQ_U64(book.best_ask, SIM_LADDER);
  CHECK_EQ_U64(pool.resting_count, 0);
}

static void test_partial_fill_and_sweep(void) {
  qx_sim_book_init(&book);
  uint32_t a = rest(10, QX_SIDE_SELL, 200, 5);
  rest(11, QX_SIDE_SELL, 201, 5);
  rest(12, QX_SIDE_SELL, 205, 5);
  CHECK(!qx_sim_book_fill(&book, &pool, a, 2)); /* partial: stays first in line */
  CHECK_EQ_U64(book.asks[200].volume, 3);
  CHECK_EQ_U64(candidate_id(QX_SIDE_BUY, 200), 10);
  /* A buy at 203 sweeps 200 and 201 but not 205. */
  CHECK_EQ_U64(take_next(QX_SIDE_BUY, 203), 10);
  CHECK_EQ_U64(take_next(QX_SIDE_BUY, 203), 11);
  CHECK_EQ_U64(take_next(QX_SIDE_BUY, 203), 0);
  CHECK_EQ_U64(book.best_ask, 205);
  CHECK_EQ_U64(take_next(QX_SIDE_BUY, 205), 12);
}

static void test_cancel_and_depth(void) {
  qx_sim_book_init(&book);
  rest(20, QX_SIDE_BUY, 50, 1);
  uint32_t middle = rest(21, QX_SIDE_BUY, 50, 2);
  rest(22, QX_SIDE_BUY, 50, 4);
  rest(23, QX_SIDE_BUY, 48, 7);
  qx_sim_book_remove(&book, &pool, middle);
  int32_t levels[3];
  int64_t volumes[3];
  CHECK_EQ_U64(qx_sim_book_depth(&book, QX_SIDE_BUY, 3, levels, volumes), 2);
  CHECK(levels[0] == 50 && volumes[0] == 5 && levels[1] == 48 && volumes[1] == 7);
  CHECK_EQ_U64(qx_sim_book_depth(&book, QX_SIDE_SELL, 3, levels, volumes), 0);
  CHECK_EQ_U64(take_next(QX_SIDE_SELL, 0), 20);
  CHECK_EQ_U64(take_next(QX_SIDE_SELL, 0), 22); /* the cancelled order is gone from the queue */
  CHECK_EQ_U64(take_next(QX_SIDE_SELL, 0), 23);
  CHECK_EQ_U64(pool.resting_count, 0);
}

int main(void) {
  if (!qx_sim_pool_init(&pool, 1024)) return 2;
  test_price_time_priority();
  test_partial_fill_and_sweep();
  test_cancel_and_depth();
  qx_sim_pool_free(&pool);
  return test_finish("test_book");
}
