/* Reading a WAL directory from the start: verifying every entry, classifying the first invalid
 * one, and visiting entries in a range. Used by open (recovery), replay, wal-dump and check. */
#ifndef QX_WAL_SCAN_H
#define QX_WAL_SCAN_H

#include <limits.h>
#include <stdint.h>

#include "qaxdb/wal.h"

typedef struct wal_scan_result {
  uint64_t first_lsn;      /* first LSN present, 0 if none */
  uint64_t next_lsn;       /* LSN the next append gets */
  uint64_t tail_first_lsn; /* names the segment appends continue in; 0: none usable */
  uint64_t tail_offset;    /* where the next entry goes in that segment */
  uint64_t tail_dirty_end; /* end of non-zero bytes after tail_offset (torn tail to clear) */
  int drop_later_segments; /* salvage or a blank last header: segments after the tail go */
  qx_wal_recovery report;
} wal_scan_result;

/* Scans dir, visiting entries with from_lsn <= LSN <= to_lsn (visit may be NULL). Damage before
 * the tail returns QX_ERR_CORRUPT, unless salvage is set: then the log is cut there and the
 * result says so. A non-zero value returned by visit stops the scan and is returned.
 * REQUIRES: to_lsn is UINT64_MAX (the end of the log: then only entries recovery keeps are
 * visited) or the last LSN of a batch (a published last LSN); only the former fills result
 * with what the end of the log is; the latter starts at the segment holding from_lsn and does
 * not verify the segments before it. */
int qx_wal_scan_dir(const char *dir, uint64_t from_lsn, uint64_t to_lsn, qx_wal_visit_fn visit,
                    void *ctx, int salvage, wal_scan_result *result);

#endif
