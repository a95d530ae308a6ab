/* The commit group budget (sync_group.h): a multiplicative controller on the round time, which
 * needs no model of the disk beyond the time of a bare sync. */
#include "wal/sync_group.h"

#define INITIAL_BYTES (256u << 10)
#define SMALL_ROUND_BYTES (8u << 10) /* a round this small times the sync's fixed cost */

void qx_sync_group_init(qx_sync_group *g, int64_t bare_sync_ns) {
  g->bare_sync_ns = bare_sync_ns > 0 ? bare_sync_ns : 1;
  g->budget = INITIAL_BYTES;
}

static uint64_t clamp_budget(double bytes) {
  if (bytes < QX_SYNC_GROUP_MIN_BYTES) return QX_SYNC_GROUP_MIN_BYTES;
  if (bytes > QX_SYNC_GROUP_MAX_BYTES) return QX_SYNC_GROUP_MAX_BYTES;
  return (uint64_t)bytes;
}

void qx_sync_group_round(qx_sync_group *g, uint64_t bytes, int64_t ns) {
  if (ns <= 0) return;
  /* The fastest small sync seen: under load a small round also waits for the disk's queue, and
   * taking that for the sync's fixed cost would let the budget grow with the backlog. */
  if (bytes <= SMALL_ROUND_BYTES && ns < g->bare_sync_ns) g->bare_sync_ns = ns;
  /* Only a round that the budget held back says how much a round can take. */
  if (bytes < g->budget / 2) return;
  double factor = 2.0 * (double)g->bare_sync_ns / (double)ns;
  factor = factor < 0.5 ? 0.5 : factor > 2.0 ? 2.0 : factor; /* one slow sync is not a trend */
  g->budget = clamp_budget((double)g->budget * factor);
}
