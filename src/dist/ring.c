/* The log ring's file: creating it paged in and putting it in place (the writer), mapping it
 * read-only (a reader), and the lock-free frame protocol of docs/formats/ring.md between them.
 * The writer is one thread (the WAL's appender, under the WAL's mutex). */
#include "dist/ring.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/clock.h"

/* The protocol's two fences (qx_ring_reserve, qx_ring_overwritten) are what make it a seqlock.
 * ThreadSanitizer does not model fences and GCC refuses them under -fsanitize=thread with
 * -Werror; its tests of the ring run in other processes, which it does not see anyway. */
#if defined(__SANITIZE_THREAD__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wtsan"
#endif
#include "util/crc32c.h"
#include "util/error.h"
#include "wal/format.h"
#include "wal/segment.h"

static const char *shm_dir(void) {
  const char *d = getenv("QAXDB_SHM_DIR");
  return d && *d ? d : "/dev/shm";
}

static uint64_t fnv1a(const char *s) {
  uint64_t h = 14695981039346656037ull;
  for (; *s; s++)
    h = (h ^ (uint8_t)*s) * 1099511628211ull;
  return h;
}

int qx_ring_path(const char *wal_dir, char *out, size_t out_size) {
  char canonical[PATH_MAX];
  if (!realpath(wal_dir, canonical))
    return qx_fail_errno(errno == ENOENT ? QX_ERR_NOT_FOUND : QX_ERR_IO, errno, "WAL folder %s",
                         wal_dir);
  int n = snprintf(out, out_size, "%s/qaxdb-%016llx.ring", shm_dir(),
                   (unsigned long long)fnv1a(canonical));
  return n > 0 && (size_t)n < out_size ? QX_OK : qx_fail(QX_ERR_INVALID_ARG, "ring path too long");
}

static uint64_t round_up_pow2(uint64_t v) {
  uint64_t p = QX_RING_MIN_CAPACITY;
  while (p < v)
    p <<= 1;
  return p;
}

static uint32_t header_crc(const qx_ring_header *h) {
  return qx_crc32c(0, h, offsetof(qx_ring_header, crc));
}

static void map_parts(qx_ring *r, void *map) {
  r->header = map;
  r->frames = (uint8_t *)map + QX_RING_HEADER_SIZE;
  r->index = (qx_ring_slot *)(r->frames + r->header->capacity);
}

/* ---- the writer --------------------------------------------------------------------------- */

/* Sizes, pages in and maps the file at tmp; the header is left to the caller. */
static int make_file(const char *tmp, size_t size, void **map) {
  int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return qx_fail_errno(QX_ERR_IO, errno, "create ring %s", tmp);
  int rc = posix_fallocate(fd, 0, (off_t)size);
  if (rc != 0) {
    close(fd);
    unlink(tmp);
    return qx_fail_errno(QX_ERR_IO, rc, "allocate %zu bytes of shared memory for %s", size, tmp);
  }
  *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  int e = errno;
  close(fd);
  if (*map == MAP_FAILED) {
    unlink(tmp);
    return qx_fail_errno(QX_ERR_IO, e, "map ring %s", tmp);
  }
  memset(*map, 0, size); /* touches every page: the writer never faults on one later */
  return QX_OK;
}

static void init_header(qx_ring *r, uint64_t capacity, uint64_t first_lsn, const char *wal_dir) {
  qx_ring_header *h = r->header;
  memcpy(h->magic, QX_RING_MAGIC, 8);
  h->format_version = QX_RING_FORMAT_VERSION;
  h->header_size = QX_RING_HEADER_SIZE;
  h->capacity = capacity;
  h->index_slots = capacity / QX_RING_BYTES_PER_SLOT;
  h->generation = (uint64_t)qx_wall_ns();
  h->first_lsn = first_lsn;
  h->writer_pid = (uint32_t)getpid();
  h->crc = header_crc(h);
  atomic_store(&h->published_lsn, first_lsn - 1);
  atomic_store(&h->flushed_lsn, first_lsn - 1);
  atomic_store(&h->flushed_position, 0);
  atomic_store(&h->heartbeat_ns, qx_wall_ns());
  if (!realpath(wal_dir, h->wal_dir)) snprintf(h->wal_dir, sizeof h->wal_dir, "%s", wal_dir);
  struct stat st;
  h->wal_inode = stat(wal_dir, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

int qx_ring_create(const char *wal_dir, uint64_t capacity, uint64_t first_lsn, qx_ring **out) {
  qx_ring *r = calloc(1, sizeof *r);
  if (!r) return qx_fail(QX_ERR_NOMEM, "ring");
  int rc = qx_ring_path(wal_dir, r->path, sizeof r->path);
  capacity = round_up_pow2(capacity);
  r->map_size =
      QX_RING_HEADER_SIZE + capacity + capacity / QX_RING_BYTES_PER_SLOT * sizeof(qx_ring_slot);
  char tmp[PATH_MAX + 8];
  snprintf(tmp, sizeof tmp, "%s.tmp", r->path);
  void *map = NULL;
  if (rc == QX_OK) rc = make_file(tmp, r->map_size, &map);
  if (rc != QX_OK) {
    free(r);
    return rc;
  }
  r->header = map;
  r->header->capacity = capacity;
  map_parts(r, map);
  init_header(r, capacity, first_lsn, wal_dir);
  if (rename(tmp, r->path) != 0) {
    rc = qx_fail_errno(QX_ERR_IO, errno, "rename %s to %s", tmp, r->path);
    munmap(map, r->map_size);
    unlink(tmp);
    free(r);
    return rc;
  }
  r->writer = 1;
  *out = r;
  return QX_OK;
}

static uint64_t offset_of(const qx_ring *r, uint64_t position) {
  return position & (r->header->capacity - 1);
}

/* Where a frame of span bytes starts if the next one goes at position: after the padding to the
 * end of the area when it does not fit before it. */
static uint64_t frame_start(const qx_ring *r, uint64_t position, uint64_t span) {
  uint64_t room = r->header->capacity - offset_of(r, position);
  return span <= room ? position : position + room;
}

uint64_t qx_ring_batch_span(const qx_ring *r, const qx_wal_record *records, size_t count) {
  uint64_t at = r->write_position;
  for (size_t i = 0; i < count; i++) {
    uint64_t span = wal_entry_span(records[i].size);
    at = frame_start(r, at, span) + span;
  }
  return at - r->write_position;
}

void qx_ring_reserve(qx_ring *r, uint64_t bytes) {
  atomic_store_explicit(&r->header->reserved, r->write_position + bytes, memory_order_relaxed);
  atomic_thread_fence(memory_order_release); /* ordered before the frame stores that follow */
}

void qx_ring_put(qx_ring *r, const void *entry_header, const void *payload, uint32_t size) {
  uint64_t span = wal_entry_span(size);
  uint64_t start = frame_start(r, r->write_position, span);
  if (start != r->write_position &&
      r->header->capacity - offset_of(r, r->write_position) >= WAL_ENTRY_HEADER_SIZE)
    memset(r->frames + offset_of(r, r->write_position), 0, WAL_ENTRY_HEADER_SIZE);
  uint8_t *at = r->frames + offset_of(r, start);
  memcpy(at, entry_header, WAL_ENTRY_HEADER_SIZE);
  memcpy(at + WAL_ENTRY_HEADER_SIZE, payload, size);
  memset(at + WAL_ENTRY_HEADER_SIZE + size, 0, span - WAL_ENTRY_HEADER_SIZE - size);
  const wal_entry_header *h = entry_header;
  if (h->lsn % QX_RING_INDEX_EVERY == 0)
    r->index[(h->lsn / QX_RING_INDEX_EVERY) & (r->header->index_slots - 1)] =
        (qx_ring_slot){h->lsn, start};
  r->write_position = start + span;
}

void qx_ring_publish(qx_ring *r, uint64_t last_lsn) {
  atomic_store_explicit(&r->header->published_lsn, last_lsn, memory_order_release);
  atomic_store_explicit(&r->header->published, r->write_position, memory_order_release);
}

void qx_ring_heartbeat(qx_ring *r) {
  atomic_store_explicit(&r->header->heartbeat_ns, qx_wall_ns(), memory_order_release);
}

void qx_ring_set_flushed(qx_ring *r, uint64_t last_lsn, uint64_t position) {
  /* position first: a reader that sees the LSN finds the position at least as new */
  atomic_store_explicit(&r->header->flushed_position, position, memory_order_release);
  atomic_store_explicit(&r->header->flushed_lsn, last_lsn, memory_order_release);
}

void qx_ring_close(qx_ring *r, int keep_name) {
  if (!r) return;
  if (r->writer) {
    atomic_store_explicit(&r->header->closed, 1, memory_order_release);
    if (!keep_name && !qx_ring_replaced(r)) unlink(r->path);
  }
  munmap(r->header, r->map_size);
  free(r);
}

/* ---- a reader ----------------------------------------------------------------------------- */

static int check_header(const qx_ring_header *h, size_t file_size, const char *path,
                        const char *wal_dir) {
  if (file_size < QX_RING_HEADER_SIZE || memcmp(h->magic, QX_RING_MAGIC, 8) != 0)
    return qx_fail(QX_ERR_FORMAT, "%s: not a qaxdb log ring (offset 0)", path);
  if (h->format_version != QX_RING_FORMAT_VERSION)
    return qx_fail(QX_ERR_FORMAT, "%s: ring format version %u, this build reads %u (offset 8)",
                   path, h->format_version, QX_RING_FORMAT_VERSION);
  if (h->crc != header_crc(h))
    return qx_fail(QX_ERR_CORRUPT, "%s: ring header checksum mismatch (offset 52)", path);
  uint64_t cap = h->capacity;
  if (cap < QX_RING_MIN_CAPACITY || (cap & (cap - 1)) ||
      h->index_slots != cap / QX_RING_BYTES_PER_SLOT || h->header_size != QX_RING_HEADER_SIZE ||
      file_size != QX_RING_HEADER_SIZE + cap + h->index_slots * sizeof(qx_ring_slot))
    return qx_fail(QX_ERR_CORRUPT, "%s: ring sizes do not match the file's %zu bytes (offset 16)",
                   path, file_size);
  char canonical[PATH_MAX];
  if (realpath(wal_dir, canonical) && strncmp(canonical, h->wal_dir, sizeof h->wal_dir) != 0)
    return qx_fail(QX_ERR_FORMAT, "%s belongs to %.1024s, not %s", path, h->wal_dir, canonical);
  return QX_OK;
}

int qx_ring_attach(const char *wal_dir, qx_ring **out) {
  qx_ring *r = calloc(1, sizeof *r);
  if (!r) return qx_fail(QX_ERR_NOMEM, "ring");
  int rc = qx_ring_path(wal_dir, r->path, sizeof r->path);
  int fd = rc == QX_OK ? open(r->path, O_RDONLY | O_CLOEXEC) : -1;
  if (rc == QX_OK && fd < 0)
    rc = qx_fail_errno(errno == ENOENT ? QX_ERR_NOT_FOUND : QX_ERR_IO, errno,
                       "no log ring for %s (%s)", wal_dir, r->path);
  struct stat st;
  if (rc == QX_OK && fstat(fd, &st) != 0) rc = qx_fail_errno(QX_ERR_IO, errno, "%s", r->path);
  void *map = MAP_FAILED;
  if (rc == QX_OK) {
    r->map_size = (size_t)st.st_size;
    map = r->map_size >= QX_RING_HEADER_SIZE
              ? mmap(NULL, r->map_size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0)
              : MAP_FAILED;
    if (map == MAP_FAILED)
      rc = qx_fail(QX_ERR_FORMAT, "%s: not a qaxdb log ring (%zu bytes)", r->path, r->map_size);
  }
  if (fd >= 0) close(fd);
  if (rc == QX_OK) rc = check_header(map, r->map_size, r->path, wal_dir);
  if (rc != QX_OK) {
    if (map != MAP_FAILED) munmap(map, r->map_size);
    free(r);
    return rc;
  }
  map_parts(r, map);
  *out = r;
  return QX_OK;
}

int qx_ring_replaced(const qx_ring *r) {
  int fd = open(r->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 1;
  qx_ring_header h;
  ssize_t n = pread(fd, &h, offsetof(qx_ring_header, wal_inode), 0);
  close(fd);
  return n != (ssize_t)offsetof(qx_ring_header, wal_inode) || h.generation != r->header->generation;
}

int qx_ring_writer_alive(const qx_ring *r, int64_t now_ns) {
  const qx_ring_header *h = r->header;
  if (atomic_load_explicit(&h->closed, memory_order_acquire)) return 0;
  if (kill((pid_t)h->writer_pid, 0) != 0 && errno == ESRCH) return 0;
  return now_ns - atomic_load_explicit(&h->heartbeat_ns, memory_order_acquire) <=
         QX_RING_WRITER_TIMEOUT_NS;
}

int qx_ring_overwritten(const qx_ring *r, uint64_t position) {
  atomic_thread_fence(memory_order_acquire); /* the reads before are done before these loads */
  /* The writer overwrites only what its flusher has written out: a frame at or after the
   * flushed position is intact, known from a line the flusher writes every few ms rather than
   * from reserved, which every append writes (and a reader's load of it would slow). */
  if (position >= atomic_load_explicit(&r->header->flushed_position, memory_order_relaxed))
    return 0;
  uint64_t reserved = atomic_load_explicit(&r->header->reserved, memory_order_relaxed);
  return reserved > position + r->header->capacity;
}

uint64_t qx_ring_skip_padding(const qx_ring *r, uint64_t position) {
  uint64_t room = r->header->capacity - offset_of(r, position);
  if (room < WAL_ENTRY_HEADER_SIZE) return position + room;
  static const uint8_t zero[WAL_ENTRY_HEADER_SIZE];
  int padding = memcmp(r->frames + offset_of(r, position), zero, WAL_ENTRY_HEADER_SIZE) == 0;
  return padding ? position + room : position;
}

qx_ring_read qx_ring_read_frame(const qx_ring *r, uint64_t *position, uint64_t lsn,
                                qx_wal_entry *entry, uint64_t *next, int *status) {
  *status = QX_OK;
  uint64_t published = atomic_load_explicit(&r->header->published, memory_order_acquire);
  if (*position >= published) return QX_RING_NOTHING;
  if (published - *position > r->header->capacity) return QX_RING_LAPPED;
  uint64_t at = qx_ring_skip_padding(r, *position);
  if (qx_ring_overwritten(r, *position)) return QX_RING_LAPPED;
  if (at >= published) return QX_RING_NOTHING; /* padding is published with the next frame */
  uint64_t off = offset_of(r, at);
  uint64_t end =
      off + (published - at) < r->header->capacity ? off + (published - at) : r->header->capacity;
  wal_entry_header h; /* taken before the check below, which vouches for it */
  memcpy(&h, r->frames + off, sizeof h);
  const char *problem = qx_wal_entry_problem(r->frames, end, off, lsn);
  if (qx_ring_overwritten(r, at)) return QX_RING_LAPPED;
  if (problem) {
    *status =
        qx_fail(QX_ERR_CORRUPT, "%s: frame at position %llu (offset %llu), LSN %llu: %s", r->path,
                (unsigned long long)at, (unsigned long long)(QX_RING_HEADER_SIZE + off),
                (unsigned long long)lsn, problem);
    return QX_RING_NOTHING;
  }
  *entry = (qx_wal_entry){h.lsn,  h.ts_ns, h.table_id, h.schema_version,
                          h.size, r->frames + off + WAL_ENTRY_HEADER_SIZE, h.flags};
  *position = at;
  *next = at + wal_entry_span(h.size);
  return QX_RING_FRAME;
}

/* Where a walk to lsn starts: the frame after the flushed one if lsn is at or after it (the
 * writer never overwrites those), else the index slot of lsn rounded down to a multiple of
 * QX_RING_INDEX_EVERY. Returns 0 if neither is there. */
static int walk_start(const qx_ring *r, uint64_t lsn, uint64_t *position, uint64_t *at_lsn) {
  const qx_ring_header *h = r->header;
  uint64_t flushed_lsn = atomic_load_explicit(&h->flushed_lsn, memory_order_acquire);
  uint64_t base = lsn - lsn % QX_RING_INDEX_EVERY;
  if (flushed_lsn + 1 <= lsn && flushed_lsn + 1 >= base) {
    *position = atomic_load_explicit(&h->flushed_position, memory_order_acquire);
    *at_lsn = flushed_lsn + 1;
    return 1;
  }
  if (base <= h->first_lsn) {
    *position = 0;
    *at_lsn = h->first_lsn;
    return 1;
  }
  qx_ring_slot s = r->index[(base / QX_RING_INDEX_EVERY) & (h->index_slots - 1)];
  *position = s.position;
  *at_lsn = base;
  return s.lsn == base;
}

uint64_t qx_ring_find(const qx_ring *r, uint64_t lsn) {
  const qx_ring_header *h = r->header;
  uint64_t published_lsn = atomic_load_explicit(&h->published_lsn, memory_order_acquire);
  if (lsn < h->first_lsn || lsn > published_lsn + 1) return UINT64_MAX;
  uint64_t position, at_lsn;
  if (!walk_start(r, lsn, &position, &at_lsn)) return UINT64_MAX;
  for (;; at_lsn++) {
    qx_wal_entry e;
    uint64_t next;
    int status;
    uint64_t at = position;
    qx_ring_read got = qx_ring_read_frame(r, &at, at_lsn, &e, &next, &status);
    if (got == QX_RING_NOTHING && status == QX_OK && at_lsn == lsn) return at; /* the live end */
    if (got != QX_RING_FRAME) return UINT64_MAX;
    if (at_lsn == lsn) return at;
    position = next;
  }
}
