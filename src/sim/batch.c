/* qx_sim_batch_collect (batch.h). */
#include "sim/batch.h"

#include <string.h>

void qx_sim_batch_collect(void *ctx, uint16_t table_id, const void *record, uint32_t size) {
  sim_batch *b = ctx;
  memcpy(b->data[b->count], record, size);
  uint16_t version = qx_schema_by_id(table_id)->version; /* the simulator emits current records */
  b->records[b->count] = (qx_wal_record){table_id, version, size, 0, b->data[b->count]};
  b->count++;
  b->total_per_table[table_id]++;
  b->total_bytes += size;
}
