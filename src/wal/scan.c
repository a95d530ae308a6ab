/* WAL scanning and recovery classification (see scan.h; the format is in format.h).
 *
 * Entries are checked in LSN order. The first invalid entry of a segment is classified:
 *  1. not the last segment, and the next segment starts at exactly the expected LSN: the normal
 *     end of a full segment (the rest of it is unused space);
 *  2. the last segment, and no valid entry (LSN >= expected) follows it anywhere in the file:
 *     a torn tail, left by a crash in the middle of a write. Recovery cuts the log there and
 *     reports how many non-zero bytes it discards;
 *  3. not the last segment, the next one starts after the expected LSN, and the rest of this
 *     segment reads as zeros while the next one names this one as the segment it follows (or
 *     is blank): a lost tail, left by a power loss at durability `none` that kept the rename of
 *     the next segment (and perhaps some of its pages) but not this segment's unsynced end. A
 *     lost write reads as zeros because every segment is zero-filled and synced before use.
 *     This is a torn tail too: the log is cut here and every later segment is removed. It is
 *     safe because segments are synced in LSN order and an LSN is durable only once every
 *     segment up to it is synced (wal.c, invariant 3): nothing after a gap in the log was ever
 *     acknowledged at `group`;
 *  4. anything else (a damaged entry with valid entries after it; a bad checksum over non-zero
 *     bytes before the tail, which no lost write leaves; a segment missing between two others,
 *     told by the predecessor named in each header): corruption. The scan stops with
 *     QX_ERR_CORRUPT naming the file and offset, because skipping it would silently lose
 *     acknowledged records. With salvage, the log is cut at the damage instead and everything
 *     after it is discarded, and reported.
 * A blank segment - shorter than a header, or with a header all zero (created or renamed into
 * place, and a power loss took its preallocation or header) - ends the log like case 2 and is
 * removed with the segments after it, unless valid entries follow its header (a lost write
 * that kept later ones: corruption).
 * The log holds whole batches only (format.h): where the log ends inside a batch, the cut moves
 * back to the batch's first entry, possibly in an earlier segment, and the segments after that
 * one go too.
 *
 * A scan up to a known LSN (replay up to the published last LSN, which always ends a batch)
 * visits entries as it reads them. A scan to the end of the log (wal-dump, check) first finds the
 * end, then visits up to it, so it never shows a batch that recovery would cut. */
#include "wal/scan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dist/ring.h"
#include "util/crc32c.h"
#include "util/dirlock.h"
#include "util/error.h"
#include "util/fileio.h"
#include "wal/format.h"
#include "wal/segment.h"

/* Is there a checksum-valid entry with LSN >= min_lsn anywhere at or after off? */
static int valid_entry_after(const uint8_t *map, uint64_t size, uint64_t off, uint64_t min_lsn) {
  for (; off + WAL_ENTRY_HEADER_SIZE <= size; off += 8) {
    wal_entry_header h;
    memcpy(&h, map + off, sizeof h);
    if (h.lsn < min_lsn || h.size == 0 || h.size > QX_WAL_MAX_RECORD) continue;
    if (off + wal_entry_span(h.size) > size) continue;
    if (h.crc == qx_crc32c(0, map + off + 4, WAL_ENTRY_HEADER_SIZE - 4 + h.size)) return 1;
  }
  return 0;
}

static uint64_t nonzero_end(const uint8_t *map, uint64_t size, uint64_t off) {
  uint64_t end = size;
  while (end > off && map[end - 1] == 0)
    end--;
  return end;
}

static int all_zero(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i]) return 0;
  return 1;
}

typedef struct scan_ctx {
  const char *dir;
  const wal_segment_list *segments;
  uint64_t from_lsn, to_lsn;
  qx_wal_visit_fn visit;
  void *visit_ctx;
  int salvage;
  wal_scan_result *result;
  int stopped;    /* reached to_lsn, or visit stopped the scan */
  int cut;        /* the log ends before its last segment (salvage, a lost tail, a blank segment) */
  int batch_open; /* the last entry read has more entries of its batch after it */
  size_t batch_segment; /* where the open batch's first entry is */
  uint64_t batch_offset, batch_lsn;
  size_t first_segment; /* where the scan starts (see first_segment_for) */
} scan_ctx;

static void note_cut(wal_scan_result *r, const char *path, uint64_t offset, uint64_t bytes) {
  snprintf(r->report.truncated_file, sizeof r->report.truncated_file, "%s", path);
  r->report.truncated_offset = offset;
  r->report.truncated_bytes = bytes;
}

static int visit_entry(scan_ctx *sc, const uint8_t *at) {
  wal_entry_header h;
  memcpy(&h, at, sizeof h);
  if (sc->visit && h.lsn >= sc->from_lsn) {
    qx_wal_entry e = {
        h.lsn,  h.ts_ns, h.table_id, h.schema_version, h.size, at + WAL_ENTRY_HEADER_SIZE,
        h.flags};
    int stop = sc->visit(&e, sc->visit_ctx);
    if (stop) {
      sc->stopped = 1;
      return stop;
    }
  }
  if (h.lsn == sc->to_lsn) sc->stopped = 1;
  return QX_OK;
}

static void track_batch(scan_ctx *sc, size_t i, uint64_t off, const wal_entry_header *h) {
  if (!sc->batch_open) {
    sc->batch_segment = i;
    sc->batch_offset = off;
    sc->batch_lsn = h->lsn;
  }
  sc->batch_open = (h->flags & WAL_ENTRY_BATCH_CONTINUES) != 0;
}

/* Does segment i + 1 follow segment i directly: does its header name segment i as its
 * predecessor, or is it blank (its header never reached the disk) with no valid entry? */
static int next_follows(const scan_ctx *sc, size_t i) {
  uint64_t first_lsn = sc->segments->first_lsns[i + 1];
  char path[PATH_MAX];
  qx_wal_segment_path(path, sizeof path, sc->dir, first_lsn);
  int fd;
  uint64_t size;
  if (qx_open_sized(path, O_RDONLY, &fd, &size) != QX_OK) return 0;
  if (size < WAL_SEGMENT_HEADER_SIZE) { /* blank: not even its preallocation reached the disk */
    close(fd);
    return 1;
  }
  const uint8_t *map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  if (map == MAP_FAILED) return 0;
  wal_segment_header h;
  memcpy(&h, map, sizeof h);
  int follows = all_zero(map, WAL_SEGMENT_HEADER_SIZE)
                    ? !valid_entry_after(map, size, WAL_SEGMENT_HEADER_SIZE, first_lsn)
                    : qx_wal_check_header(map, size, first_lsn, path) == QX_OK &&
                          h.prev_first_lsn == sc->segments->first_lsns[i];
  munmap((void *)map, size);
  return follows;
}

/* Decides what the invalid entry at off of segment index i means (see the file comment). */
static int classify_end(scan_ctx *sc, size_t i, const char *path, const uint8_t *map, uint64_t size,
                        uint64_t off, const char *problem) {
  wal_scan_result *r = sc->result;
  int last = i + 1 == sc->segments->count;
  uint64_t next_first = last ? 0 : sc->segments->first_lsns[i + 1];
  if (!last && next_first == r->next_lsn) { /* case 1 */
    /* Appends continue here if the next segment turns out blank and is dropped: what follows
     * the last entry (a full segment's unused space, normally zero) is then cleared. */
    r->tail_dirty_end = nonzero_end(map, size, off);
    return QX_OK;
  }
  int tail_like = !valid_entry_after(map, size, off + 8, r->next_lsn);
  if (last && tail_like) { /* case 2 */
    uint64_t end = nonzero_end(map, size, off);
    r->tail_dirty_end = end;
    if (end > off) note_cut(r, path, off, end - off);
    return QX_OK;
  }
  if (!last && tail_like && next_first > r->next_lsn && nonzero_end(map, size, off) == off &&
      next_follows(sc, i)) { /* case 3 */
    note_cut(r, path, off, 0);
    r->tail_dirty_end = off;
    r->drop_later_segments = 1;
    sc->cut = 1;
    return QX_OK;
  }
  if (!sc->salvage) {
    if (!last)
      return qx_fail(QX_ERR_CORRUPT,
                     "%s: %s at offset %llu: entries from LSN %llu are missing "
                     "(next segment starts at %llu)",
                     path, problem, (unsigned long long)off, (unsigned long long)r->next_lsn,
                     (unsigned long long)sc->segments->first_lsns[i + 1]);
    return qx_fail(QX_ERR_CORRUPT,
                   "%s: %s at offset %llu (expected LSN %llu), with valid entries "
                   "after it",
                   path, problem, (unsigned long long)off, (unsigned long long)r->next_lsn);
  }
  note_cut(r, path, off, nonzero_end(map, size, off) - off);
  r->report.salvaged = 1;
  r->tail_dirty_end = size;
  r->drop_later_segments = 1;
  sc->cut = 1;
  return QX_OK;
}

static int scan_entries(scan_ctx *sc, size_t i, const char *path, const uint8_t *map,
                        uint64_t size) {
  wal_scan_result *r = sc->result;
  uint64_t off = WAL_SEGMENT_HEADER_SIZE;
  r->tail_first_lsn = sc->segments->first_lsns[i];
  r->tail_dirty_end = 0;
  for (;;) {
    const char *problem = qx_wal_entry_problem(map, size, off, r->next_lsn);
    if (problem) {
      r->tail_offset = off;
      return classify_end(sc, i, path, map, size, off, problem);
    }
    wal_entry_header h;
    memcpy(&h, map + off, sizeof h);
    if (h.lsn > sc->to_lsn) {
      sc->stopped = 1;
      return QX_OK;
    }
    if (r->first_lsn == 0) r->first_lsn = h.lsn;
    r->next_lsn = h.lsn + 1;
    track_batch(sc, i, off, &h);
    int rc = visit_entry(sc, map + off);
    if (sc->stopped) return rc;
    off += wal_entry_span(h.size);
  }
}

/* A segment was renamed into place but its header never reached the disk: an empty torn
 * segment, dropped by recovery with every segment after it. */
static void cut_blank_segment(scan_ctx *sc, const char *path, uint64_t nonzero_bytes) {
  note_cut(sc->result, path, 0, nonzero_bytes);
  sc->result->drop_later_segments = 1;
  sc->cut = 1;
}

static int scan_segment(scan_ctx *sc, size_t i) {
  wal_scan_result *r = sc->result;
  uint64_t first_lsn = sc->segments->first_lsns[i];
  char path[PATH_MAX];
  qx_wal_segment_path(path, sizeof path, sc->dir, first_lsn);
  if (first_lsn == 0) /* the name is all the scan knows the LSN by: LSNs start at 1 */
    return qx_fail(QX_ERR_CORRUPT, "%s: a segment for LSN 0 (LSNs start at 1) at offset 0", path);
  if (i == sc->first_segment) r->next_lsn = first_lsn; /* later ones must start there */
  int fd;
  uint64_t size;
  int rc = qx_open_sized(path, O_RDONLY, &fd, &size);
  if (rc != QX_OK) return rc;
  if (size < WAL_SEGMENT_HEADER_SIZE) { /* created, but its preallocation never reached the disk */
    close(fd);
    cut_blank_segment(sc, path, size);
    return QX_OK;
  }
  const uint8_t *map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  if (map == MAP_FAILED) return qx_fail_errno(QX_ERR_IO, errno, "mmap %s", path);
  if (all_zero(map, WAL_SEGMENT_HEADER_SIZE)) {
    int damaged = valid_entry_after(map, size, WAL_SEGMENT_HEADER_SIZE, first_lsn);
    if (damaged && !sc->salvage)
      rc = qx_fail(QX_ERR_CORRUPT,
                   "%s: the segment header at offset 0 is zero but valid entries follow it", path);
    else
      cut_blank_segment(sc, path, nonzero_end(map, size, 0));
    r->report.salvaged |= damaged;
  } else {
    rc = qx_wal_check_header(map, size, first_lsn, path);
    if (rc == QX_OK) rc = scan_entries(sc, i, path, map, size);
  }
  munmap((void *)map, size);
  return rc;
}

/* The end of segment i's non-zero bytes at or after from. */
static int nonzero_end_in(const scan_ctx *sc, size_t i, uint64_t from, uint64_t *end) {
  char path[PATH_MAX];
  qx_wal_segment_path(path, sizeof path, sc->dir, sc->segments->first_lsns[i]);
  int fd;
  uint64_t size;
  int rc = qx_open_sized(path, O_RDONLY, &fd, &size);
  if (rc != QX_OK) return rc;
  const uint8_t *map = size ? mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
  int e = errno;
  close(fd);
  if (map == MAP_FAILED) return qx_fail_errno(QX_ERR_IO, size ? e : EINVAL, "mmap %s", path);
  *end = nonzero_end(map, size, from);
  munmap((void *)map, size);
  return QX_OK;
}

/* The log ended inside a batch: cut it from the batch's first entry (see the file comment). */
static int cut_open_batch(scan_ctx *sc) {
  wal_scan_result *r = sc->result;
  size_t i = sc->batch_segment;
  uint64_t end;
  int rc = nonzero_end_in(sc, i, sc->batch_offset, &end);
  if (rc != QX_OK) return rc;
  char path[PATH_MAX];
  qx_wal_segment_path(path, sizeof path, sc->dir, sc->segments->first_lsns[i]);
  note_cut(r, path, sc->batch_offset, end - sc->batch_offset);
  r->tail_first_lsn = sc->segments->first_lsns[i];
  r->tail_offset = sc->batch_offset;
  r->tail_dirty_end = end;
  r->drop_later_segments |= i + 1 < sc->segments->count;
  r->next_lsn = sc->batch_lsn;
  if (r->first_lsn == sc->batch_lsn) r->first_lsn = 0;
  return QX_OK;
}

static uint32_t segments_after(const wal_segment_list *list, uint64_t first_lsn) {
  uint32_t n = 0;
  for (size_t i = 0; i < list->count; i++)
    n += list->first_lsns[i] > first_lsn;
  return n;
}

/* A scan that ends at the log's end verifies every segment from the first. One that ends at a
 * published LSN reads entries the writer has already verified: it starts at the segment holding
 * from_lsn, so a reader that follows the log (a lapped subscriber) costs what it reads. */
static size_t first_segment_for(const wal_segment_list *list, uint64_t from_lsn, uint64_t to_lsn) {
  size_t i = 0;
  if (to_lsn == UINT64_MAX) return 0;
  while (i + 1 < list->count && list->first_lsns[i + 1] <= from_lsn)
    i++;
  return i;
}

static int scan(const char *dir, uint64_t from_lsn, uint64_t to_lsn, qx_wal_visit_fn visit,
                void *ctx, int salvage, wal_scan_result *result) {
  memset(result, 0, sizeof *result);
  result->next_lsn = 1;
  wal_segment_list segments;
  int rc = qx_wal_list_segments(dir, &segments);
  if (rc != QX_OK) return rc;
  scan_ctx sc = {.dir = dir,
                 .segments = &segments,
                 .from_lsn = from_lsn,
                 .to_lsn = to_lsn,
                 .visit = visit,
                 .visit_ctx = ctx,
                 .salvage = salvage,
                 .result = result,
                 .first_segment = first_segment_for(&segments, from_lsn, to_lsn)};
  for (size_t i = sc.first_segment; i < segments.count && rc == QX_OK && !sc.stopped && !sc.cut;
       i++)
    rc = scan_segment(&sc, i);
  if (rc == QX_OK && !sc.stopped && sc.batch_open) rc = cut_open_batch(&sc);
  if (result->drop_later_segments)
    result->report.dropped_segments = segments_after(&segments, result->tail_first_lsn);
  qx_wal_segment_list_free(&segments);
  result->report.first_lsn = result->first_lsn;
  result->report.last_lsn = result->next_lsn - 1;
  return rc;
}

int qx_wal_scan_dir(const char *dir, uint64_t from_lsn, uint64_t to_lsn, qx_wal_visit_fn visit,
                    void *ctx, int salvage, wal_scan_result *result) {
  if (!visit || to_lsn != UINT64_MAX)
    return scan(dir, from_lsn, to_lsn, visit, ctx, salvage, result);
  int rc = scan(dir, 1, UINT64_MAX, NULL, NULL, salvage, result);
  if (rc != QX_OK || result->next_lsn <= from_lsn) return rc;
  wal_scan_result up_to_end;
  return scan(dir, from_lsn, result->next_lsn - 1, visit, ctx, salvage, &up_to_end);
}

/* The last LSN a live writer's flusher has written whole to the files, from its log ring;
 * UINT64_MAX if it has no ring (the scan then reads to the end it finds). A live log's files
 * may hold a later entry before an earlier one is complete: the flusher's pwrite is not atomic
 * to a reader. */
static uint64_t live_end(const char *dir) {
  qx_ring *ring = NULL;
  if (qx_ring_attach(dir, &ring) != QX_OK || !ring) {
    qx_clear_error();
    return UINT64_MAX;
  }
  uint64_t flushed = atomic_load_explicit(&ring->header->flushed_lsn, memory_order_acquire);
  qx_ring_close(ring, 0);
  return flushed;
}

int qx_wal_scan(const char *dir, uint64_t from_lsn, qx_wal_visit_fn visit, void *ctx,
                qx_wal_recovery *recovery) {
  if (!dir) return qx_fail(QX_ERR_INVALID_ARG, "qx_wal_scan: no directory");
  int live_writer = qx_dirlock_writer_holds(dir);
  uint64_t to = live_writer ? live_end(dir) : UINT64_MAX;
  wal_scan_result r;
  int rc = to < from_lsn ? (memset(&r, 0, sizeof r), QX_OK)
                         : qx_wal_scan_dir(dir, from_lsn, to, visit, ctx, 0, &r);
  r.report.live_writer = live_writer;
  if (recovery) *recovery = r.report;
  return rc;
}
