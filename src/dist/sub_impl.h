/* The inside of a subscriber (qaxdb/sub.h), shared by the files that implement it: sub.c
 * (following the ring and the writer, open and close), sub_files.c (reading the WAL segment
 * files), sub_window.c (delayed and conflated windows) and sub_state.c (a start from the engine's
 * state). */
#ifndef QX_DIST_SUB_IMPL_H
#define QX_DIST_SUB_IMPL_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "dist/conflate.h"
#include "dist/cursor.h"
#include "dist/ring.h"
#include "qaxdb/sub.h"

typedef struct qx_sub_state qx_sub_state;

struct qx_sub {
  char wal_dir[PATH_MAX];
  qx_sub_options opt;
  uint64_t next_lsn;
  uint64_t limit_lsn;  /* records after it wait: a delayed subscriber's window ends there */
  qx_ring *ring;       /* NULL while no writer has one */
  uint64_t generation; /* of the last ring attached */
  int in_ring;         /* position is the frame of next_lsn (or the live end) */
  uint64_t position;
  int holding; /* the last record handed out is the ring's frame at held_position */
  uint64_t held_position, held_lsn;
  int64_t next_recheck_ns;
  int64_t next_file_read_ns; /* without a ring */
  /* records read from the segment files, not yet handed out */
  uint8_t *buf;
  size_t buf_len, buf_at;
  uint64_t buf_next_lsn; /* the LSN after the last record the buffer's read visited */
  int buf_read;          /* the buffer holds a read whose buf_next_lsn is still to be taken */
  qx_cursor *cursor;     /* NULL without a name */
  int64_t window_end_ns; /* a delayed subscriber's current window */
  qx_conflator *conflator;
  qx_sub_state *state; /* the engine's state still to hand out, before next_lsn; NULL if none */
  qx_sub_status stats;
  char failure[512]; /* set once the log lost records this subscriber handed out */
};

/* sub_files.c: reads records from next_lsn up to to_lsn (UINT64_MAX: the end of the log) into
 * the subscriber's buffer; hands out the next buffered record (1 and *record, or 0). */
int qx_sub_read_files(qx_sub *s, uint64_t to_lsn);
int qx_sub_take_buffered(qx_sub *s, qx_wal_entry *record);

/* sub.c: waits up to deadline for the next record within limit_lsn. */
int qx_sub_next_record(qx_sub *s, qx_wal_entry *record, int64_t deadline);

/* sub_window.c: the next record of a delayed or conflated subscriber. */
int qx_sub_next_delayed(qx_sub *s, qx_wal_entry *record, int64_t deadline);

/* sub_state.c: takes a snapshot of db whose records are handed out before the log (and sets
 * stats.state_lsn); hands out the next of them (1 and *record, or 0 once all are out, which
 * ends the state, or a failure); and ends it early (close). */
int qx_sub_state_begin(qx_sub *s, qx_db *db);
int qx_sub_state_next(qx_sub *s, qx_wal_entry *record);
void qx_sub_state_end(qx_sub *s);

#endif
