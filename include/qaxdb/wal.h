/* The write-ahead log: the single source of truth of a qaxdb data directory.
 *
 * Every appended record gets the next 64-bit log sequence number (LSN); LSNs start at 1 and
 * have no gaps. An append is acknowledged at the durability the caller asks for:
 *   QX_DURABILITY_NONE  - with a log ring (ring_size), the entry is in the ring in shared
 *                         memory: it survives a crash or SIGKILL of the process (the next
 *                         open copies what the flusher had not written into the files), not
 *                         a power loss or a reboot. Without one, it is in the OS page cache,
 *                         with the same reach. Either way the call returns after a memory
 *                         copy; with a ring no store of it touches a file.
 *   QX_DURABILITY_GROUP - the call returns only after an fdatasync that covers the entry.
 *                         One background flusher thread syncs for every waiting writer at
 *                         once (group commit), so concurrent and queued writes share a sync.
 * The asynchronous form is an append with NONE followed later by qx_wal_wait_durable, or the
 * on_durable callback, which the flusher calls after each sync with the new durable LSN.
 *
 * Thread safety: any number of threads may append, wait and replay on one handle; appends
 * are serialised internally (the hot path is designed for one writer). qx_wal_close must not
 * race with other calls on the same handle.
 *
 * The on-disk format and the recovery rules are in docs/formats/wal.md. */
#ifndef QAXDB_WAL_H
#define QAXDB_WAL_H

#include <stddef.h>
#include <stdint.h>

#include "qaxdb/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct qx_wal qx_wal;

typedef enum qx_durability {
  QX_DURABILITY_NONE = 0,
  QX_DURABILITY_GROUP = 1,
  /* The engine's writes only (qx_db_*): synced here (as GROUP) and flushed by as many replicas
   * as the node's replication asks (qaxdb/repl.h); QX_ERR_INVALID_ARG on a node without
   * replication. The WAL itself takes it as GROUP. */
  QX_DURABILITY_REPLICATED = 2,
} qx_durability;

/* "none", "group" or "replicated" (any case) into *out; QX_ERR_INVALID_ARG otherwise. */
int qx_durability_parse(const char *text, qx_durability *out);
const char *qx_durability_name(qx_durability durability);

#define QX_WAL_MAX_RECORD (1u << 20)           /* largest payload of one entry */
#define QX_WAL_DEFAULT_RING_SIZE (64ull << 20) /* what a database opens its WAL with */

typedef struct qx_wal_options {
  uint64_t segment_size; /* bytes per segment file; default 64 MiB, minimum 64 KiB */
  /* On a checksum failure before the tail: 0 (default) fails the open with QX_ERR_CORRUPT
   * naming file and offset; 1 keeps every entry before the damage and discards the rest. */
  int salvage;
  /* The LSN of the first entry of a log that holds no segment yet (0 means 1): an engine
   * whose table files already hold LSNs up to n starts a new log at n + 1. */
  uint64_t first_lsn;
  /* 1: open read-only (see qx_wal_open); segment_size, salvage's cut and on_durable are then
   * unused: nothing is written. */
  int read_only;
  /* Bytes of the shared-memory log ring that subscribers in other processes read
   * (docs/formats/ring.md, qaxdb/sub.h); 0 (the default of this call) means no ring. A writer
   * open creates it, paged in, under /dev/shm (or $QAXDB_SHM_DIR) and fails if it cannot. */
  uint64_t ring_size;
  /* Named subscriber cursors (qaxdb/sub.h) keep the segments they still need past a checkpoint,
   * up to this many bytes of them (default 4 GiB); beyond it the oldest go, and a subscriber
   * that needs them is told so (QX_ERR_NOT_FOUND). 0: cursors keep nothing. */
  uint64_t cursor_retention_bytes;
  /* Called on the flusher thread after each sync with the highest durable LSN. Must be quick
   * and must not call back into this WAL's append. */
  void (*on_durable)(uint64_t durable_lsn, void *ctx);
  void *on_durable_ctx;
} qx_wal_options;

/* What open found and did while recovering (a read-only open or a scan: what open would do). */
typedef struct qx_wal_recovery {
  uint64_t first_lsn;        /* oldest LSN still in the log, 0 if empty */
  uint64_t last_lsn;         /* newest valid LSN, 0 if empty */
  uint64_t truncated_bytes;  /* bytes of torn tail (or salvaged damage) discarded */
  char truncated_file[4096]; /* file where truncation happened, "" if none */
  uint64_t truncated_offset;
  int salvaged; /* 1 if salvage discarded damaged entries before the tail */
  /* Segment files after the cut, removed whole (by open; a scan reports what open would do). */
  uint32_t dropped_segments;
  /* Records a writer killed at `none` had acknowledged but not yet written to the segment
   * files, which open copied from its log ring (docs/formats/ring.md). */
  uint64_t ring_records;
  /* qx_wal_scan only: 1 if a writer held the log when the scan began. Its tail may then be in
   * the middle of a write: a torn tail found is the live end of the log, not crash damage. */
  int live_writer;
} qx_wal_recovery;

/* One record to append. data points at size bytes; ts_ns 0 means "now". */
typedef struct qx_wal_record {
  uint16_t table_id;
  uint16_t schema_version;
  uint32_t size;
  int64_t ts_ns;
  const void *data;
} qx_wal_record;

/* One entry read back. data is 8-byte aligned and valid only during the callback. */
typedef struct qx_wal_entry {
  uint64_t lsn;
  int64_t ts_ns;
  uint16_t table_id;
  uint16_t schema_version;
  uint32_t size;
  const void *data;
  /* QX_WAL_BATCH_CONTINUES when more entries of this entry's batch follow it (the records of
   * one append are one batch: a replica applies them as one). Entries of the engine's state
   * handed out by a subscriber are batches of one. */
  uint32_t flags;
} qx_wal_entry;

#define QX_WAL_BATCH_CONTINUES 1u

/* Return 0 to continue, anything else to stop the replay (which then returns that value). */
typedef int (*qx_wal_visit_fn)(const qx_wal_entry *entry, void *ctx);

void qx_wal_options_init(qx_wal_options *options);

/* Opens (creating if needed) the log in directory dir, locks it against other processes,
 * recovers (torn tail truncated and reported in recovery, which may be NULL) and starts
 * the flusher. options may be NULL for defaults.
 *
 * With options->read_only, open changes nothing: it creates, truncates, preallocates and
 * deletes no file and starts no thread. It takes a shared lock on an existing dir/LOCK, so no
 * writer can open the log meanwhile, and fails with QX_ERR_LOCKED if a writer holds it (there
 * is no lock, and none is needed, if LOCK does not exist); a missing dir is QX_ERR_NOT_FOUND.
 * A torn tail is reported in recovery as open would cut it, but left in place: replay and
 * readers stop at the last entry recovery keeps. Appends and checkpoints fail with
 * QX_ERR_DENIED; qx_wal_last_lsn and qx_wal_durable_lsn are that last entry's LSN. */
int qx_wal_open(const char *dir, const qx_wal_options *options, qx_wal **out,
                qx_wal_recovery *recovery);

/* Syncs everything appended, stops the flusher, unlocks and frees. Returns the first error
 * the flusher met, if any (then records after the last durable LSN may not be on disk). */
int qx_wal_close(qx_wal *wal);

/* Appends one record (a batch of one); *lsn_out (may be NULL) receives its LSN. */
int qx_wal_append(qx_wal *wal, const qx_wal_record *record, qx_durability durability,
                  uint64_t *lsn_out);

/* Appends count records with consecutive LSNs as one batch; *last_lsn_out receives the LSN of
 * the last one. A batch is atomic: replay, readers and recovery see all of its records or none,
 * whatever fails (a crash, a power loss, a write error, a full disk when a new segment is
 * needed). If the call fails, none of its records is visible (qx_wal_last_lsn() does not move)
 * and the log takes no more appends: later ones return QX_ERR_CLOSED with the first failure's
 * cause in qx_last_error(). Reopen to recover; open cuts what the failed batch left. */
int qx_wal_append_batch(qx_wal *wal, const qx_wal_record *records, size_t count,
                        qx_durability durability, uint64_t *last_lsn_out);

/* Blocks until every entry up to lsn is durable, or timeout_ns passes (negative: no limit). */
int qx_wal_wait_durable(qx_wal *wal, uint64_t lsn, int64_t timeout_ns);

uint64_t qx_wal_last_lsn(const qx_wal *wal);    /* newest appended LSN */
uint64_t qx_wal_durable_lsn(const qx_wal *wal); /* newest LSN known synced */
/* Newest LSN in the segment files: with a ring the flusher writes entries there after the
 * append has returned; without one, the last LSN appended. Replay and readers stop at it. */
uint64_t qx_wal_written_lsn(const qx_wal *wal);
/* Appends that waited because the flusher was a whole ring behind, and how long in all (this
 * open's counts; the only time a writer with a ring waits at `none`). */
void qx_wal_ring_waits(const qx_wal *wal, uint64_t *waits, uint64_t *wait_ns);
/* Appends that waited for the running sync, and how long in all: while a caller waits for
 * durability, appenders hold the bytes not yet synced to one commit group, sized to the disk's
 * sync time, so that the waiter's acknowledgement costs a sync or two rather than a backlog. */
void qx_wal_group_waits(const qx_wal *wal, uint64_t *waits, uint64_t *wait_ns);
const char *qx_wal_dir(const qx_wal *wal); /* the directory the log lives in */

/* Calls visit for every entry with from_lsn <= LSN <= the last LSN appended before the call. */
int qx_wal_replay(qx_wal *wal, uint64_t from_lsn, qx_wal_visit_fn visit, void *ctx);

/* Declares that every entry below lsn is saved elsewhere: segments holding only such
 * entries are deleted. The active segment is never deleted. QX_ERR_DENIED if read-only. */
int qx_wal_checkpoint(qx_wal *wal, uint64_t lsn);

/* A reader that follows the log: it visits entries in LSN order from a starting LSN and keeps
 * its place between calls, so a consumer (the Parquet converter, a replica stream) reads each
 * entry once without rescanning segments. One thread per reader. The log keeps the segments a
 * reader still needs only as long as the checkpoint stays below the reader's position. */
typedef struct qx_wal_reader qx_wal_reader;

/* Positions a new reader at from_lsn (>= the oldest LSN kept, <= the last LSN + 1). */
int qx_wal_reader_open(qx_wal *wal, uint64_t from_lsn, qx_wal_reader **out);
/* Visits every entry from the reader's position up to to_lsn (capped at the last LSN
 * appended) and moves past them. A non-zero return from visit stops the read after that
 * entry, which counts as read, and is returned. */
int qx_wal_reader_read(qx_wal_reader *reader, uint64_t to_lsn, qx_wal_visit_fn visit, void *ctx);
/* The LSN the next read starts at. */
uint64_t qx_wal_reader_position(const qx_wal_reader *reader);
void qx_wal_reader_close(qx_wal_reader *reader);

/* Read-only scan of a log directory that need not be open (wal-dump, check): verifies every
 * checksum and calls visit (may be NULL) for entries with LSN >= from_lsn that recovery keeps.
 * A torn tail is not an error (it is reported in recovery); damage before it returns
 * QX_ERR_CORRUPT with the file and offset in qx_last_error(). It takes no lock and fails on no
 * writer: recovery->live_writer says whether one holds the log; with a log ring, it then stops
 * at the last LSN the writer's flusher has written whole (its files' live end is in motion). */
int qx_wal_scan(const char *dir, uint64_t from_lsn, qx_wal_visit_fn visit, void *ctx,
                qx_wal_recovery *recovery);

#ifdef __cplusplus
}
#endif
#endif
