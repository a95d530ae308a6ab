/* Subscribers: follow a data folder's log from another process, record by record, in LSN order,
 * with no gap and no duplicate, while a writer appends to it.
 *
 * A subscriber reads the writer's shared-memory log ring in place (docs/formats/ring.md): the
 * writer never waits for it. When it falls a whole ring behind (it is "lapped"), or starts at
 * an LSN the ring no longer holds, it reads the WAL segment files instead and rejoins the ring
 * where they meet. It sees a writer die or stall through the ring's heartbeat, and follows the
 * next writer that opens the folder.
 *
 * A subscriber opened with qx_sub_open_db, in the process that holds the database, can also
 * start before the oldest record the WAL still keeps: it then hands out the current state of
 * the engine at one LSN first, and the log after that LSN.
 *
 * One thread per subscriber. Records are handed out in place: see qx_sub_next. */
#ifndef QAXDB_SUB_H
#define QAXDB_SUB_H

#include <stdint.h>

#include "qaxdb/db.h"
#include "qaxdb/status.h"
#include "qaxdb/wal.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct qx_sub qx_sub;

typedef enum qx_sub_start {
  QX_SUB_LIVE = 0,     /* the next record appended after the open */
  QX_SUB_FROM_LSN = 1, /* from_lsn, which must still be in the WAL */
  QX_SUB_OLDEST = 2,   /* the oldest record still in the WAL */
  /* The engine's current state (qx_sub_open_db only): every record of the tables the filters
   * let through, as the engine holds it at one LSN (status.state_lsn), in key order, each with
   * the LSN of the write that made it; then the log from state_lsn + 1 on, with no seam. */
  QX_SUB_STATE = 3,
} qx_sub_start;

typedef struct qx_sub_options {
  qx_sub_start start;
  uint64_t from_lsn; /* with QX_SUB_FROM_LSN */
  uint16_t table_id; /* only records of this table (qaxdb/record.h ids); 0: every table */
  /* Only records naming this instrument (instrument_id) or account (account_id, or either
   * account of a trade); "" for any. Records of tables without the column are left out. */
  char instrument[33];
  char account[33];
  /* A named durable cursor ("" for none): the subscriber starts right after the LSN last
   * acknowledged under this name with qx_sub_ack (start and from_lsn apply only to a new name),
   * and the writer's WAL keeps the segments the cursor still needs, up to
   * qx_wal_options.cursor_retention_bytes. 1 to 63 characters, no '/'. */
  char cursor[64];
  /* Delayed: 0 hands each record out as it comes. N > 0 hands out, every N ms, the records the
   * writer had published when the window began (for consumers that want batches).
   * conflate = 1 (needs delay_ms) hands out only the newest record per key of each window, in
   * LSN order: per primary key for orders, accounts and positions, per instrument (and kline
   * period) for event tables such as ticks and trades; records are then copies, not in place. */
  uint32_t delay_ms;
  int conflate;
  /* 1: a waiting qx_sub_next polls without sleeping (lowest latency, one core busy); 0: it
   * polls a moment, then sleeps between polls, up to 1 ms. */
  int spin;
} qx_sub_options;

/* What a subscriber knows about the writer. */
typedef struct qx_sub_status {
  int writer_alive;            /* a writer has the folder open and its heartbeat is recent */
  uint64_t writer_last_lsn;    /* the newest LSN the writer published in the ring */
  uint64_t writer_flushed_lsn; /* the newest its flusher wrote to the WAL files */
  int64_t heartbeat_age_ns;    /* how old the writer's last heartbeat is; -1 without a ring */
  uint64_t next_lsn;           /* the LSN this subscriber reads next (filtered records count) */
  uint64_t records_from_wal;   /* records read from segment files rather than the ring */
  uint64_t laps;               /* times the writer lapped this subscriber */
  uint64_t writer_restarts;    /* times it followed a new writer */
  /* A subscriber that began with the engine's state: the LSN of that state (0 for none), and
   * whether records of it are still to come. While state_pending, every record handed out is
   * state (its LSN <= state_lsn); after it, every one is from the log (LSN > state_lsn). */
  uint64_t state_lsn;
  int state_pending;
} qx_sub_status;

void qx_sub_options_init(qx_sub_options *options);

/* Opens a subscriber on data folder dir; it needs no lock and works while a writer holds the
 * folder. options may be NULL (live). QX_ERR_NOT_FOUND if the folder has no WAL, or from_lsn is
 * below the oldest LSN the WAL keeps or beyond its end + 1. */
int qx_sub_open(const char *dir, const qx_sub_options *options, qx_sub **out);

/* Opens a subscriber on the folder of db, an open database of this process. The same as
 * qx_sub_open, except that it can begin with the engine's state: with start QX_SUB_STATE, and
 * whenever the start (from_lsn, or a cursor's last acknowledged LSN) is older than the oldest
 * record the WAL keeps. The state holds a snapshot of db until it has all been handed out or
 * the subscriber is closed; close the subscriber before db. */
int qx_sub_open_db(qx_db *db, const qx_sub_options *options, qx_sub **out);

/* Waits up to timeout_ns (0: do not wait, negative: no limit) for the next record and fills
 * *record; record->data points into the ring (or into the subscriber's buffer for records read
 * from the WAL files) and stays valid until the next call on this subscriber.
 * Returns QX_OK, QX_ERR_TIMEOUT when nothing came in time, QX_ERR_LAPPED when the record handed
 * out by the previous call was overwritten by the writer while the caller held it (the caller
 * may have read torn bytes; the subscriber continues after it, so call again), QX_ERR_CORRUPT
 * for a damaged frame or file (named in qx_last_error(); nothing damaged is handed out), and
 * QX_ERR_NOT_FOUND when the records it needs next are neither in the ring nor in the WAL any more
 * (trimmed by a checkpoint). */
int qx_sub_next(qx_sub *sub, qx_wal_entry *record, int64_t timeout_ns);

/* 1 if the record the last qx_sub_next handed out is still intact; 0 if the writer has
 * overwritten it since (it lapped the subscriber: a subscriber reads from the ring only while it
 * is less than half a ring behind, so this takes half a ring of writes, 32 MiB by default, while
 * the caller holds the record). Call it after using a record and before acting on what was read
 * when that must never rest on torn bytes. */
int qx_sub_held_valid(const qx_sub *sub);

/* qx_sub_next for consumers that take records in batches: waits like it for the first record,
 * then adds the ones right behind it in the ring, up to max in all (*count), at a fraction of
 * the cost per record. The records are what max calls of qx_sub_next would hand out (fewer
 * when the rest is not there yet, or comes from the WAL files, or the subscription is
 * delayed); all stay valid until the next call, and qx_sub_held_valid answers for all of them. */
int qx_sub_next_batch(qx_sub *sub, qx_wal_entry *records, size_t max, size_t *count,
                      int64_t timeout_ns);

void qx_sub_get_status(qx_sub *sub, qx_sub_status *status);
void qx_sub_close(qx_sub *sub);

/* Records that every record up to lsn is done with, under the subscriber's cursor: a subscriber
 * opened with that name again (after a crash, a SIGKILL) starts at lsn + 1. It survives the
 * process, not a power loss. QX_ERR_INVALID_ARG without a cursor, for an LSN not yet read, or
 * while the engine's state is still being handed out (acknowledge once the log's records
 * come: a subscriber resumed in the middle of a state would miss the rest of it). */
int qx_sub_ack(qx_sub *sub, uint64_t lsn);

/* The named cursors of data folder dir. */
typedef struct qx_sub_cursor_info {
  const char *name;
  uint64_t acked_lsn;
  int64_t updated_ns; /* when it was last acknowledged (wall clock) */
} qx_sub_cursor_info;
typedef int (*qx_sub_cursor_fn)(const qx_sub_cursor_info *info, void *ctx);
/* Calls fn for each cursor (stopping at and returning a non-zero return). A damaged cursor file
 * is skipped, and QX_ERR_CORRUPT naming it is returned at the end. */
int qx_sub_list_cursors(const char *dir, qx_sub_cursor_fn fn, void *ctx);
/* Deletes a cursor, so that the WAL no longer keeps segments for it. */
int qx_sub_delete_cursor(const char *dir, const char *name);

#ifdef __cplusplus
}
#endif
#endif
