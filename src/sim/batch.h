/* The records of one simulated event gathered as one WAL batch (the simulator's emit
 * callback), with running totals: what `qaxdb simulate` and `qaxdbd --simulate` write. */
#ifndef QX_SIM_BATCH_H
#define QX_SIM_BATCH_H

#include <stdint.h>

#include "qaxdb/schema.h"
#include "qaxdb/wal.h"

#define SIM_EVENT_MAX_RECORDS 256 /* records one event can emit, with room to spare */
#define SIM_RECORD_MAX 352        /* bytes of the largest record of any table */

typedef struct sim_batch {
  qx_wal_record records[SIM_EVENT_MAX_RECORDS];
  uint8_t data[SIM_EVENT_MAX_RECORDS][SIM_RECORD_MAX];
  uint32_t count;
  uint64_t total_per_table[QX_TABLE_MAX + 1];
  uint64_t total_bytes;
} sim_batch;

/* A sim_emit_fn: appends the record to the sim_batch ctx (copied: the simulator reuses its
 * buffers). Empty the batch (count = 0) before each event. */
void qx_sim_batch_collect(void *ctx, uint16_t table_id, const void *record, uint32_t size);

#endif
