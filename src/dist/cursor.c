/* Named durable cursors (see cursor.h): reading and writing the two-slot file, listing the
 * cursors of a folder, and the oldest LSN they still need. */
#include "dist/cursor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/crc32c.h"
#include "util/error.h"

#define CURSOR_MAGIC "QXCURSOR"

typedef struct cursor_slot {
  char magic[8];
  uint64_t sequence;
  uint64_t acked_lsn;
  uint32_t crc;
  uint32_t zero;
} cursor_slot;
_Static_assert(sizeof(cursor_slot) == 32, "cursor slot layout");

struct qx_cursor {
  int fd;
  uint64_t sequence;
  uint64_t acked_lsn;
  char path[PATH_MAX];
};

static uint32_t slot_crc(const cursor_slot *s) {
  return qx_crc32c(0, s, offsetof(cursor_slot, crc));
}

static int slot_valid(const cursor_slot *s) {
  return memcmp(s->magic, CURSOR_MAGIC, 8) == 0 && s->crc == slot_crc(s);
}

/* Reads the newest valid slot of the file open as fd; a file with none is damaged. */
static int read_slots(int fd, const char *path, cursor_slot *newest) {
  cursor_slot slots[2];
  ssize_t n = pread(fd, slots, sizeof slots, 0);
  if (n < 0) return qx_fail_errno(QX_ERR_IO, errno, "read %s", path);
  if (n == 0) {
    memset(newest, 0, sizeof *newest); /* created, never acknowledged */
    return QX_OK;
  }
  int a = n >= 32 && slot_valid(&slots[0]), b = n == 64 && slot_valid(&slots[1]);
  if (!a && !b) return qx_fail(QX_ERR_CORRUPT, "%s: no valid cursor slot (offsets 0 and 32)", path);
  *newest = a && (!b || slots[0].sequence > slots[1].sequence) ? slots[0] : slots[1];
  return QX_OK;
}

static int cursor_path(const char *wal_dir, const char *name, char out[PATH_MAX]) {
  if (!*name || strchr(name, '/') || name[0] == '.' || strlen(name) > 63)
    return qx_fail(QX_ERR_INVALID_ARG,
                   "cursor name '%s': 1 to 63 characters, no '/', not starting with '.'", name);
  int n = snprintf(out, PATH_MAX, "%s/%s/%s%s", wal_dir, QX_CURSOR_DIR, name, QX_CURSOR_SUFFIX);
  return n < PATH_MAX ? QX_OK : qx_fail(QX_ERR_INVALID_ARG, "cursor path too long");
}

int qx_cursor_open(const char *wal_dir, const char *name, qx_cursor **out) {
  qx_cursor *c = calloc(1, sizeof *c);
  if (!c) return qx_fail(QX_ERR_NOMEM, "cursor");
  int rc = cursor_path(wal_dir, name, c->path);
  char dir[PATH_MAX + 16];
  snprintf(dir, sizeof dir, "%s/%s", wal_dir, QX_CURSOR_DIR);
  if (rc == QX_OK && mkdir(dir, 0755) != 0 && errno != EEXIST)
    rc = qx_fail_errno(QX_ERR_IO, errno, "create %s", dir);
  c->fd = rc == QX_OK ? open(c->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644) : -1;
  if (rc == QX_OK && c->fd < 0) rc = qx_fail_errno(QX_ERR_IO, errno, "open %s", c->path);
  cursor_slot newest;
  if (rc == QX_OK) rc = read_slots(c->fd, c->path, &newest);
  if (rc != QX_OK) {
    qx_cursor_close(c);
    return rc;
  }
  c->sequence = newest.sequence;
  c->acked_lsn = newest.acked_lsn;
  *out = c;
  return QX_OK;
}

uint64_t qx_cursor_acked(const qx_cursor *c) {
  return c->acked_lsn;
}

int qx_cursor_ack(qx_cursor *c, uint64_t lsn) {
  cursor_slot s = {.sequence = c->sequence + 1, .acked_lsn = lsn};
  memcpy(s.magic, CURSOR_MAGIC, 8);
  s.crc = slot_crc(&s);
  off_t at = (off_t)(s.sequence % 2) * (off_t)sizeof s; /* the other slot than the last write */
  if (pwrite(c->fd, &s, sizeof s, at) != (ssize_t)sizeof s)
    return qx_fail_errno(QX_ERR_IO, errno, "write %s", c->path);
  c->sequence = s.sequence;
  c->acked_lsn = lsn;
  return QX_OK;
}

void qx_cursor_close(qx_cursor *c) {
  if (!c) return;
  if (c->fd >= 0) close(c->fd);
  free(c);
}

/* ---- every cursor of a folder ------------------------------------------------------------- */

int qx_cursor_list(const char *wal_dir, qx_cursor_visit_fn visit, void *ctx) {
  char dir[PATH_MAX + 16];
  snprintf(dir, sizeof dir, "%s/%s", wal_dir, QX_CURSOR_DIR);
  DIR *d = opendir(dir);
  if (!d) return errno == ENOENT ? QX_OK : qx_fail_errno(QX_ERR_IO, errno, "open %s", dir);
  int rc = QX_OK, first_failure = QX_OK; /* a damaged cursor does not hide the others */
  struct dirent *e;
  while (rc == QX_OK && (e = readdir(d))) {
    size_t len = strlen(e->d_name), suffix = strlen(QX_CURSOR_SUFFIX);
    if (len <= suffix || strcmp(e->d_name + len - suffix, QX_CURSOR_SUFFIX) != 0) continue;
    char path[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue; /* deleted meanwhile */
    cursor_slot newest;
    struct stat st;
    int read = read_slots(fd, path, &newest);
    if (read == QX_OK && fstat(fd, &st) != 0) read = qx_fail_errno(QX_ERR_IO, errno, "%s", path);
    close(fd);
    if (read != QX_OK) {
      if (first_failure == QX_OK) first_failure = read;
      continue;
    }
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)(len - suffix), e->d_name);
    qx_sub_cursor_info info = {name, newest.acked_lsn,
                               (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec};
    rc = visit(&info, ctx);
  }
  closedir(d);
  return rc != QX_OK ? rc : first_failure;
}

static int lowest_needed(const qx_sub_cursor_info *info, void *ctx) {
  uint64_t *lowest = ctx;
  if (info->acked_lsn + 1 < *lowest) *lowest = info->acked_lsn + 1;
  return QX_OK;
}

uint64_t qx_cursor_oldest_needed(const char *wal_dir) {
  uint64_t lowest = UINT64_MAX;
  qx_cursor_list(wal_dir, lowest_needed, &lowest); /* an unreadable cursor holds nothing back */
  return lowest;
}

int qx_cursor_delete(const char *wal_dir, const char *name) {
  char path[PATH_MAX];
  int rc = cursor_path(wal_dir, name, path);
  if (rc == QX_OK && unlink(path) != 0)
    rc = qx_fail_errno(errno == ENOENT ? QX_ERR_NOT_FOUND : QX_ERR_IO, errno, "remove cursor %s",
                       path);
  return rc;
}
