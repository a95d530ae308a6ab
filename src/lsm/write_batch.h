/* The inside of qx_write_batch, shared with the engine's write path. */
#ifndef QX_LSM_WRITE_BATCH_H
#define QX_LSM_WRITE_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "qaxdb/db.h"

typedef struct qx_batch_entry {
  uint16_t table_id, schema_version;
  uint32_t size;
  size_t offset; /* into bytes */
} qx_batch_entry;

struct qx_write_batch {
  qx_batch_entry *entries;
  size_t count, entry_cap;
  uint8_t *bytes;
  size_t used, byte_cap;
};

/* Fills out[0..count) with WAL records for entries first..first+count (valid until the
 * batch changes). */
void qx_write_batch_to_wal(const qx_write_batch *b, size_t first, size_t count, qx_wal_record *out);

#endif
