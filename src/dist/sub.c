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

#include "dist/conflate.h"
#include "dist/cursor.h"
#include "dist/ring.h"
#include "dist/sub_filter.h"
#include "util/clock.h"
#include "util/dirlock.h"
#include "util/error.h"
#include "wal/scan.h"
#include "wal/segment.h"

#define WAL_BUFFER_BYTES (4u << 20) /* records copied per read of the segment files */
#define RECHECK_NS 50000000         /* how often an idle subscriber looks for a new writer */
#define SPIN_POLLS 200              /* polls before a waiting subscriber starts to sleep */
#define MIN_SLEEP_NS 20000          /* then sleeps from this ... */
#define MAX_SLEEP_NS 1000000        /* ... doubling up to this */
#define OPEN_WAIT_NS 2000000000     /* for the ring of a writer that is opening */

/* A record read from the segment files, copied: its fields, then the payload. */
typedef struct buffered {
  qx_wal_entry entry;
  uint8_t payload[];
} buffered;

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
  qx_sub_status stats;
  char failure[512]; /* set once the log lost records this subscriber handed out */
};

static int wal_dir_of(const char *dir, char out[PATH_MAX]) {
  return snprintf(out, PATH_MAX, "%s/wal", dir) < PATH_MAX
             ? QX_OK
             : qx_fail(QX_ERR_INVALID_ARG, "data folder path too long: %s", dir);
}

void qx_sub_options_init(qx_sub_options *options) {
  memset(options, 0, sizeof *options);
}

/* ---- reading the segment files ------------------------------------------------------------ */

typedef struct wal_read {
  qx_sub *sub;
  uint64_t expect; /* the LSN the next visited entry must have */
  int gap;
} wal_read;

static size_t buffered_size(uint32_t payload) {
  return (sizeof(buffered) + payload + 7) & ~(size_t)7;
}

static int copy_entry(const qx_wal_entry *e, void *ctx) {
  wal_read *rd = ctx;
  qx_sub *s = rd->sub;
  if (e->lsn != rd->expect) {
    rd->gap = 1;
    return 1;
  }
  rd->expect++;
  s->buf_next_lsn = e->lsn + 1;
  if (!qx_sub_filter_match(&s->opt, e)) return 0;
  size_t need = buffered_size(e->size);
  if (s->buf_len + need > WAL_BUFFER_BYTES && s->buf_len > 0) {
    s->buf_next_lsn = e->lsn; /* not taken: the next read starts with it */
    return 1;
  }
  buffered *b = (buffered *)(s->buf + s->buf_len);
  b->entry = *e;
  memcpy(b->payload, e->data, e->size);
  b->entry.data = b->payload;
  s->buf_len += need;
  return e->size > WAL_BUFFER_BYTES ? 1 : 0;
}

/* Reads records from next_lsn up to to_lsn (UINT64_MAX: the end of the log) into the buffer. */
static int read_segments(qx_sub *s, uint64_t to_lsn) {
  if (!s->buf && !(s->buf = malloc(WAL_BUFFER_BYTES + buffered_size(QX_WAL_MAX_RECORD))))
    return qx_fail(QX_ERR_NOMEM, "subscriber buffer");
  s->buf_len = s->buf_at = 0;
  s->buf_next_lsn = s->next_lsn;
  s->buf_read = 1;
  wal_read rd = {s, s->next_lsn, 0};
  wal_scan_result r;
  int rc = qx_wal_scan_dir(s->wal_dir, s->next_lsn, to_lsn, copy_entry, &rd, 0, &r);
  if (rc == 1) rc = QX_OK; /* the buffer filled up */
  if (rc == QX_OK && (rd.gap || (to_lsn != UINT64_MAX && s->buf_next_lsn == s->next_lsn)))
    rc = qx_fail(QX_ERR_NOT_FOUND,
                 "%s: LSN %llu is no longer in the WAL (a checkpoint trimmed it; oldest kept: "
                 "%llu)",
                 s->wal_dir, (unsigned long long)s->next_lsn, (unsigned long long)r.first_lsn);
  return rc;
}

static int take_buffered(qx_sub *s, qx_wal_entry *record) {
  if (s->buf_at < s->buf_len) {
    buffered *b = (buffered *)(s->buf + s->buf_at);
    s->buf_at += buffered_size(b->entry.size);
    *record = b->entry;
    s->next_lsn = b->entry.lsn + 1;
    s->stats.records_from_wal++;
    return 1;
  }
  if (s->buf_read) s->next_lsn = s->buf_next_lsn; /* past what the filters left out */
  s->buf_read = 0;
  s->buf_len = s->buf_at = 0;
  return 0;
}

/* ---- following the writer ----------------------------------------------------------------- */

static void drop_ring(qx_sub *s) {
  qx_ring_close(s->ring);
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
 * the writer reads from the segment files, which the writer does not overwrite. */
static int near_lap(const qx_sub *s) {
  uint64_t published = atomic_load_explicit(&s->ring->header->published, memory_order_acquire);
  return published - s->position > s->ring->header->capacity / 2;
}

/* Reads from the ring at next_lsn: 1 and *record for a record, 0 for nothing new (or a lap,
 * which leaves in_ring clear), or a failure. */
static int poll_ring(qx_sub *s, qx_wal_entry *record) {
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
    s->holding = 1;
    s->held_position = at;
    s->held_lsn = record->lsn;
    return 1;
  }
}

/* 1 and *record, 0 when nothing is there yet, or a failure. */
static int poll_once(qx_sub *s, qx_wal_entry *record) {
  if (take_buffered(s, record)) return 1;
  if (s->ring) {
    int got = poll_ring(s, record);
    if (got != 0 || s->in_ring) return got;
    uint64_t published =
        atomic_load_explicit(&s->ring->header->published_lsn, memory_order_acquire);
    uint64_t to = published < s->limit_lsn ? published : s->limit_lsn;
    if (s->next_lsn > to) return 0;
    int rc = read_segments(s, to); /* below the ring, or lapped */
    return rc != QX_OK ? rc : take_buffered(s, record);
  }
  /* No ring: the log as the files hold it, read again every RECHECK_NS, but only while no
   * writer holds it. A live log's end is not known from its files: a reader may see an entry
   * whose predecessor is still being written. A writer's records come through its ring. */
  int64_t now = qx_monotonic_ns();
  if (now < s->next_file_read_ns || qx_dirlock_writer_holds(s->wal_dir)) return 0;
  s->next_file_read_ns = now + RECHECK_NS;
  int rc = read_segments(s, UINT64_MAX);
  if (rc == QX_ERR_CORRUPT && qx_dirlock_writer_holds(s->wal_dir)) return 0; /* one just began */
  return rc != QX_OK ? rc : take_buffered(s, record);
}

/* Spins first, then sleeps ever longer up to MAX_SLEEP_NS, unless told to spin. */
static void wait_a_little(const qx_sub *s, int polls) {
  if (polls < SPIN_POLLS || s->opt.spin) return;
  int64_t ns = (int64_t)MIN_SLEEP_NS << (polls - SPIN_POLLS < 6 ? polls - SPIN_POLLS : 6);
  struct timespec ts = {0, ns < MAX_SLEEP_NS ? ns : MAX_SLEEP_NS};
  nanosleep(&ts, NULL);
}

/* Waits up to deadline for the next record within limit_lsn. */
static int next_record(qx_sub *s, qx_wal_entry *record, int64_t deadline) {
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

/* Starts the next window: its records are those the writer had published when it began. */
static void open_window(qx_sub *s, int64_t now) {
  s->window_end_ns = now + (int64_t)s->opt.delay_ms * 1000000;
  s->limit_lsn = s->ring
                     ? atomic_load_explicit(&s->ring->header->published_lsn, memory_order_acquire)
                     : UINT64_MAX;
}

/* Copies the window's records into the conflator, which keeps the newest per key. */
static int conflate_window(qx_sub *s, int64_t deadline) {
  qx_conflator_clear(s->conflator);
  qx_wal_entry e;
  int rc;
  while ((rc = next_record(s, &e, deadline)) == QX_OK)
    if ((rc = qx_conflator_add(s->conflator, &e)) != QX_OK) return rc;
  s->holding = 0; /* the copies are handed out, not the ring's frames */
  return rc == QX_ERR_TIMEOUT ? QX_OK : rc;
}

/* A delayed subscriber hands out the records of a window once it has closed, every delay_ms;
 * a conflated one only the newest per key of them. */
static int next_delayed(qx_sub *s, qx_wal_entry *record, int64_t deadline) {
  for (;;) {
    if (s->opt.conflate && qx_conflator_next(s->conflator, record)) return QX_OK;
    if (!s->opt.conflate && s->next_lsn <= s->limit_lsn) {
      int rc = next_record(s, record, qx_monotonic_ns());
      if (rc != QX_ERR_TIMEOUT) return rc;
    }
    int64_t now = qx_monotonic_ns();
    if (now < s->window_end_ns) {
      if (now >= deadline) return qx_fail(QX_ERR_TIMEOUT, "no window of records closed in time");
      int64_t until = s->window_end_ns < deadline ? s->window_end_ns : deadline;
      struct timespec ts = {(until - now) / 1000000000, (until - now) % 1000000000};
      nanosleep(&ts, NULL);
      continue;
    }
    open_window(s, now);
    int rc = s->opt.conflate ? conflate_window(s, now) : QX_OK;
    if (rc != QX_OK) return rc;
  }
}

int qx_sub_next(qx_sub *s, qx_wal_entry *record, int64_t timeout_ns) {
  if (!s || !record) return qx_fail(QX_ERR_INVALID_ARG, "qx_sub_next: missing argument");
  if (s->failure[0]) return qx_fail(QX_ERR_CORRUPT, "%s", s->failure);
  if (s->holding && qx_ring_overwritten(s->ring, s->held_position)) {
    s->holding = 0;
    return qx_fail(QX_ERR_LAPPED, "%s: the record with LSN %llu was overwritten while held",
                   s->ring->path, (unsigned long long)s->held_lsn);
  }
  s->holding = 0;
  int64_t deadline = timeout_ns < 0 ? INT64_MAX : qx_monotonic_ns() + timeout_ns;
  return s->opt.delay_ms ? next_delayed(s, record, deadline) : next_record(s, record, deadline);
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

/* The LSN a subscriber starts at, from the options, the ring and the segment files. */
static int start_lsn(qx_sub *s, const qx_sub_options *o) {
  wal_segment_list list;
  int rc = qx_wal_list_segments(s->wal_dir, &list);
  if (rc != QX_OK) return rc;
  uint64_t oldest = list.count ? list.first_lsns[0] : 1;
  qx_wal_segment_list_free(&list);
  uint64_t end;
  if (s->ring) {
    end = atomic_load_explicit(&s->ring->header->published_lsn, memory_order_acquire) + 1;
  } else {
    qx_wal_recovery rec;
    rc = qx_wal_scan(s->wal_dir, 1, NULL, NULL, &rec);
    if (rc != QX_OK) return rc;
    end = rec.last_lsn + 1;
    if (rec.first_lsn) oldest = rec.first_lsn;
  }
  uint64_t from = o->start == QX_SUB_LIVE ? end : o->start == QX_SUB_OLDEST ? oldest : o->from_lsn;
  if (from < oldest || from > end)
    return qx_fail(QX_ERR_NOT_FOUND, "%s: LSN %llu is not in the log (it holds %llu..%llu)",
                   s->wal_dir, (unsigned long long)from, (unsigned long long)oldest,
                   (unsigned long long)(end - 1));
  s->next_lsn = from;
  return QX_OK;
}

int qx_sub_open(const char *dir, const qx_sub_options *options, qx_sub **out) {
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
  if (rc == QX_OK && s->opt.conflate && !s->opt.delay_ms)
    rc = qx_fail(QX_ERR_INVALID_ARG, "a conflated subscription needs a delay (delay_ms)");
  if (rc == QX_OK && s->opt.conflate) rc = qx_conflator_create(&s->conflator);
  if (rc == QX_OK) rc = attach_live_ring(s);
  if (rc == QX_OK && s->opt.cursor[0]) rc = resume_cursor(s);
  if (rc == QX_OK) rc = start_lsn(s, &s->opt);
  if (rc == QX_OK && s->cursor && qx_cursor_acked(s->cursor) == 0)
    rc = qx_cursor_ack(s->cursor, s->next_lsn - 1); /* from now on the WAL keeps its records */
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
  status->heartbeat_age_ns = now - atomic_load_explicit(&h->heartbeat_ns, memory_order_acquire);
}

int qx_sub_ack(qx_sub *s, uint64_t lsn) {
  if (!s || !s->cursor)
    return qx_fail(QX_ERR_INVALID_ARG, "qx_sub_ack: a subscriber without a cursor");
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
  qx_cursor_close(s->cursor);
  qx_conflator_destroy(s->conflator);
  qx_ring_close(s->ring);
  free(s->buf);
  free(s);
}
