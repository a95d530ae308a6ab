/* WAL scanning and recovery classification (see scan.h; the format is in format.h).
 *
 * Entries are checked in LSN order. The first invalid entry of a segment is classified:
 *  - not the last segment, and the next segment starts at exactly the expected LSN: the normal
 *    end of a full segment (the rest of it is unused space);
 *  - the last segment, and no valid entry (LSN >= expected) follows it anywhere in the file:
 *    a torn tail, left by a crash in the middle of a write. Recovery cuts the log there and
 *    reports how many non-zero bytes it discards;
 *  - anything else (a damaged entry with valid entries after it, a missing LSN range between
 *    segments): corruption. The scan stops with QX_ERR_CORRUPT naming the file and offset,
 *    because skipping it would silently lose acknowledged records. With salvage, the log is
 *    cut at the damage instead and everything after it is discarded, and reported. */
#include "wal/scan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/crc32c.h"
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
  int done; /* reached to_lsn, or visit stopped the scan */
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
        h.lsn, h.ts_ns, h.table_id, h.schema_version, h.size, at + WAL_ENTRY_HEADER_SIZE};
    int stop = sc->visit(&e, sc->visit_ctx);
    if (stop) {
      sc->done = 1;
      return stop;
    }
  }
  if (h.lsn == sc->to_lsn) sc->done = 1;
  return QX_OK;
}

/* Decides what the invalid entry at off of segment index i means (see the file comment). */
static int classify_end(scan_ctx *sc, size_t i, const char *path, const uint8_t *map, uint64_t size,
                        uint64_t off, const char *problem) {
  wal_scan_result *r = sc->result;
  int last = i + 1 == sc->segments->count;
  if (!last && sc->segments->first_lsns[i + 1] == r->next_lsn) {
    /* Appends continue here if the next segment turns out blank and is dropped: what follows
     * the last entry (a full segment's unused space, normally zero) is then cleared. */
    r->tail_dirty_end = nonzero_end(map, size, off);
    return QX_OK;
  }
  if (last && !valid_entry_after(map, size, off + 8, r->next_lsn)) {
    uint64_t end = nonzero_end(map, size, off);
    r->tail_dirty_end = end;
    if (end > off) note_cut(r, path, off, end - off);
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
  sc->done = 1;
  return QX_OK;
}

static int scan_entries(scan_ctx *sc, size_t i, const char *path, const uint8_t *map,
                        uint64_t size) {
  wal_scan_result *r = sc->result;
  uint64_t off = WAL_SEGMENT_HEADER_SIZE;
  r->tail_first_lsn = sc->segments->first_lsns[i];
  r->tail_dirty_end = 0;
  for (;;) {
    const char *problem = wal_entry_problem(map, size, off, r->next_lsn);
    if (problem) {
      r->tail_offset = off;
      return classify_end(sc, i, path, map, size, off, problem);
    }
    wal_entry_header h;
    memcpy(&h, map + off, sizeof h);
    if (h.lsn > sc->to_lsn) {
      sc->done = 1;
      return QX_OK;
    }
    if (r->first_lsn == 0) r->first_lsn = h.lsn;
    r->next_lsn = h.lsn + 1;
    int rc = visit_entry(sc, map + off);
    if (sc->done) return rc;
    off += wal_entry_span(h.size);
  }
}

/* The last segment was renamed into place but its header never reached the disk: an empty
 * torn segment, dropped by recovery. */
static void cut_blank_segment(scan_ctx *sc, const char *path, uint64_t nonzero_bytes) {
  note_cut(sc->result, path, 0, nonzero_bytes);
  sc->result->drop_later_segments = 1;
  sc->done = 1;
}

static int scan_segment(scan_ctx *sc, size_t i) {
  wal_scan_result *r = sc->result;
  uint64_t first_lsn = sc->segments->first_lsns[i];
  char path[PATH_MAX];
  wal_segment_path(path, sizeof path, sc->dir, first_lsn);
  if (first_lsn == 0) /* the name is all the scan knows the LSN by: LSNs start at 1 */
    return qx_fail(QX_ERR_CORRUPT, "%s: a segment for LSN 0 (LSNs start at 1) at offset 0", path);
  if (i == 0) r->next_lsn = first_lsn;
  if (first_lsn != r->next_lsn)
    return qx_fail(QX_ERR_CORRUPT,
                   "%s: segment starts at LSN %llu but LSN %llu was expected "
                   "(entries missing at offset 0)",
                   path, (unsigned long long)first_lsn, (unsigned long long)r->next_lsn);
  int fd;
  uint64_t size;
  int rc = qx_open_sized(path, O_RDONLY, &fd, &size);
  if (rc != QX_OK) return rc;
  int last = i + 1 == sc->segments->count;
  if (size < WAL_SEGMENT_HEADER_SIZE) {
    close(fd);
    if (!last) return wal_check_header(NULL, size, first_lsn, path); /* "too short" */
    cut_blank_segment(sc, path, size);
    return QX_OK;
  }
  const uint8_t *map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  if (map == MAP_FAILED) return qx_fail_errno(QX_ERR_IO, errno, "mmap %s", path);
  if (last && all_zero(map, WAL_SEGMENT_HEADER_SIZE)) {
    cut_blank_segment(sc, path, nonzero_end(map, size, 0));
  } else {
    rc = wal_check_header(map, size, first_lsn, path);
    if (rc == QX_OK) rc = scan_entries(sc, i, path, map, size);
  }
  munmap((void *)map, size);
  return rc;
}

int wal_scan_dir(const char *dir, uint64_t from_lsn, uint64_t to_lsn, qx_wal_visit_fn visit,
                 void *ctx, int salvage, wal_scan_result *result) {
  memset(result, 0, sizeof *result);
  result->next_lsn = 1;
  wal_segment_list segments;
  int rc = wal_list_segments(dir, &segments);
  if (rc != QX_OK) return rc;
  scan_ctx sc = {dir, &segments, from_lsn, to_lsn, visit, ctx, salvage, result, 0};
  for (size_t i = 0; i < segments.count && rc == QX_OK && !sc.done; i++)
    rc = scan_segment(&sc, i);
  wal_segment_list_free(&segments);
  result->report.first_lsn = result->first_lsn;
  result->report.last_lsn = result->next_lsn - 1;
  return rc;
}

int qx_wal_scan(const char *dir, uint64_t from_lsn, qx_wal_visit_fn visit, void *ctx,
                qx_wal_recovery *recovery) {
  if (!dir) return qx_fail(QX_ERR_INVALID_ARG, "qx_wal_scan: no directory");
  wal_scan_result r;
  int rc = wal_scan_dir(dir, from_lsn, UINT64_MAX, visit, ctx, 0, &r);
  if (recovery) *recovery = r.report;
  return rc;
}
