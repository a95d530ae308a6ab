/* Sizing the WAL's commit groups to the disk's sync time. While a caller waits for durability,
 * appenders stop once the bytes not yet synced exceed the group budget, as a RocksDB writer waits
 * behind FlushWAL: unbounded, a sync at saturation covers whatever piled up, takes longer, and
 * more piles up meanwhile, so an acknowledgement waits for a backlog rather than for a sync. */
#ifndef QX_WAL_SYNC_GROUP_H
#define QX_WAL_SYNC_GROUP_H

#include <stdint.h>

#define QX_SYNC_GROUP_MIN_BYTES (32u << 10)
#define QX_SYNC_GROUP_MAX_BYTES (16u << 20)

typedef struct qx_sync_group {
  int64_t bare_sync_ns; /* a sync of one small write: measured at open, refined by small rounds */
  uint64_t budget;      /* bytes one round (write-out and sync) may cover */
} qx_sync_group;

void qx_sync_group_init(qx_sync_group *g, int64_t bare_sync_ns);

/* Learns from a round that synced bytes in ns: the budget moves so that a round under load takes
 * twice a bare sync, half of it the sync's fixed cost and half the data. */
void qx_sync_group_round(qx_sync_group *g, uint64_t bytes, int64_t ns);

#endif
