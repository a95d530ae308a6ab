/* Order book queues and price levels (see book.h). Best prices are kept up to date by
 * scanning from the old best when a level empties; the ladder is small enough that this is
 * a few cache lines in practice. */
#include "sim/book.h"

#include <stdlib.h>

#include "qaxdb/records.h"

int qx_sim_pool_init(sim_order_pool *pool, uint32_t capacity) {
  pool->orders = calloc(capacity, sizeof *pool->orders);
  pool->resting = calloc(capacity, sizeof *pool->resting);
  if (!pool->orders || !pool->resting) {
    qx_sim_pool_free(pool);
    return 0;
  }
  pool->capacity = capacity;
  for (uint32_t i = 0; i < capacity; i++)
    pool->orders[i].next = i + 1 < capacity ? i + 1 : SIM_NONE;
  pool->free_head = 0;
  pool->resting_count = 0;
  return 1;
}

void qx_sim_pool_free(sim_order_pool *pool) {
  free(pool->orders);
  free(pool->resting);
  pool->orders = NULL;
  pool->resting = NULL;
}

uint32_t qx_sim_pool_take(sim_order_pool *pool) {
  uint32_t slot = pool->free_head;
  if (slot != SIM_NONE) pool->free_head = pool->orders[slot].next;
  return slot;
}

void qx_sim_pool_give(sim_order_pool *pool, uint32_t slot) {
  pool->orders[slot].next = pool->free_head;
  pool->free_head = slot;
}

void qx_sim_book_init(sim_book *book) {
  for (int i = 0; i < SIM_LADDER; i++) {
    book->bids[i] = (sim_level){SIM_NONE, SIM_NONE, 0};
    book->asks[i] = (sim_level){SIM_NONE, SIM_NONE, 0};
  }
  book->best_bid = -1;
  book->best_ask = SIM_LADDER;
}

static sim_level *level_of(sim_book *book, const sim_order *o) {
  return o->side == QX_SIDE_BUY ? &book->bids[o->level] : &book->asks[o->level];
}

void qx_sim_book_rest(sim_book *book, sim_order_pool *pool, uint32_t index) {
  sim_order *o = &pool->orders[index];
  sim_level *lv = level_of(book, o);
  o->prev = lv->tail;
  o->next = SIM_NONE;
  if (lv->tail != SIM_NONE)
    pool->orders[lv->tail].next = index;
  else
    lv->head = index;
  lv->tail = index;
  lv->volume += o->volume - o->filled;
  if (o->side == QX_SIDE_BUY && o->level > book->best_bid) book->best_bid = o->level;
  if (o->side == QX_SIDE_SELL && o->level < book->best_ask) book->best_ask = o->level;
  o->resting_slot = pool->resting_count;
  pool->resting[pool->resting_count++] = index;
}

static void update_best(sim_book *book) {
  while (book->best_bid >= 0 && book->bids[book->best_bid].head == SIM_NONE)
    book->best_bid--;
  while (book->best_ask < SIM_LADDER && book->asks[book->best_ask].head == SIM_NONE)
    book->best_ask++;
}

void qx_sim_book_remove(sim_book *book, sim_order_pool *pool, uint32_t index) {
  sim_order *o = &pool->orders[index];
  sim_level *lv = level_of(book, o);
  if (o->prev != SIM_NONE)
    pool->orders[o->prev].next = o->next;
  else
    lv->head = o->next;
  if (o->next != SIM_NONE)
    pool->orders[o->next].prev = o->prev;
  else
    lv->tail = o->prev;
  lv->volume -= o->volume - o->filled;
  update_best(book);
  /* swap-remove from the resting list, then free the slot */
  uint32_t last = pool->resting[--pool->resting_count];
  pool->resting[o->resting_slot] = last;
  pool->orders[last].resting_slot = o->resting_slot;
  qx_sim_pool_give(pool, index);
}

uint32_t qx_sim_book_match_candidate(const sim_book *book, int side, int32_t limit_level) {
  if (side == QX_SIDE_BUY)
    return book->best_ask < SIM_LADDER && book->best_ask <= limit_level
               ? book->asks[book->best_ask].head
               : SIM_NONE;
  return book->best_bid >= 0 && book->best_bid >= limit_level ? book->bids[book->best_bid].head
                                                              : SIM_NONE;
}

int qx_sim_book_fill(sim_book *book, sim_order_pool *pool, uint32_t index, int64_t volume) {
  sim_order *o = &pool->orders[index];
  o->filled += volume;
  level_of(book, o)->volume -= volume;
  return o->filled == o->volume;
}

int qx_sim_book_depth(const sim_book *book, int side, int n, int32_t *levels, int64_t *volumes) {
  int found = 0;
  if (side == QX_SIDE_BUY) {
    for (int32_t l = book->best_bid; l >= 0 && found < n; l--)
      if (book->bids[l].head != SIM_NONE) {
        levels[found] = l;
        volumes[found++] = book->bids[l].volume;
      }
  } else {
    for (int32_t l = book->best_ask; l < SIM_LADDER && found < n; l++)
      if (book->asks[l].head != SIM_NONE) {
        levels[found] = l;
        volumes[found++] = book->asks[l].volume;
      }
  }
  return found;
}
