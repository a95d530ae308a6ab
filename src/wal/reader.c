/* Following the log: a reader keeps the segment it is in mapped and its offset, so each call
 * continues where the last one stopped instead of rescanning the directory (see qaxdb/wal.h).
 * Only entries up to the last appended LSN are read, and those are complete in the page cache,
 * so the reader never races the writer on a half-written entry. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "qaxdb/wal.h"
#include "util/error.h"
#include "util/fileio.h"
#include "wal/segment.h"

struct qx_wal_reader {
  qx_wal *wal;
  char path[PATH_MAX];
  const uint8_t *map; /* the segment being read, read-only */
  uint64_t size;
  uint64_t offset;   /* of the entry with next_lsn */
  uint64_t next_lsn; /* the LSN the next read starts at */
};

static void unmap_segment(qx_wal_reader *r) {
  if (r->map) munmap((void *)r->map, r->size);
  r->map = NULL;
}

static int map_segment(qx_wal_reader *r, uint64_t first_lsn) {
  unmap_segment(r);
  qx_wal_segment_path(r->path, sizeof r->path, qx_wal_dir(r->wal), first_lsn);
  if (access(r->path, F_OK) != 0 && errno == ENOENT) return QX_ERR_NOT_FOUND; /* caller says */
  int fd;
  uint64_t size;
  int rc = qx_open_sized(r->path, O_RDONLY, &fd, &size);
  if (rc != QX_OK) return rc;
  void *map =
      size >= WAL_SEGMENT_HEADER_SIZE ? mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
  int e = errno;
  close(fd);
  if (map == MAP_FAILED) return qx_fail_errno(QX_ERR_IO, e, "map %s", r->path);
  r->map = map;
  r->size = size;
  r->offset = WAL_SEGMENT_HEADER_SIZE;
  return qx_wal_check_header(map, size, first_lsn, r->path);
}

/* Maps the segment holding lsn and walks to its entry. */
static int seek(qx_wal_reader *r, uint64_t lsn) {
  wal_segment_list list;
  int rc = qx_wal_list_segments(qx_wal_dir(r->wal), &list);
  if (rc != QX_OK) return rc;
  size_t i = list.count;
  while (i > 0 && list.first_lsns[i - 1] > lsn)
    i--;
  rc = i == 0 ? qx_fail(QX_ERR_NOT_FOUND, "LSN %llu is below the oldest LSN kept in %s",
                        (unsigned long long)lsn, qx_wal_dir(r->wal))
              : map_segment(r, list.first_lsns[i - 1]);
  if (rc == QX_OK) r->next_lsn = list.first_lsns[i - 1];
  qx_wal_segment_list_free(&list);
  while (rc == QX_OK && r->next_lsn < lsn) {
    if (qx_wal_entry_problem(r->map, r->size, r->offset, r->next_lsn) != NULL)
      return qx_fail(QX_ERR_NOT_FOUND, "LSN %llu is not in %s", (unsigned long long)lsn, r->path);
    wal_entry_header h;
    memcpy(&h, r->map + r->offset, sizeof h);
    r->offset += wal_entry_span(h.size);
    r->next_lsn++;
  }
  return rc;
}

int qx_wal_reader_open(qx_wal *wal, uint64_t from_lsn, qx_wal_reader **out) {
  if (!wal || !out || from_lsn == 0)
    return qx_fail(QX_ERR_INVALID_ARG, "qx_wal_reader_open: missing argument or LSN 0");
  qx_wal_reader *r = calloc(1, sizeof *r);
  if (!r) return qx_fail(QX_ERR_NOMEM, "out of memory for a WAL reader");
  r->wal = wal;
  r->next_lsn = from_lsn;
  /* At the end of the log there may be no segment holding from_lsn yet: seek lazily. */
  int rc = from_lsn <= qx_wal_written_lsn(wal) ? seek(r, from_lsn) : QX_OK;
  if (rc != QX_OK) {
    qx_wal_reader_close(r);
    return rc;
  }
  *out = r;
  return QX_OK;
}

/* Moves to the segment that starts at next_lsn, after the current one ran out. */
static int next_segment(qx_wal_reader *r, const char *problem) {
  uint64_t at = r->offset;
  char was[PATH_MAX];
  memcpy(was, r->path, sizeof was);
  int rc = r->map ? map_segment(r, r->next_lsn) : seek(r, r->next_lsn);
  if (rc == QX_ERR_NOT_FOUND)
    return qx_fail(QX_ERR_CORRUPT,
                   "%s: LSN %llu expected at offset %llu (%s) and in no later "
                   "segment",
                   was, (unsigned long long)r->next_lsn, (unsigned long long)at, problem);
  return rc;
}

int qx_wal_reader_read(qx_wal_reader *r, uint64_t to_lsn, qx_wal_visit_fn visit, void *ctx) {
  if (!r || !visit) return qx_fail(QX_ERR_INVALID_ARG, "qx_wal_reader_read: missing argument");
  uint64_t last = qx_wal_written_lsn(r->wal);
  if (to_lsn > last) to_lsn = last;
  while (r->next_lsn <= to_lsn) {
    const char *problem = r->map ? qx_wal_entry_problem(r->map, r->size, r->offset, r->next_lsn)
                                 : "no segment mapped";
    if (problem) {
      int rc = next_segment(r, problem);
      if (rc != QX_OK) return rc;
      continue;
    }
    wal_entry_header h;
    memcpy(&h, r->map + r->offset, sizeof h);
    qx_wal_entry e = {h.lsn,  h.ts_ns, h.table_id, h.schema_version,
                      h.size, r->map + r->offset + WAL_ENTRY_HEADER_SIZE, h.flags};
    r->offset += wal_entry_span(h.size);
    r->next_lsn++;
    int stop = visit(&e, ctx);
    if (stop) return stop;
  }
  return QX_OK;
}

uint64_t qx_wal_reader_position(const qx_wal_reader *r) {
  return r->next_lsn;
}

void qx_wal_reader_close(qx_wal_reader *r) {
  if (!r) return;
  unmap_segment(r);
  free(r);
}
