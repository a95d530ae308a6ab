/* Subscribers (qaxdb/sub.h): reading the log ring in place, falling back to the WAL segment
 * files when the ring no longer holds the next LSN, and following the writer across its death
 * and the next writer's open. Every record handed out has the LSN after the previous one's,
 * whichever of the two sources it came from; a record that fails its checks is reported, never
 * handed out. */
#include "qaxdb/sub.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dist/sub_filter.h"
#include "dist/sub_impl.h"
#include "util/clock.h"
#include "util/dirlock.h"
#include "util/error.h"
#include "wal/segment.h"

#define RECHECK_NS 50000000     /* how often an idle subscriber looks for a new writer */
#define SPIN_POLLS 200          /* polls before a waiting subscriber starts to sleep */
#define MIN_SLEEP_NS 20000      /* then sleeps from this ... */
#define MAX_SLEEP_NS 1000000    /* ... doubling up to this */
#define OPEN_WAIT_NS 2000000000 /* for the ring of a writer that is opening */

static int wal_dir_of(const char *dir, char out[PATH_MAX]) {
  return snprintf(out, PATH_MAX, "%s/wal", dir) < PATH_MAX
             ? QX_OK
             : qx_fail(QX_ERR_INVALID_ARG, "data folder path too long: %s", dir);
}

void qx_sub_options_init(qx_sub_options *options) {
  memset(options, 0, sizeof *options);
}

/* ---- following the writer ----------------------------------------------------------------- */

static void drop_ring(qx_sub *s) {
  qx_ring_close(s->ring, 0);
  s->ring = NULL;
  s->in_ring = 0;
  s->holding = 0;
}

/* The log lost records it handed out: the subscriber says so now and on every later call. */
static int lost_records(qx_sub *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int lost_records(qx_sub *s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->failure, sizeof s->failure, fmt, ap);
  va_end(ap);
  return qx_fail(QX_ERR_CORRUPT, "%s", s->failure);
}

/* Maps the folder's ring if a writer has one. A writer that took over from the one whose ring
 * this subscriber read must go on where the records handed out so far end: if its log starts
 * before, the log lost records the subscriber received. */
static int attach_ring(qx_sub *s) {
  qx_ring *ring = NULL;
  s->ring = NULL;
  if (qx_ring_attach(s->wal_dir, &ring) != QX_OK || !ring) return QX_OK; /* none yet */
  s->ring = ring;
  uint64_t generation = ring->header->generation, previous = s->generation;
  s->generation = generation;
  if (!previous || generation == previous) return QX_OK;
  s->stats.writer_restarts++;
  uint64_t first = ring->header->first_lsn;
  if (first < s->next_lsn)
    return lost_records(s,
                        "%s: the writer's log now goes on at LSN %llu, but this subscriber has "
                        "already received records up to LSN %llu: the log lost them",
                        s->wal_dir, (unsigned long long)first,
                        (unsigned long long)(s->next_lsn - 1));
  return QX_OK;
}

/* Every RECHECK_NS while idle: a ring that another writer replaced, or that is gone. */
static int recheck_writer(qx_sub *s) {
  int64_t now = qx_monotonic_ns();
  if (now < s->next_recheck_ns) return QX_OK;
  s->next_recheck_ns = now + RECHECK_NS;
  if (s->ring && !qx_ring_replaced(s->ring)) return QX_OK;
  if (s->ring) drop_ring(s);
  return attach_ring(s);
}

/* ---- one poll ----------------------------------------------------------------------------- */

/* A frame handed out in place must outlive its use: a subscriber more than half the ring behind
 * the writer reads from the segment files, which the writer does not overwrite, if they hold
 * its next record yet. The writer never overwrites a frame its flusher has not written out. */
static int near_lap(const qx_sub *s) {
  const qx_ring_header *h = s->ring->header;
  uint64_t published = atomic_load_explicit(&h->published, memory_order_acquire);
  return published - s->position > h->capacity / 2 &&
         s->next_lsn <= atomic_load_explicit(&h->flushed_lsn, memory_order_acquire);
}

/* Reads from the ring at next_lsn: 1 and *record (at position *at) for a record, 0 for nothing
 * new (or a lap, which leaves in_ring clear), or a failure. */
static int read_ring(qx_sub *s, qx_wal_entry *record, uint64_t *record_at) {
  if (!s->in_ring) {
    uint64_t at = qx_ring_find(s->ring, s->next_lsn);
    if (at == UINT64_MAX) return 0;
    s->in_ring = 1;
    s->position = at;
  }
  for (;;) {
    uint64_t next;
    int status;
    uint64_t at = s->position;
    if (s->next_lsn > s->limit_lsn) return 0;
    qx_ring_read got = near_lap(s)
                           ? QX_RING_LAPPED
                           : qx_ring_read_frame(s->ring, &at, s->next_lsn, record, &next, &status);
    if (got == QX_RING_LAPPED) {
      s->in_ring = 0;
      s->stats.laps++;
      return 0;
    }
    if (got == QX_RING_NOTHING) return status;
    s->position = next;
    s->next_lsn++;
    if (!qx_sub_filter_match(&s->opt, record)) continue;
    *record_at = at;
    return 1;
  }
}

/* read_ring for a record handed out alone: the caller holds it. */
static int poll_ring(qx_sub *s, qx_wal_entry *record) {
  uint64_t at;
  int got = read_ring(s, record, &at);
  if (got == 1) {
    s->holding = 1;
    s->held_position = at;
    s->held_lsn = record->lsn;
  }
  return got;
}

/* 1 and *record, 0 when nothing is there yet, or a failure. */
static int poll_once(qx_sub *s, qx_wal_entry *record) {
  if (qx_sub_take_buffered(s, record)) return 1;
  if (s->ring) {
    int got = poll_ring(s, record);
    if (got != 0 || s->in_ring) return got;
    /* The files hold what the writer's flusher has written out of the ring. */
    uint64_t flushed = atomic_load_explicit(&s->ring->header->flushed_lsn, memory_order_acquire);
    uint64_t to = flushed < s->limit_lsn ? flushed : s->limit_lsn;
    if (s->next_lsn > to) return 0;
    int rc = qx_sub_read_files(s, to); /* below the ring, or lapped */
    return rc != QX_OK ? rc : qx_sub_take_buffered(s, record);
  }
  /* No ring: the log as the files hold it, read again every RECHECK_NS, but only while no
   * writer holds it. A live log's end is not known from its files: a reader may see an entry
   * whose predecessor is still being written. A writer's records come through its ring. */
  int64_t now = qx_monotonic_ns();
  if (now < s->next_file_read_ns || qx_dirlock_writer_holds(s->wal_dir)) return 0;
  s->next_file_read_ns = now + RECHECK_NS;
  int rc = qx_sub_read_files(s, UINT64_MAX);
  if (rc == QX_ERR_CORRUPT && qx_dirlock_writer_holds(s->wal_dir)) return 0; /* one just began */
  return rc != QX_OK ? rc : qx_sub_take_buffered(s, record);
}

/* Spins first, then sleeps ever longer up to MAX_SLEEP_NS, unless told to spin. */
static void wait_a_little(const qx_sub *s, int polls) {
  if (polls < SPIN_POLLS || s->opt.spin) return;
  int64_t ns = (int64_t)MIN_SLEEP_NS << (polls - SPIN_POLLS < 6 ? polls - SPIN_POLLS : 6);
  struct timespec ts = {0, ns < MAX_SLEEP_NS ? ns : MAX_SLEEP_NS};
  nanosleep(&ts, NULL);
}

int qx_sub_next_record(qx_sub *s, qx_wal_entry *record, int64_t deadline) {
  for (int polls = 0;; polls++) {
    int got = poll_once(s, record);
    if (got == 1) return QX_OK;
    if (got != 0) return got;
    int rc = recheck_writer(s);
    if (rc != QX_OK) return rc;
    if (qx_monotonic_ns() >= deadline)
      return qx_fail(QX_ERR_TIMEOUT, "no record after LSN %llu in time",
                     (unsigned long long)(s->next_lsn - 1));
    wait_a_little(s, polls);
  }
}

/* ---- delayed and conflated subscriptions ---------------------------------------------------- */
int qx_sub_next(qx_sub *s, qx_wal_entry *record, int64_t timeout_ns) {
  if (!s || !record) return qx_fail(QX_ERR_INVALID_ARG, "qx_sub_next: missing argument");
  if (s->failure[0]) return qx_fail(QX_ERR_CORRUPT, "%s", s->failure);
  if (s->holding && qx_ring_overwritten(s->ring, s->held_position)) {
    s->holding = 0;
    return qx_fail(QX_ERR_LAPPED, "%s: the record with LSN %llu was overwritten while held",
                   s->ring->path, (unsigned long long)s->held_lsn);
  }
  s->holding = 0;
  if (s->state) {
    int got = qx_sub_state_next(s, record);
    if (got != 0) return got == 1 ? QX_OK : got;
  }
  int64_t deadline = timeout_ns < 0 ? INT64_MAX : qx_monotonic_ns() + timeout_ns;
  return s->opt.delay_ms ? qx_sub_next_delayed(s, record, deadline)
                         : qx_sub_next_record(s, record, deadline);
}

/* After a record handed out from the ring, the ones right behind it there, up to max: the
 * caller holds them all, and the first one's position answers for every later one (the writer
 * overwrites in position order). Anything but a plain record in the ring ends the batch; the
 * next call meets it again and deals with it. */
static size_t take_ring_run(qx_sub *s, qx_wal_entry *records, size_t max) {
  size_t n = 0;
  uint64_t at;
  while (n < max && read_ring(s, &records[n], &at) == 1)
    n++;
  return n;
}

int qx_sub_next_batch(qx_sub *s, qx_wal_entry *records, size_t max, size_t *count,
                      int64_t timeout_ns) {
  if (!count || max == 0)
    return qx_fail(QX_ERR_INVALID_ARG, "qx_sub_next_batch: no room for records");
  *count = 0;
  int rc = qx_sub_next(s, records, timeout_ns);
  if (rc != QX_OK) return rc;
  *count = 1;
  if (s->holding && !s->opt.delay_ms) *count += take_ring_run(s, records + 1, max - 1);
  return QX_OK;
}

/* ---- open, status, close ------------------------------------------------------------------ */

/* Attaches the ring; when a writer holds the folder but has no ring yet (it is opening), waits
 * for it up to OPEN_WAIT_NS. */
static int attach_live_ring(qx_sub *s) {
  int64_t deadline = qx_monotonic_ns() + OPEN_WAIT_NS;
  for (;;) {
    int rc = attach_ring(s);
    if (rc != QX_OK || s->ring || !qx_dirlock_writer_holds(s->wal_dir)) return rc;
    if (qx_monotonic_ns() > deadline)
      return qx_fail(QX_ERR_NOT_FOUND,
                     "%s: a writer holds the folder but has no log ring for subscribers (was it "
                     "opened with a ring_size of 0?)",
                     s->wal_dir);
    struct timespec ts = {0, 10000000};
    nanosleep(&ts, NULL);
  }
}

/* A named subscriber that acknowledged before starts right after that. */
static int resume_cursor(qx_sub *s) {
  s->opt.cursor[sizeof s->opt.cursor - 1] = '\0';
  int rc = qx_cursor_open(s->wal_dir, s->opt.cursor, &s->cursor);
  if (rc != QX_OK || qx_cursor_acked(s->cursor) == 0) return rc;
  s->opt.start = QX_SUB_FROM_LSN;
  s->opt.from_lsn = qx_cursor_acked(s->cursor) + 1;
  return QX_OK;
}

/* The oldest LSN the log keeps, and the one after the newest it holds. */
static int log_bounds(const qx_sub *s, uint64_t *oldest, uint64_t *end) {
  wal_segment_list list;
  int rc = qx_wal_list_segments(s->wal_dir, &list);
  if (rc != QX_OK) return rc;
  *oldest = list.count ? list.first_lsns[0] : 1;
  qx_wal_segment_list_free(&list);
  if (s->ring) {
    *end = atomic_load_explicit(&s->ring->header->published_lsn, memory_order_acquire) + 1;
    return QX_OK;
  }
  qx_wal_recovery rec;
  rc = qx_wal_scan(s->wal_dir, 1, NULL, NULL, &rec);
  if (rc != QX_OK) return rc;
  *end = rec.last_lsn + 1;
  if (rec.first_lsn) *oldest = rec.first_lsn;
  return QX_OK;
}

/* Starts with db's state, then the log after it. The log is read after the snapshot is taken,
 * so it holds the snapshot's LSN; a checkpoint may trim the log past it meanwhile, and then a
 * newer snapshot is taken. */
static int start_from_state(qx_sub *s, qx_db *db) {
  for (int attempt = 0; attempt < 3; attempt++) {
    uint64_t oldest, end;
    int rc = qx_sub_state_begin(s, db);
    if (rc == QX_OK) rc = log_bounds(s, &oldest, &end);
    if (rc != QX_OK) return rc;
    uint64_t after = s->stats.state_lsn + 1;
    if (after >= oldest && after <= end) {
      s->next_lsn = after;
      return QX_OK;
    }
    qx_sub_state_end(s);
  }
  return qx_fail(QX_ERR_NOT_FOUND, "%s: the log was trimmed past three snapshots of the engine",
                 s->wal_dir);
}

/* The LSN a subscriber starts at, from the options, the ring and the segment files; with the
 * database (db), a start older than the log begins with the engine's state. */
static int start_lsn(qx_sub *s, const qx_sub_options *o, qx_db *db) {
  uint64_t oldest, end;
  int rc = log_bounds(s, &oldest, &end);
  if (rc != QX_OK) return rc;
  uint64_t from = o->start == QX_SUB_LIVE     ? end
                  : o->start == QX_SUB_OLDEST ? oldest
                  : o->start == QX_SUB_STATE  ? 0
                                              : o->from_lsn;
  if (db && from < oldest) return start_from_state(s, db);
  if (from < oldest || from > end)
    return qx_fail(QX_ERR_NOT_FOUND, "%s: LSN %llu is not in the log (it holds %llu..%llu)",
                   s->wal_dir, (unsigned long long)from, (unsigned long long)oldest,
                   (unsigned long long)(end - 1));
  s->next_lsn = from;
  return QX_OK;
}

static int open_sub(const char *dir, const qx_sub_options *options, qx_db *db, qx_sub **out) {
  if (!dir || !out) return qx_fail(QX_ERR_INVALID_ARG, "qx_sub_open: missing argument");
  qx_sub *s = calloc(1, sizeof *s);
  if (!s) return qx_fail(QX_ERR_NOMEM, "subscriber");
  if (options)
    s->opt = *options;
  else
    qx_sub_options_init(&s->opt);
  s->opt.instrument[sizeof s->opt.instrument - 1] = '\0';
  s->opt.account[sizeof s->opt.account - 1] = '\0';
  int rc = wal_dir_of(dir, s->wal_dir);
  s->limit_lsn = s->opt.delay_ms ? 0 : UINT64_MAX; /* a delayed one waits for its first window */
  if (rc == QX_OK && s->opt.start == QX_SUB_STATE && !db)
    rc = qx_fail(QX_ERR_INVALID_ARG,
                 "a subscription that starts with the engine's state needs the database: "
                 "qx_sub_open_db, in the process that holds the folder");
  if (rc == QX_OK && s->opt.conflate && !s->opt.delay_ms)
    rc = qx_fail(QX_ERR_INVALID_ARG, "a conflated subscription needs a delay (delay_ms)");
  if (rc == QX_OK && s->opt.conflate) rc = qx_conflator_create(&s->conflator);
  if (rc == QX_OK) rc = attach_live_ring(s);
  if (rc == QX_OK && s->opt.cursor[0]) rc = resume_cursor(s);
  if (rc == QX_OK) rc = start_lsn(s, &s->opt, db);
  /* From now on the WAL keeps a new cursor's records; one that begins with a state acknowledges
   * nothing until the state is all out, so that a crash before that starts it again. */
  if (rc == QX_OK && s->cursor && qx_cursor_acked(s->cursor) == 0 && !s->state)
    rc = qx_cursor_ack(s->cursor, s->next_lsn - 1);
  if (rc != QX_OK) {
    qx_sub_close(s);
    return rc;
  }
  s->position = s->ring ? qx_ring_find(s->ring, s->next_lsn) : UINT64_MAX;
  s->in_ring = s->position != UINT64_MAX; /* so that a lap from here on is seen and counted */
  s->next_recheck_ns = qx_monotonic_ns() + RECHECK_NS;
  *out = s;
  return QX_OK;
}

int qx_sub_open(const char *dir, const qx_sub_options *options, qx_sub **out) {
  return open_sub(dir, options, NULL, out);
}

int qx_sub_open_db(qx_db *db, const qx_sub_options *options, qx_sub **out) {
  if (!db) return qx_fail(QX_ERR_INVALID_ARG, "qx_sub_open_db: no database");
  return open_sub(qx_db_dir(db), options, db, out);
}

int qx_sub_held_valid(const qx_sub *s) {
  return !s->holding || !qx_ring_overwritten(s->ring, s->held_position);
}

void qx_sub_get_status(qx_sub *s, qx_sub_status *status) {
  recheck_writer(s); /* a failure is kept for the next qx_sub_next */
  *status = s->stats;
  status->next_lsn = s->next_lsn;
  status->heartbeat_age_ns = -1;
  if (!s->ring) return;
  const qx_ring_header *h = s->ring->header;
  int64_t now = qx_wall_ns();
  status->writer_alive = qx_ring_writer_alive(s->ring, now);
  status->writer_last_lsn = atomic_load_explicit(&h->published_lsn, memory_order_acquire);
  status->writer_flushed_lsn = atomic_load_explicit(&h->flushed_lsn, memory_order_acquire);
  status->heartbeat_age_ns = now - atomic_load_explicit(&h->heartbeat_ns, memory_order_acquire);
}

int qx_sub_ack(qx_sub *s, uint64_t lsn) {
  if (!s || !s->cursor)
    return qx_fail(QX_ERR_INVALID_ARG, "qx_sub_ack: a subscriber without a cursor");
  if (s->state)
    return qx_fail(QX_ERR_INVALID_ARG,
                   "qx_sub_ack: the engine's state (LSN %llu) is still being handed out",
                   (unsigned long long)s->stats.state_lsn);
  if (lsn >= s->next_lsn)
    return qx_fail(QX_ERR_INVALID_ARG, "qx_sub_ack: LSN %llu has not been read (next: %llu)",
                   (unsigned long long)lsn, (unsigned long long)s->next_lsn);
  return qx_cursor_ack(s->cursor, lsn);
}

int qx_sub_list_cursors(const char *dir, qx_sub_cursor_fn fn, void *ctx) {
  char wal_dir[PATH_MAX];
  int rc = wal_dir_of(dir, wal_dir);
  return rc == QX_OK ? qx_cursor_list(wal_dir, fn, ctx) : rc;
}

int qx_sub_delete_cursor(const char *dir, const char *name) {
  char wal_dir[PATH_MAX];
  int rc = wal_dir_of(dir, wal_dir);
  return rc == QX_OK ? qx_cursor_delete(wal_dir, name) : rc;
}

void qx_sub_close(qx_sub *s) {
  if (!s) return;
  qx_sub_state_end(s);
  qx_cursor_close(s->cursor);
  qx_conflator_destroy(s->conflator);
  qx_ring_close(s->ring, 0);
  free(s->buf);
  free(s);
}
