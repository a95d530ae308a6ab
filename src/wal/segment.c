/* WAL segment files (see segment.h and format.h). */
#include "wal/segment.h"

#include "qaxdb/wal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/crc32c.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/io.h"

void qx_wal_segment_path(char *out, size_t cap, const char *dir, uint64_t first_lsn) {
  snprintf(out, cap, "%s/%020llu%s", dir, (unsigned long long)first_lsn, WAL_SEGMENT_SUFFIX);
}

static int parse_segment_name(const char *name, uint64_t *first_lsn) {
  if (strlen(name) != WAL_SEGMENT_NAME_LEN || strcmp(name + 20, WAL_SEGMENT_SUFFIX) != 0) return 0;
  uint64_t v = 0;
  for (int i = 0; i < 20; i++) {
    if (name[i] < '0' || name[i] > '9') return 0;
    uint64_t digit = (uint64_t)(name[i] - '0');
    if (v > (UINT64_MAX - digit) / 10) return 0; /* beyond any LSN: not a segment's name */
    v = v * 10 + digit;
  }
  *first_lsn = v;
  return 1;
}

static int compare_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

int qx_wal_list_segments(const char *dir, wal_segment_list *out) {
  out->first_lsns = NULL;
  out->count = 0;
  DIR *d = opendir(dir);
  if (!d) {
    if (errno == ENOENT) return QX_OK;
    return qx_fail_errno(QX_ERR_IO, errno, "open directory %s", dir);
  }
  size_t cap = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    uint64_t lsn;
    if (!parse_segment_name(de->d_name, &lsn)) continue;
    if (out->count == cap) {
      cap = cap ? cap * 2 : 16;
      uint64_t *grown = realloc(out->first_lsns, cap * sizeof *grown);
      if (!grown) {
        closedir(d);
        qx_wal_segment_list_free(out);
        return qx_fail(QX_ERR_NOMEM, "listing %s", dir);
      }
      out->first_lsns = grown;
    }
    out->first_lsns[out->count++] = lsn;
  }
  closedir(d);
  if (out->count > 1) qsort(out->first_lsns, out->count, sizeof(uint64_t), compare_u64);
  return QX_OK;
}

void qx_wal_segment_list_free(wal_segment_list *list) {
  free(list->first_lsns);
  list->first_lsns = NULL;
  list->count = 0;
}

static int map_segment(int fd, const char *path, uint64_t size, uint64_t first_lsn,
                       wal_segment **out) {
  /* MAP_POPULATE faults every page in now, on the preparing thread, not in the writer. */
  void *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  if (map == MAP_FAILED) {
    int e = errno;
    close(fd);
    return qx_fail_errno(QX_ERR_IO, e, "mmap %s", path);
  }
  wal_segment *seg = calloc(1, sizeof *seg);
  if (!seg) {
    munmap(map, size);
    close(fd);
    return qx_fail(QX_ERR_NOMEM, "segment %s", path);
  }
  snprintf(seg->path, sizeof seg->path, "%s", path);
  seg->fd = fd;
  seg->map = map;
  seg->size = size;
  seg->first_lsn = first_lsn;
  seg->write_offset = WAL_SEGMENT_HEADER_SIZE;
  *out = seg;
  return QX_OK;
}

#define ZERO_CHUNK (1u << 20)

/* Writes zeros over [from, to) and has the disk take them a chunk at a time: left to one
 * fdatasync at the end, 64 MiB of zeros reach the disk as one burst, and the WAL's own syncs,
 * which run meanwhile, queue behind it (100+ ms, measured with qaxdb-bench-wal). The final
 * sync is still what makes them durable; this only paces them, so a failure here is left for
 * that sync to report. */
static int zero_fill(int fd, uint64_t from, uint64_t to, const char *path) {
  static const uint8_t zeros[1 << 16];
  for (uint64_t off = from; off < to; off += sizeof zeros) {
    uint64_t n = to - off < sizeof zeros ? to - off : sizeof zeros;
    int rc = qx_pwrite_all(fd, zeros, n, off, path);
    if (rc != QX_OK) return rc;
    if ((off + n) % ZERO_CHUNK == 0)
      (void)sync_file_range(fd, (off_t)(off + n - ZERO_CHUNK), ZERO_CHUNK,
                            SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                                SYNC_FILE_RANGE_WAIT_AFTER);
  }
  return QX_OK;
}

int qx_wal_segment_create(const char *path, uint64_t size, wal_segment **out) {
  int fd = qx_io_open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return qx_fail_errno(QX_ERR_IO, errno, "create %s", path);
  int rc = QX_OK;
  int e = qx_io_posix_fallocate(fd, 0, (off_t)size); /* fail now, not mid-write, if disk full */
  if (e != 0)
    rc = qx_fail_errno(QX_ERR_IO, e, "preallocate %llu bytes for %s", (unsigned long long)size,
                       path);
  if (rc == QX_OK) rc = zero_fill(fd, 0, size, path);
  if (rc == QX_OK && qx_io_fdatasync(fd) != 0)
    rc = qx_fail_errno(QX_ERR_IO, errno, "sync %s", path);
  if (rc != QX_OK) {
    close(fd);
    qx_io_unlink(path);
    return rc;
  }
  return map_segment(fd, path, size, 0, out);
}

int qx_wal_segment_zero(wal_segment *seg, uint64_t from, uint64_t to) {
  return zero_fill(seg->fd, from, to, seg->path);
}

int qx_wal_segment_start(wal_segment *seg, uint64_t first_lsn, uint64_t prev_first_lsn) {
  wal_segment_header h;
  memset(&h, 0, sizeof h);
  memcpy(h.magic, WAL_MAGIC, 8);
  h.format_version = WAL_FORMAT_VERSION;
  h.header_size = WAL_SEGMENT_HEADER_SIZE;
  h.first_lsn = first_lsn;
  h.segment_size = seg->size;
  h.created_ns = qx_wall_ns();
  h.prev_first_lsn = prev_first_lsn;
  h.crc = qx_crc32c(0, &h, offsetof(wal_segment_header, crc));
  int rc = qx_pwrite_all(seg->fd, &h, sizeof h, 0, seg->path);
  if (rc != QX_OK) return rc;
  seg->first_lsn = first_lsn;
  seg->write_offset = WAL_SEGMENT_HEADER_SIZE;
  return QX_OK;
}

int qx_wal_segment_time_sync(wal_segment *seg, int64_t *ns_out) {
  int64_t start = qx_monotonic_ns();
  int rc = qx_pwrite_all(seg->fd, seg->map, WAL_SEGMENT_HEADER_SIZE, 0, seg->path);
  if (rc == QX_OK && qx_io_fdatasync(seg->fd) != 0)
    rc = qx_fail_errno(QX_ERR_IO, errno, "sync %s", seg->path);
  *ns_out = qx_monotonic_ns() - start;
  return rc;
}

int qx_wal_check_header(const void *header, uint64_t file_size, uint64_t expected_first_lsn,
                        const char *path) {
  wal_segment_header h;
  if (file_size < WAL_SEGMENT_HEADER_SIZE)
    return qx_fail(QX_ERR_FORMAT, "%s: file of %llu bytes is too short for a segment header", path,
                   (unsigned long long)file_size);
  memcpy(&h, header, sizeof h);
  if (memcmp(h.magic, WAL_MAGIC, 8) != 0)
    return qx_fail(QX_ERR_FORMAT, "%s: bad magic at offset 0 (not a qaxdb WAL segment)", path);
  if (h.format_version != WAL_FORMAT_VERSION)
    return qx_fail(QX_ERR_FORMAT,
                   "%s: unsupported WAL format version %u at offset 8 (this build "
                   "reads version %u)",
                   path, h.format_version, WAL_FORMAT_VERSION);
  if (h.crc != qx_crc32c(0, &h, offsetof(wal_segment_header, crc)))
    return qx_fail(QX_ERR_CORRUPT, "%s: segment header checksum mismatch at offset 60", path);
  if (h.header_size != WAL_SEGMENT_HEADER_SIZE || h.segment_size != file_size)
    return qx_fail(QX_ERR_CORRUPT, "%s: the header at offset 0 says %llu bytes, the file has %llu",
                   path, (unsigned long long)h.segment_size, (unsigned long long)file_size);
  if (h.first_lsn != expected_first_lsn)
    return qx_fail(QX_ERR_CORRUPT,
                   "%s: the header's first LSN %llu at offset 16 does not match the file name",
                   path, (unsigned long long)h.first_lsn);
  return QX_OK;
}

int qx_wal_segment_open(const char *path, uint64_t expected_first_lsn, wal_segment **out) {
  int fd;
  uint64_t size;
  int rc = qx_open_sized(path, O_RDWR, &fd, &size);
  if (rc != QX_OK) return rc;
  wal_segment_header h;
  rc = size >= sizeof h ? qx_pread_all(fd, &h, sizeof h, 0, path) : QX_OK;
  if (rc == QX_OK) rc = qx_wal_check_header(&h, size, expected_first_lsn, path);
  if (rc != QX_OK) {
    close(fd);
    return rc;
  }
  return map_segment(fd, path, size, expected_first_lsn, out);
}

const char *qx_wal_entry_problem(const uint8_t *map, uint64_t size, uint64_t off,
                                 uint64_t expected_lsn) {
  if (off + WAL_ENTRY_HEADER_SIZE > size) return "end of file";
  wal_entry_header h;
  memcpy(&h, map + off, sizeof h);
  if (h.size == 0 && h.crc == 0 && h.lsn == 0) return "unwritten space";
  if (h.size == 0 || h.size > QX_WAL_MAX_RECORD || off + wal_entry_span(h.size) > size)
    return "impossible entry size";
  if (h.crc != qx_crc32c(0, map + off + 4, WAL_ENTRY_HEADER_SIZE - 4 + h.size))
    return "checksum mismatch";
  if (h.flags & ~WAL_ENTRY_KNOWN_FLAGS) return "unknown entry flags (a newer format?)";
  if (h.lsn != expected_lsn) return "LSN out of sequence";
  return NULL;
}

void qx_wal_segment_close(wal_segment *seg) {
  if (!seg) return;
  munmap(seg->map, seg->size);
  close(seg->fd);
  free(seg);
}
