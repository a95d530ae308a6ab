/* Named durable cursors: the last LSN a named subscriber acknowledged, kept in a small file in
 * the WAL folder (WAL/cursors/NAME.cursor) so that a subscriber killed and started again
 * resumes after it, and the WAL keeps the segments it still needs (within a limit).
 *
 * File format (docs/formats/ring.md, "Cursors"): two 32-byte slots written in turn; each
 *   0 magic "QXCURSOR" 8 | 8 sequence u64 | 16 acknowledged LSN u64 | 24 CRC32C of 0..23 u32 |
 *   28 zero u32
 * The slot with a valid CRC and the higher sequence holds the cursor; a write torn by a power
 * loss damages one slot only. */
#ifndef QX_DIST_CURSOR_H
#define QX_DIST_CURSOR_H

#include <stddef.h>
#include <stdint.h>

#include "qaxdb/sub.h"

#define QX_CURSOR_DIR "cursors"
#define QX_CURSOR_SUFFIX ".cursor"

typedef struct qx_cursor qx_cursor;

/* Opens (creating if absent, at acked_lsn 0) the cursor called name of the WAL in wal_dir. */
int qx_cursor_open(const char *wal_dir, const char *name, qx_cursor **out);
uint64_t qx_cursor_acked(const qx_cursor *cursor);
/* Records lsn as acknowledged (a pwrite into the page cache: it survives the process, not a
 * power loss). */
int qx_cursor_ack(qx_cursor *cursor, uint64_t lsn);
void qx_cursor_close(qx_cursor *cursor);

typedef int (*qx_cursor_visit_fn)(const qx_sub_cursor_info *info, void *ctx);
/* Visits every cursor of wal_dir; a damaged one is skipped and its failure returned at the end
 * (the first one). A non-zero return of visit stops the listing and is returned. */
int qx_cursor_list(const char *wal_dir, qx_cursor_visit_fn visit, void *ctx);
int qx_cursor_delete(const char *wal_dir, const char *name);

/* The lowest LSN a cursor of wal_dir still needs (its acknowledged LSN + 1); UINT64_MAX if
 * there is no cursor. */
uint64_t qx_cursor_oldest_needed(const char *wal_dir);

#endif
