/* The WAL writer: appends, group commit, segment rotation, recovery at open, checkpoints; and
 * the read-only open, which has none of the threads below and changes no file.
 *
 * Threads and what they own (the thread-safety contract):
 *  - Appenders (any thread, usually one) hold `mu` while they reserve LSNs and write entries.
 *    With a log ring they copy them into the ring only (write_batch_to_ring), and the flusher
 *    writes the ring's frames to the segments (write_out); a killed writer's unwritten frames
 *    are copied into the files by the next open (salvage_ring). Without a ring they write into
 *    the active segment, copied into its mapping or with pwritev (see staged_writes). Either
 *    way, what an append returns from is durability `none`: a process crash keeps it.
 *  - The flusher thread is the only one that syncs and the only one that closes full segments.
 *    Under `mu` it takes a snapshot (last LSN, the active segment, the list of full segments),
 *    then syncs them without the lock, then publishes durable_lsn and wakes waiters. Everything
 *    appended while it synced is covered by its next round: that is the group commit.
 *  - The preparer thread keeps one spare segment ready (created, zero-filled, synced, mapped and
 *    paged in) so that rotation is a rename and the writer never waits for a 64 MiB file.
 * Invariants:
 *  1. last_lsn only grows, and only to the last entry of a batch; every entry <= last_lsn is
 *     completely written into the ring (with one) or its segment. written_lsn (<= last_lsn)
 *     likewise for the segments, where replay and readers stop: none stops inside a batch.
 *  2. durable_lsn <= last_lsn; every entry <= durable_lsn has been covered by an fdatasync of its
 *     segment and by a directory sync of the segment's name.
 *  3. Segments are synced in LSN order: a round syncs the full segments oldest first, then the
 *     active one, and publishes nothing if any sync fails. So an LSN is durable only when every
 *     segment up to it is synced, and a segment's synced entries never follow unsynced ones of
 *     an earlier segment. Hence nothing after a gap in the log (a power loss at `none` that
 *     kept a rename but not the previous segment's tail) was acknowledged at `group`, and
 *     recovery may cut the log at the gap (scan.c, case 3).
 *  4. Segments are freed only by the flusher (or by close, after the flusher has stopped). With
 *     a ring, only the flusher writes segments; an appender never overwrites a ring frame the
 *     flusher has not written out (wait_for_ring_space): the only backpressure a writer meets.
 *  5. After a sync fails, durable_lsn never moves again and every append fails: the kernel may
 *     have dropped the dirty pages, so retrying the sync could falsely report them durable.
 *     A failed write or rotation does the same: the batch it was part of stays unpublished,
 *     whatever of it reached a segment is cut by the next open, and the write may have left a
 *     hole that no later entry may follow. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "dist/cursor.h"
#include "dist/ring.h"
#include "qaxdb/wal.h"
#include "util/clock.h"
#include "util/crc32c.h"
#include "util/dirlock.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/io.h"
#include "util/require.h"
#include "util/thread.h"
#include "wal/format.h"
#include "wal/scan.h"
#include "wal/segment.h"
#include "wal/sync_group.h"

#define DEFAULT_SEGMENT_SIZE (64ull << 20)
#define MIN_SEGMENT_SIZE (64ull << 10)
#define DEFAULT_CURSOR_RETENTION (4ull << 30)
#define SYNC_PACE_NS 2000000 /* see pace_syncs */
#define SPARE_NAME "prepared.tmp"

struct qx_wal {
  char dir[PATH_MAX];
  char spare_path[PATH_MAX];
  qx_wal_options options;
  int lock_fd;

  pthread_mutex_t mu; /* append state, the sealed list, spare, stopping */
  wal_segment *active;
  wal_segment *sealed; /* full segments not yet synced and closed by the flusher, oldest first */
  wal_segment **sealed_end; /* where the next sealed segment is linked */
  wal_segment *spare;
  uint64_t next_lsn;
  int map_appends; /* single `none` appends may be copied into the mapping (see io.h) */
  _Atomic uint64_t last_lsn;
  int stopping;

  pthread_cond_t flusher_cv; /* with mu: work for the flusher */
  int flusher_idle;
  _Atomic int durable_waiters; /* callers of qx_wal_wait_durable waiting now */
  uint64_t synced_lsn;         /* flusher only */
  pthread_t flusher;

  pthread_cond_t spare_cv; /* with mu: the preparer should make a spare, or has made one */
  int spare_failed;
  pthread_t preparer;

  pthread_mutex_t durable_mu;
  pthread_cond_t durable_cv;
  _Atomic uint64_t durable_lsn;
  _Atomic int failure;     /* first sync or write error, QX_OK while healthy */
  char failure_cause[256]; /* its qx_last_error(); written once, under durable_mu */

  pthread_rwlock_t files_lock; /* replay (shared) against checkpoint deleting segments */

  qx_ring *ring; /* NULL without one; written by appenders under mu, heartbeat by the flusher */
  /* With a ring, appenders write only into it and the flusher writes its frames to the
   * segment files (write_out): ring bytes below flushed_position (under mu) are in the files,
   * and an appender waits on space_cv rather than overwrite bytes that are not. */
  uint64_t flushed_position;
  pthread_cond_t space_cv;
  _Atomic uint64_t written_lsn;                /* every entry up to it is in a segment file */
  _Atomic uint64_t ring_waits, ring_wait_ns;   /* appends that waited in wait_for_ring_space */
  _Atomic uint64_t group_waits, group_wait_ns; /* and in wait_for_sync_group */
  /* Under mu: bytes of entries appended (with the ring's padding) and covered by a sync, and
   * the commit group budget (wait_for_sync_group); synced_bytes and group are written by the
   * flusher. */
  uint64_t appended_bytes, synced_bytes;
  qx_sync_group group;
};

void qx_wal_options_init(qx_wal_options *options) {
  memset(options, 0, sizeof *options);
  options->segment_size = DEFAULT_SEGMENT_SIZE;
  options->cursor_retention_bytes = DEFAULT_CURSOR_RETENTION;
}

/* ---- appending ---------------------------------------------------------------------------- */

static void publish_failure(qx_wal *w, int rc);
static int refuse_appends(qx_wal *w);

static wal_entry_header entry_header(const qx_wal_record *rec, uint64_t lsn, int64_t now_ns,
                                     uint32_t flags) {
  wal_entry_header h = {
      0,    rec->size, lsn, rec->ts_ns ? rec->ts_ns : now_ns, rec->table_id, rec->schema_version,
      flags};
  uint32_t crc = qx_crc32c(0, (const uint8_t *)&h + 4, WAL_ENTRY_HEADER_SIZE - 4);
  h.crc = qx_crc32c(crc, rec->data, rec->size);
  return h;
}

/* Entries reach the active segment's page cache one of two ways. A single record appended
 * with durability `none` is copied into the shared mapping: ~0.1 us, but the first store to
 * each page (and to a page just cleaned by a sync) takes a page fault. Everything else - a
 * batch, or any `group` append, which waits for a sync anyway - is gathered into one
 * pwritev: a system call per batch instead of a fault per page, and syncs that need not
 * write-protect mapped pages. Both land in the same page cache pages. */
#define STAGED_MAX 64 /* entries per pwritev (3 iovecs each, well under IOV_MAX) */

typedef struct staged_writes {
  wal_entry_header headers[STAGED_MAX];
  struct iovec parts[3 * STAGED_MAX];
  size_t entries;
  uint64_t first_lsn;     /* of the first staged entry */
  uint64_t offset, bytes; /* where the first staged entry goes; total length */
} staged_writes;

static int write_staged(wal_segment *seg, staged_writes *st) {
  if (st->entries == 0) return QX_OK;
  ssize_t n = qx_io_pwritev(seg->fd, st->parts, (int)(3 * st->entries), (off_t)st->offset);
  int rc =
      n == (ssize_t)st->bytes
          ? QX_OK
          : qx_fail_errno(QX_ERR_IO, n < 0 ? errno : EIO, "write %llu bytes to %s at offset %llu",
                          (unsigned long long)st->bytes, seg->path, (unsigned long long)st->offset);
  st->entries = 0;
  st->bytes = 0;
  return rc;
}

/* Adds the entry at seg's write offset to the staged writes (flushing them when full). */
static int stage_entry(wal_segment *seg, staged_writes *st, const qx_wal_record *rec,
                       wal_entry_header header) {
  static const uint8_t zeros[8];
  if (st->entries == STAGED_MAX) {
    int rc = write_staged(seg, st);
    if (rc != QX_OK) return rc;
  }
  if (st->entries == 0) {
    st->offset = seg->write_offset;
    st->first_lsn = header.lsn;
  }
  size_t span = (size_t)wal_entry_span(rec->size);
  st->headers[st->entries] = header;
  struct iovec *part = &st->parts[3 * st->entries];
  part[0] = (struct iovec){&st->headers[st->entries], WAL_ENTRY_HEADER_SIZE};
  part[1] = (struct iovec){(void *)rec->data, rec->size};
  part[2] = (struct iovec){(void *)zeros, span - WAL_ENTRY_HEADER_SIZE - rec->size};
  st->entries++;
  st->bytes += span;
  return QX_OK;
}

static void copy_entry(wal_segment *seg, const qx_wal_record *rec, wal_entry_header header) {
  memcpy(seg->map + seg->write_offset + WAL_ENTRY_HEADER_SIZE, rec->data, rec->size);
  memcpy(seg->map + seg->write_offset, &header, sizeof header); /* padding is already zero */
}

/* REQUIRES: mu held. Seals the active segment and starts the next one at first_lsn. */
static int rotate(qx_wal *w, uint64_t first_lsn) {
  QX_REQUIRE_HELD(&w->mu);
  char path[PATH_MAX];
  qx_wal_segment_path(path, sizeof path, w->dir, first_lsn);
  /* With a ring the flusher rotates, and it waits for the preparer rather than create the
   * segment itself: that takes as long as the disk needs for 64 MiB of zeros, under mu, and
   * every append would wait for it; this wait lets appends go on into the ring. */
  while (!w->spare && w->ring && w->preparer && !w->spare_failed && !w->stopping)
    pthread_cond_wait(&w->spare_cv, &w->mu);
  wal_segment *next = w->spare;
  w->spare = NULL;
  if (next) {
    if (qx_io_rename(next->path, path) != 0) {
      int e = errno;
      qx_wal_segment_close(next);
      return qx_fail_errno(QX_ERR_IO, e, "rename spare segment to %s", path);
    }
    snprintf(next->path, sizeof next->path, "%s", path);
  } else {
    int rc = qx_wal_segment_create(path, w->options.segment_size, &next); /* slow path */
    if (rc != QX_OK) return rc;
  }
  next->needs_dir_sync = 1;
  int rc = qx_wal_segment_start(next, first_lsn, w->active->first_lsn);
  if (rc != QX_OK) {
    qx_wal_segment_close(next); /* a blank segment: recovery removes it */
    return rc;
  }
  w->map_appends = qx_io_mapped_writes_allowed();
  w->active->next_sealed = NULL;
  *w->sealed_end = w->active;
  w->sealed_end = &w->active->next_sealed;
  w->active = next;
  w->spare_failed = 0;
  pthread_cond_signal(&w->spare_cv);
  return QX_OK;
}

static int check_record(const qx_wal *w, const qx_wal_record *rec) {
  if (!rec->data || rec->size == 0) return qx_fail(QX_ERR_INVALID_ARG, "WAL record has no payload");
  if (rec->size > QX_WAL_MAX_RECORD ||
      wal_entry_span(rec->size) > w->options.segment_size - WAL_SEGMENT_HEADER_SIZE)
    return qx_fail(QX_ERR_TOO_LARGE, "WAL record of %u bytes exceeds the limit", rec->size);
  return QX_OK;
}

/* REQUIRES: mu held. Waits until the ring has room for bytes more without overwriting what the
 * flusher has not written out yet; the only backpressure a writer with a ring meets. */
static int wait_for_ring_space(qx_wal *w, uint64_t bytes) {
  QX_REQUIRE_HELD(&w->mu);
  uint64_t capacity = w->ring->header->capacity;
  if (bytes > capacity)
    return qx_fail(QX_ERR_TOO_LARGE, "a batch of %llu bytes does not fit the log ring of %llu",
                   (unsigned long long)bytes, (unsigned long long)capacity);
  if (w->ring->write_position + bytes - w->flushed_position <= capacity) return QX_OK;
  int64_t start = qx_monotonic_ns();
  atomic_fetch_add(&w->ring_waits, 1);
  int rc = QX_OK;
  while (rc == QX_OK && w->ring->write_position + bytes - w->flushed_position > capacity) {
    if (atomic_load(&w->failure) != QX_OK || w->stopping) rc = refuse_appends(w);
    if (rc == QX_OK && w->flusher_idle) pthread_cond_signal(&w->flusher_cv);
    if (rc == QX_OK) pthread_cond_wait(&w->space_cv, &w->mu);
  }
  atomic_fetch_add(&w->ring_wait_ns, (uint64_t)(qx_monotonic_ns() - start));
  return rc;
}

/* REQUIRES: mu held. While a caller waits for durability, an appender does not let the bytes
 * not yet synced grow past one commit group (sync_group.h): it waits for the running round, so
 * that the waiter's acknowledgement costs a sync or two, not a backlog. Appends at `none` with
 * nobody waiting never stop here. */
static void wait_for_sync_group(qx_wal *w) {
  QX_REQUIRE_HELD(&w->mu);
  if (atomic_load(&w->durable_waiters) == 0 ||
      w->appended_bytes - w->synced_bytes <= w->group.budget)
    return;
  int64_t start = qx_monotonic_ns();
  atomic_fetch_add(&w->group_waits, 1);
  atomic_fetch_add(&w->durable_waiters, 1); /* this wait is for a sync too: no pacing */
  while (w->appended_bytes - w->synced_bytes > w->group.budget &&
         atomic_load(&w->failure) == QX_OK && !w->stopping)
    pthread_cond_wait(&w->space_cv, &w->mu);
  atomic_fetch_sub(&w->durable_waiters, 1);
  atomic_fetch_add(&w->group_wait_ns, (uint64_t)(qx_monotonic_ns() - start));
}

/* REQUIRES: mu held. Copies the batch into the ring, unpublished; no store touches a file. */
static int write_batch_to_ring(qx_wal *w, const qx_wal_record *records, size_t count, int64_t now) {
  uint64_t span = qx_ring_batch_span(w->ring, records, count);
  int rc = wait_for_ring_space(w, span);
  if (rc != QX_OK) return rc;
  qx_ring_reserve(w->ring, span);
  w->appended_bytes += span;
  for (size_t i = 0; i < count; i++) {
    uint32_t flags = i + 1 < count ? WAL_ENTRY_BATCH_CONTINUES : 0;
    wal_entry_header header = entry_header(&records[i], w->next_lsn + i, now, flags);
    qx_ring_put(w->ring, &header, records[i].data, records[i].size);
  }
  return QX_OK;
}

/* REQUIRES: mu held. Writes the batch at next_lsn into the log, rotating as needed. */
static int write_batch(qx_wal *w, const qx_wal_record *records, size_t count,
                       qx_durability durability, int64_t now) {
  QX_REQUIRE_HELD(&w->mu);
  if (w->ring) return write_batch_to_ring(w, records, count, now);
  int copy = count == 1 && durability == QX_DURABILITY_NONE && w->map_appends;
  staged_writes staged = {.entries = 0};
  uint64_t lsn = w->next_lsn;
  for (size_t i = 0; i < count; i++, lsn++) {
    uint64_t span = wal_entry_span(records[i].size);
    if (w->active->write_offset + span > w->active->size) {
      int rc = write_staged(w->active, &staged);
      if (rc == QX_OK) rc = rotate(w, lsn);
      if (rc != QX_OK) return rc;
    }
    uint32_t flags = i + 1 < count ? WAL_ENTRY_BATCH_CONTINUES : 0;
    wal_entry_header header = entry_header(&records[i], lsn, now, flags);
    if (copy) {
      copy_entry(w->active, &records[i], header);
    } else {
      int rc = stage_entry(w->active, &staged, &records[i], header);
      if (rc != QX_OK) return rc;
    }
    w->active->write_offset += span;
    w->appended_bytes += span;
  }
  return write_staged(w->active, &staged);
}

int qx_wal_append_batch(qx_wal *w, const qx_wal_record *records, size_t count,
                        qx_durability durability, uint64_t *last_lsn_out) {
  if (!w || !records || count == 0) return qx_fail(QX_ERR_INVALID_ARG, "empty WAL append");
  if (w->options.read_only) return qx_fail(QX_ERR_DENIED, "WAL %s is open read-only", w->dir);
  for (size_t i = 0; i < count; i++) {
    int rc = check_record(w, &records[i]);
    if (rc != QX_OK) return rc;
  }
  int64_t now = qx_wall_ns();
  pthread_mutex_lock(&w->mu);
  if (atomic_load_explicit(&w->failure, memory_order_relaxed) != QX_OK || w->stopping) {
    pthread_mutex_unlock(&w->mu);
    return refuse_appends(w);
  }
  wait_for_sync_group(w);
  int rc = write_batch(w, records, count, durability, now);
  if (rc == QX_ERR_TOO_LARGE || rc == QX_ERR_CLOSED) { /* refused before a byte was written */
    pthread_mutex_unlock(&w->mu);
    return rc;
  }
  if (rc == QX_OK) {
    w->next_lsn += count;
    atomic_store_explicit(&w->last_lsn, w->next_lsn - 1, memory_order_release);
    if (w->ring)
      qx_ring_publish(w->ring, w->next_lsn - 1);
    else
      atomic_store_explicit(&w->written_lsn, w->next_lsn - 1, memory_order_release);
  } else {
    /* Part of the batch may be in a segment: it stays unpublished, a reopen cuts it, and the
     * log takes nothing more (a failed write may also have left a hole). */
    publish_failure(w, rc);
  }
  uint64_t last = w->next_lsn - 1;
  if (w->flusher_idle) pthread_cond_signal(&w->flusher_cv);
  pthread_mutex_unlock(&w->mu);
  if (rc != QX_OK) return rc;
  if (last_lsn_out) *last_lsn_out = last;
  return durability != QX_DURABILITY_NONE ? qx_wal_wait_durable(w, last, -1) : QX_OK;
}

int qx_wal_append(qx_wal *w, const qx_wal_record *record, qx_durability durability,
                  uint64_t *lsn_out) {
  return qx_wal_append_batch(w, record, 1, durability, lsn_out);
}

void qx_wal_ring_waits(const qx_wal *w, uint64_t *waits, uint64_t *wait_ns) {
  *waits = atomic_load(&w->ring_waits);
  *wait_ns = atomic_load(&w->ring_wait_ns);
}

void qx_wal_group_waits(const qx_wal *w, uint64_t *waits, uint64_t *wait_ns) {
  *waits = atomic_load(&w->group_waits);
  *wait_ns = atomic_load(&w->group_wait_ns);
}

uint64_t qx_wal_written_lsn(const qx_wal *w) {
  return atomic_load_explicit(&w->written_lsn, memory_order_acquire);
}

uint64_t qx_wal_last_lsn(const qx_wal *w) {
  return atomic_load_explicit(&w->last_lsn, memory_order_acquire);
}

const char *qx_wal_dir(const qx_wal *w) {
  return w->dir;
}

uint64_t qx_wal_durable_lsn(const qx_wal *w) {
  return atomic_load_explicit(&w->durable_lsn, memory_order_acquire);
}

/* ---- durability: the flusher -------------------------------------------------------------- */

int qx_wal_wait_durable(qx_wal *w, uint64_t lsn, int64_t timeout_ns) {
  if (qx_wal_durable_lsn(w) >= lsn) return QX_OK;
  if (lsn > qx_wal_last_lsn(w))
    return qx_fail(QX_ERR_INVALID_ARG, "waiting for LSN %llu, which was never appended",
                   (unsigned long long)lsn);
  int64_t deadline = qx_monotonic_ns() + timeout_ns;
  int rc = QX_OK;
  atomic_fetch_add(&w->durable_waiters, 1); /* ends the flusher's pacing (pace_syncs) */
  pthread_mutex_lock(&w->mu);
  pthread_cond_signal(&w->flusher_cv);
  pthread_mutex_unlock(&w->mu);
  pthread_mutex_lock(&w->durable_mu);
  while (qx_wal_durable_lsn(w) < lsn && atomic_load(&w->failure) == QX_OK) {
    if (timeout_ns < 0) {
      pthread_cond_wait(&w->durable_cv, &w->durable_mu);
      continue;
    }
    struct timespec ts = {deadline / 1000000000, deadline % 1000000000};
    if (pthread_cond_timedwait(&w->durable_cv, &w->durable_mu, &ts) == ETIMEDOUT &&
        qx_wal_durable_lsn(w) < lsn) {
      rc = qx_fail(QX_ERR_TIMEOUT, "LSN %llu not durable in time", (unsigned long long)lsn);
      break;
    }
  }
  if (rc == QX_OK && qx_wal_durable_lsn(w) < lsn)
    rc = qx_fail(QX_ERR_IO, "WAL %s: LSN %llu is not durable: %s", w->dir, (unsigned long long)lsn,
                 w->failure_cause);
  pthread_mutex_unlock(&w->durable_mu);
  atomic_fetch_sub(&w->durable_waiters, 1);
  return rc;
}

static void publish_durable(qx_wal *w, uint64_t lsn) {
  atomic_store_explicit(&w->durable_lsn, lsn, memory_order_release);
  pthread_mutex_lock(&w->durable_mu);
  pthread_cond_broadcast(&w->durable_cv);
  pthread_mutex_unlock(&w->durable_mu);
  if (w->options.on_durable) w->options.on_durable(lsn, w->options.on_durable_ctx);
}

/* Records the first failure and its cause (the calling thread's qx_last_error()). */
static void publish_failure(qx_wal *w, int rc) {
  pthread_mutex_lock(&w->durable_mu);
  if (atomic_load(&w->failure) == QX_OK) {
    snprintf(w->failure_cause, sizeof w->failure_cause, "%s", qx_last_error());
    atomic_store(&w->failure, rc);
  }
  pthread_cond_broadcast(&w->durable_cv);
  pthread_mutex_unlock(&w->durable_mu);
}

/* Fails with what stopped the log: QX_ERR_CLOSED, naming the first failure's cause. */
static int refuse_appends(qx_wal *w) {
  char cause[sizeof w->failure_cause] = "it is closing";
  pthread_mutex_lock(&w->durable_mu);
  if (atomic_load(&w->failure) != QX_OK) snprintf(cause, sizeof cause, "%s", w->failure_cause);
  pthread_mutex_unlock(&w->durable_mu);
  return qx_fail(QX_ERR_CLOSED, "WAL %s takes no more appends: %s", w->dir, cause);
}

/* Syncs (and frees) the full segments, the directory if a segment was renamed into it, then
 * the active segment. Runs without mu: see the file comment. */
static int sync_round(qx_wal *w, wal_segment *sealed, wal_segment *active, int dir_sync) {
  int rc = QX_OK;
  while (sealed) {
    wal_segment *next = sealed->next_sealed;
    if (rc == QX_OK && qx_io_fdatasync(sealed->fd) != 0)
      rc = qx_fail_errno(QX_ERR_IO, errno, "sync %s", sealed->path);
    qx_wal_segment_close(sealed);
    sealed = next;
  }
  if (rc == QX_OK && dir_sync) rc = qx_fsync_dir(w->dir);
  if (rc == QX_OK && qx_io_fdatasync(active->fd) != 0)
    rc = qx_fail_errno(QX_ERR_IO, errno, "sync %s", active->path);
  return rc;
}

static int needs_dir_sync(wal_segment *sealed, wal_segment *active) {
  int any = active->needs_dir_sync;
  active->needs_dir_sync = 0;
  for (; sealed; sealed = sealed->next_sealed)
    any |= sealed->needs_dir_sync;
  return any;
}

/* Writes the frames of ring between positions from and to into the segment files, rotating to
 * a new segment where a frame does not fit. Frames next to each other in the ring and in the
 * segment go out in one pwrite (a run). Run by the flusher, and by open's salvage of a dead
 * writer's ring; either is the only one that touches the active segment then. */
typedef struct frame_run {
  uint64_t ring_offset, bytes, segment_offset;
} frame_run;

/* Writes the run out, if there is one, and empties it. */
static int end_run(wal_segment *seg, const qx_ring *ring, frame_run *run) {
  uint64_t bytes = run->bytes;
  run->bytes = 0;
  if (bytes == 0) return QX_OK;
  ssize_t n =
      qx_io_pwrite(seg->fd, ring->frames + run->ring_offset, bytes, (off_t)run->segment_offset);
  return n == (ssize_t)bytes
             ? QX_OK
             : qx_fail_errno(QX_ERR_IO, n < 0 ? errno : EIO,
                             "write %llu bytes to %s at offset %llu", (unsigned long long)bytes,
                             seg->path, (unsigned long long)run->segment_offset);
}

/* Makes room in the segment files for a frame of span bytes with LSN lsn: ends the run where
 * the frame would not follow it (a new segment, or the ring wrapped around). */
static int place_frame(qx_wal *w, const qx_ring *ring, frame_run *run, uint64_t offset,
                       uint64_t span, uint64_t lsn) {
  int rc = QX_OK;
  if (w->active->write_offset + span > w->active->size) {
    rc = end_run(w->active, ring, run);
    pthread_mutex_lock(&w->mu);
    if (rc == QX_OK) rc = rotate(w, lsn);
    pthread_mutex_unlock(&w->mu);
  } else if (run->bytes && run->ring_offset + run->bytes != offset) {
    rc = end_run(w->active, ring, run);
  }
  if (rc == QX_OK && run->bytes == 0) *run = (frame_run){offset, 0, w->active->write_offset};
  return rc;
}

static int write_out(qx_wal *w, const qx_ring *ring, uint64_t from, uint64_t to) {
  uint64_t capacity = ring->header->capacity;
  frame_run run = {0, 0, 0};
  int rc = QX_OK;
  for (uint64_t pos = from; rc == QX_OK && pos < to;) {
    uint64_t start = qx_ring_skip_padding(ring, pos);
    if (start != pos) { /* the ring wrapped: the run ends */
      rc = end_run(w->active, ring, &run);
      pos = start;
      continue;
    }
    uint64_t offset = pos & (capacity - 1);
    wal_entry_header h;
    memcpy(&h, ring->frames + offset, sizeof h);
    uint64_t span = wal_entry_span(h.size);
    rc = place_frame(w, ring, &run, offset, span, h.lsn);
    run.bytes += span;
    w->active->write_offset += span;
    pos += span;
  }
  return rc == QX_OK ? end_run(w->active, ring, &run) : rc;
}

/* REQUIRES: mu held. Waits for appends; with a ring, wakes every heartbeat period to tell its
 * readers that the writer lives (docs/formats/ring.md). */
static void wait_for_work(qx_wal *w) {
  QX_REQUIRE_HELD(&w->mu);
  if (!w->ring) {
    pthread_cond_wait(&w->flusher_cv, &w->mu);
    return;
  }
  qx_ring_heartbeat(w->ring);
  int64_t at = qx_monotonic_ns() + QX_RING_HEARTBEAT_NS;
  struct timespec ts = {at / 1000000000, at % 1000000000};
  pthread_cond_timedwait(&w->flusher_cv, &w->mu, &ts);
}

/* REQUIRES: mu held. With nobody waiting for durability (appends at `none`), a sync round
 * starts at most every SYNC_PACE_NS: back to back, the syncs took a core from the writer and
 * its subscribers, and each one made the writer's next store to a page under writeback wait.
 * A caller that starts waiting wakes the flusher at once. */
static void pace_syncs(qx_wal *w, int64_t round_start) {
  QX_REQUIRE_HELD(&w->mu);
  int64_t until = round_start + SYNC_PACE_NS;
  while (!w->stopping && atomic_load(&w->durable_waiters) == 0 && qx_monotonic_ns() < until) {
    struct timespec ts = {until / 1000000000, until % 1000000000};
    pthread_cond_timedwait(&w->flusher_cv, &w->mu, &ts);
  }
}

static void *flusher_main(void *arg) {
  qx_wal *w = arg;
  qx_thread_name("qx-wal-flush");
  pthread_mutex_lock(&w->mu);
  for (;;) {
    while (!w->stopping && !w->sealed && w->synced_lsn == w->next_lsn - 1) {
      w->flusher_idle = 1;
      wait_for_work(w);
      w->flusher_idle = 0;
    }
    uint64_t target = w->next_lsn - 1;
    uint64_t target_bytes = w->appended_bytes;
    if (w->stopping && !w->sealed && w->synced_lsn == target) break;
    if (w->ring) qx_ring_heartbeat(w->ring); /* a busy flusher never waits in wait_for_work */
    int64_t round_start = qx_monotonic_ns();
    if (w->ring) {
      uint64_t to = w->ring->write_position; /* == published: appends publish under mu */
      pthread_mutex_unlock(&w->mu);
      int rc = write_out(w, w->ring, w->flushed_position, to);
      pthread_mutex_lock(&w->mu);
      if (rc != QX_OK) {
        pthread_mutex_unlock(&w->mu);
        publish_failure(w, rc);
        pthread_mutex_lock(&w->mu);
        pthread_cond_broadcast(&w->space_cv);
        break;
      }
      w->flushed_position = to;
      atomic_store_explicit(&w->written_lsn, target, memory_order_release);
      qx_ring_set_flushed(w->ring, target, to);
      pthread_cond_broadcast(&w->space_cv);
    }
    wal_segment *sealed = w->sealed;
    wal_segment *active = w->active;
    int dir_sync = needs_dir_sync(sealed, active);
    w->sealed = NULL;
    w->sealed_end = &w->sealed;
    pthread_mutex_unlock(&w->mu);
    int rc = sync_round(w, sealed, active, dir_sync);
    if (rc != QX_OK) {
      publish_failure(w, rc);
      pthread_mutex_lock(&w->mu);
      break;
    }
    w->synced_lsn = target;
    publish_durable(w, target);
    pthread_mutex_lock(&w->mu);
    qx_sync_group_round(&w->group, target_bytes - w->synced_bytes, qx_monotonic_ns() - round_start);
    w->synced_bytes = target_bytes;
    pthread_cond_broadcast(&w->space_cv);
    pace_syncs(w, round_start);
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

/* ---- the spare segment -------------------------------------------------------------------- */

static void *preparer_main(void *arg) {
  qx_wal *w = arg;
  qx_thread_name("qx-wal-spare");
  pthread_mutex_lock(&w->mu);
  while (!w->stopping) {
    if (w->spare || w->spare_failed) {
      pthread_cond_wait(&w->spare_cv, &w->mu);
      continue;
    }
    pthread_mutex_unlock(&w->mu);
    wal_segment *seg = NULL;
    int rc = qx_wal_segment_create(w->spare_path, w->options.segment_size, &seg);
    pthread_mutex_lock(&w->mu);
    if (rc == QX_OK)
      w->spare = seg;
    else
      w->spare_failed = 1;                /* rotation then creates in place and reports the error */
    pthread_cond_broadcast(&w->spare_cv); /* a flusher may wait for it (rotate) */
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

/* ---- open, recovery, close ---------------------------------------------------------------- */

static int drop_segments_after(const char *dir, uint64_t keep_up_to) {
  wal_segment_list list;
  int rc = qx_wal_list_segments(dir, &list);
  for (size_t i = 0; rc == QX_OK && i < list.count; i++) {
    if (list.first_lsns[i] <= keep_up_to) continue;
    char path[PATH_MAX];
    qx_wal_segment_path(path, sizeof path, dir, list.first_lsns[i]);
    if (qx_io_unlink(path) != 0) rc = qx_fail_errno(QX_ERR_IO, errno, "remove %s", path);
  }
  qx_wal_segment_list_free(&list);
  return rc;
}

/* Applies what the scan decided: drop discarded segments, clear a torn tail, pick the active
 * segment, and make all of it durable before the log is declared open. */
static int recover(qx_wal *w, const wal_scan_result *r) {
  int rc = r->drop_later_segments ? drop_segments_after(w->dir, r->tail_first_lsn) : QX_OK;
  char path[PATH_MAX];
  if (rc == QX_OK && r->tail_first_lsn) {
    qx_wal_segment_path(path, sizeof path, w->dir, r->tail_first_lsn);
    rc = qx_wal_segment_open(path, r->tail_first_lsn, &w->active);
    if (rc == QX_OK) {
      w->active->write_offset = r->tail_offset;
      if (r->tail_dirty_end > r->tail_offset)
        rc = qx_wal_segment_zero(w->active, r->tail_offset, r->tail_dirty_end);
    }
  } else if (rc == QX_OK) {
    qx_wal_segment_path(path, sizeof path, w->dir, r->next_lsn);
    rc = qx_wal_segment_create(path, w->options.segment_size, &w->active);
    if (rc == QX_OK) rc = qx_wal_segment_start(w->active, r->next_lsn, 0);
  }
  if (rc == QX_OK && qx_io_fdatasync(w->active->fd) != 0)
    rc = qx_fail_errno(QX_ERR_IO, errno, "sync %s", w->active->path);
  if (rc == QX_OK) rc = qx_fsync_dir(w->dir);
  return rc;
}

static int init_sync(qx_wal *w) {
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  int rc = pthread_mutex_init(&w->mu, NULL) || pthread_mutex_init(&w->durable_mu, NULL) ||
           pthread_cond_init(&w->flusher_cv, &ca) || pthread_cond_init(&w->spare_cv, NULL) ||
           pthread_cond_init(&w->space_cv, NULL) || pthread_cond_init(&w->durable_cv, &ca) ||
           pthread_rwlock_init(&w->files_lock, NULL);
  pthread_condattr_destroy(&ca);
  return rc ? qx_fail(QX_ERR_NOMEM, "WAL: cannot create locks") : QX_OK;
}

static void free_wal(qx_wal *w) {
  /* After a failure the ring may hold records no segment file has: the next open salvages
   * them (salvage_ring), so its name stays. */
  qx_ring_close(w->ring, atomic_load(&w->failure) != QX_OK);
  qx_wal_segment_close(w->active);
  if (w->spare) {
    qx_io_unlink(w->spare->path);
    qx_wal_segment_close(w->spare);
  }
  qx_dirlock_release(w->lock_fd);
  free(w);
}

/* Locks the log and finds its end; a writer also recovers (see recover), a read-only open
 * changes nothing. */
/* A log with no segment yet starts at options.first_lsn (an engine's checkpoint + 1). */
static void start_after_first_lsn(const qx_wal *w, wal_scan_result *r) {
  if (!r->tail_first_lsn && w->options.first_lsn > r->next_lsn) r->next_lsn = w->options.first_lsn;
}

static int lock_and_scan(qx_wal *w, wal_scan_result *r) {
  if (w->options.read_only) {
    struct stat st;
    if (stat(w->dir, &st) != 0)
      return qx_fail_errno(errno == ENOENT ? QX_ERR_NOT_FOUND : QX_ERR_IO, errno, "WAL folder %s",
                           w->dir);
    int rc = qx_dirlock_acquire_shared(w->dir, &w->lock_fd);
    if (rc == QX_OK) rc = qx_wal_scan_dir(w->dir, 1, UINT64_MAX, NULL, NULL, w->options.salvage, r);
    if (rc == QX_OK) start_after_first_lsn(w, r);
    return rc;
  }
  int rc = qx_dirlock_acquire(w->dir, &w->lock_fd);
  if (rc != QX_OK) return rc;
  qx_io_unlink(w->spare_path); /* a crash's spare was never in the log */
  rc = qx_wal_scan_dir(w->dir, 1, UINT64_MAX, NULL, NULL, w->options.salvage, r);
  if (rc == QX_OK) start_after_first_lsn(w, r);
  return rc == QX_OK ? recover(w, r) : rc;
}

static int create_ring(qx_wal *w, uint64_t next_lsn) {
  int rc = qx_ring_create(w->dir, w->options.ring_size, next_lsn, &w->ring);
  if (rc == QX_OK) return QX_OK;
  char cause[512];
  snprintf(cause, sizeof cause, "%s", qx_last_error());
  return qx_fail(rc, "WAL %s: %s (a ring_size of 0 opens without a ring)", w->dir, cause);
}

/* A writer killed at durability `none` may have left records in its ring that its flusher had
 * not written to the segment files: they were acknowledged, so open writes them out before
 * anything else, every frame checked first (docs/formats/ring.md). */
static int salvage_frames(qx_wal *w, const qx_ring *old, wal_scan_result *r, uint64_t last) {
  uint64_t from = qx_ring_find(old, r->next_lsn), pos = from;
  if (from == UINT64_MAX)
    return qx_fail(QX_ERR_CORRUPT,
                   "%s: the log ring %s holds records up to LSN %llu, but not LSN %llu where the "
                   "segment files end",
                   w->dir, old->path, (unsigned long long)last, (unsigned long long)r->next_lsn);
  for (uint64_t lsn = r->next_lsn; lsn <= last; lsn++) {
    qx_wal_entry e;
    uint64_t next;
    int status;
    if (qx_ring_read_frame(old, &pos, lsn, &e, &next, &status) != QX_RING_FRAME)
      return status != QX_OK ? status
                             : qx_fail(QX_ERR_CORRUPT, "%s: LSN %llu is missing from the log ring",
                                       old->path, (unsigned long long)lsn);
    pos = next;
  }
  int rc = write_out(w, old, from, pos);
  if (rc == QX_OK) rc = sync_round(w, w->sealed, w->active, 1);
  w->sealed = NULL;
  w->sealed_end = &w->sealed;
  if (rc != QX_OK) return rc;
  r->report.ring_records = last - r->next_lsn + 1;
  r->next_lsn = last + 1;
  r->report.last_lsn = last;
  return QX_OK;
}

static int salvage_ring(qx_wal *w, wal_scan_result *r) {
  qx_ring *old = NULL;
  struct stat st;
  if (qx_ring_attach(w->dir, &old) != QX_OK || !old) {
    qx_clear_error(); /* no ring, or not this folder's: nothing to salvage */
    return QX_OK;
  }
  uint64_t last = atomic_load_explicit(&old->header->published_lsn, memory_order_acquire);
  int rc = QX_OK;
  if (stat(w->dir, &st) == 0 && (uint64_t)st.st_ino == old->header->wal_inode &&
      last >= r->next_lsn)
    rc = salvage_frames(w, old, r, last);
  qx_ring_close(old, 0);
  return rc;
}

static int time_bare_sync(qx_wal *w) {
  int64_t ns = 0;
  int rc = qx_wal_segment_time_sync(w->active, &ns);
  qx_sync_group_init(&w->group, ns);
  return rc;
}

static int start_threads(qx_wal *w) {
  if (pthread_create(&w->flusher, NULL, flusher_main, w) != 0)
    return qx_fail(QX_ERR_NOMEM, "WAL: cannot start the flusher thread");
  if (pthread_create(&w->preparer, NULL, preparer_main, w) != 0) {
    w->spare_failed = 1; /* rotation falls back to creating segments itself */
    w->preparer = 0;
  }
  return QX_OK;
}

int qx_wal_open(const char *dir, const qx_wal_options *options, qx_wal **out,
                qx_wal_recovery *recovery) {
  if (!dir || !out) return qx_fail(QX_ERR_INVALID_ARG, "qx_wal_open: missing argument");
  if (strlen(dir) + WAL_SEGMENT_NAME_LEN + 2 >= PATH_MAX)
    return qx_fail(QX_ERR_INVALID_ARG, "WAL directory name too long");
  qx_wal *w = calloc(1, sizeof *w);
  if (!w) return qx_fail(QX_ERR_NOMEM, "qx_wal_open");
  w->sealed_end = &w->sealed;
  w->lock_fd = -1;
  snprintf(w->dir, sizeof w->dir, "%s", dir);
  if (options)
    w->options = *options;
  else
    qx_wal_options_init(&w->options);
  snprintf(w->spare_path, sizeof w->spare_path, "%s/%s", dir, SPARE_NAME);
  uint64_t segment_size = w->options.segment_size;
  if (segment_size < MIN_SEGMENT_SIZE && !w->options.read_only) {
    free(w);
    return qx_fail(QX_ERR_INVALID_ARG, "WAL segment size %llu is below the minimum of %llu",
                   (unsigned long long)segment_size, MIN_SEGMENT_SIZE);
  }
  wal_scan_result r;
  int rc = lock_and_scan(w, &r);
  if (rc == QX_OK) rc = init_sync(w);
  if (rc == QX_OK && !w->options.read_only) rc = salvage_ring(w, &r);
  if (rc != QX_OK) {
    free_wal(w);
    return rc;
  }
  w->next_lsn = r.next_lsn;
  w->map_appends = qx_io_mapped_writes_allowed();
  w->synced_lsn = r.next_lsn - 1;
  atomic_store(&w->last_lsn, r.next_lsn - 1);
  atomic_store(&w->written_lsn, r.next_lsn - 1);
  atomic_store(&w->durable_lsn, r.next_lsn - 1);
  if (recovery) *recovery = r.report;
  if (!w->options.read_only) rc = time_bare_sync(w);
  if (rc == QX_OK && !w->options.read_only && w->options.ring_size) rc = create_ring(w, r.next_lsn);
  if (rc == QX_OK && !w->options.read_only) rc = start_threads(w);
  if (rc != QX_OK) {
    free_wal(w);
    return rc;
  }
  *out = w;
  return QX_OK;
}

int qx_wal_close(qx_wal *w) {
  if (!w) return QX_OK;
  if (!w->options.read_only) {
    pthread_mutex_lock(&w->mu);
    w->stopping = 1;
    pthread_cond_signal(&w->flusher_cv);
    pthread_cond_broadcast(&w->spare_cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->flusher, NULL);
    if (w->preparer) pthread_join(w->preparer, NULL);
  }
  int rc = atomic_load(&w->failure);
  if (rc != QX_OK) qx_record_failure("WAL %s failed: %s", w->dir, w->failure_cause);
  for (wal_segment *s = w->sealed, *next; s; s = next) { /* only left if the flusher failed */
    next = s->next_sealed;
    qx_wal_segment_close(s);
  }
  free_wal(w);
  return rc;
}

/* ---- reading back and trimming ------------------------------------------------------------ */

int qx_wal_replay(qx_wal *w, uint64_t from_lsn, qx_wal_visit_fn visit, void *ctx) {
  if (!w || !visit) return qx_fail(QX_ERR_INVALID_ARG, "qx_wal_replay: missing argument");
  uint64_t to = qx_wal_written_lsn(w);
  if (from_lsn > to) return QX_OK;
  wal_scan_result r;
  pthread_rwlock_rdlock(&w->files_lock);
  int rc = qx_wal_scan_dir(w->dir, from_lsn, to, visit, ctx, 0, &r);
  pthread_rwlock_unlock(&w->files_lock);
  if (rc == QX_OK && r.first_lsn > from_lsn && from_lsn > 0)
    rc = qx_fail(QX_ERR_NOT_FOUND, "LSN %llu is below the oldest LSN kept (%llu)",
                 (unsigned long long)from_lsn, (unsigned long long)r.first_lsn);
  return rc;
}

/* The index of the oldest segment a checkpoint at lsn keeps. Segment i holds LSNs below segment
 * i+1's first, and the newest segment is never removed. Named cursors (dist/cursor.h) keep the
 * segments they still need, but at most cursor_retention_bytes of them: a cursor nobody
 * acknowledges any more must not fill the disk. */
static size_t segments_to_keep(const qx_wal *w, const wal_segment_list *list, uint64_t lsn) {
  size_t upto = 0;
  while (upto + 1 < list->count && list->first_lsns[upto + 1] <= lsn)
    upto++;
  uint64_t needed = qx_cursor_oldest_needed(w->dir);
  size_t keep = upto;
  while (keep > 0 && list->first_lsns[keep] > needed)
    keep--;
  uint64_t most = w->options.cursor_retention_bytes / w->options.segment_size;
  return upto - keep > most ? upto - (size_t)most : keep;
}

int qx_wal_checkpoint(qx_wal *w, uint64_t lsn) {
  if (!w) return qx_fail(QX_ERR_INVALID_ARG, "qx_wal_checkpoint: no WAL");
  if (w->options.read_only) return qx_fail(QX_ERR_DENIED, "WAL %s is open read-only", w->dir);
  wal_segment_list list;
  int rc = qx_wal_list_segments(w->dir, &list);
  int removed = 0;
  size_t first_kept = rc == QX_OK ? segments_to_keep(w, &list, lsn) : 0;
  pthread_rwlock_wrlock(&w->files_lock);
  for (size_t i = 0; rc == QX_OK && i < first_kept; i++) {
    char path[PATH_MAX];
    qx_wal_segment_path(path, sizeof path, w->dir, list.first_lsns[i]);
    if (qx_io_unlink(path) != 0)
      rc = qx_fail_errno(QX_ERR_IO, errno, "remove %s", path);
    else
      removed++;
  }
  pthread_rwlock_unlock(&w->files_lock);
  qx_wal_segment_list_free(&list);
  if (rc == QX_OK && removed) rc = qx_fsync_dir(w->dir);
  return rc;
}
