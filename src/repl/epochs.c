/* The EPOCHS file (epochs.h): one "epoch first_lsn" line per epoch, then a "crc32c" line over
 * the lines before it, so that damage is found rather than trusted. */
#include "repl/epochs.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/crc32c.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/grow.h"

static void path_of(const char *dir, const char *name, char out[PATH_MAX]) {
  snprintf(out, PATH_MAX, "%s/%s", dir, name);
}

static int parse(const char *path, FILE *f, qx_epochs *out) {
  char line[128];
  uint32_t crc = 0, line_no = 0;
  out->count = 0;
  while (fgets(line, sizeof line, f)) {
    line_no++;
    uint64_t epoch, first, stored;
    if (sscanf(line, "crc32c %" SCNx64, &stored) == 1)
      return stored == crc && out->count > 0
                 ? QX_OK
                 : qx_fail(QX_ERR_CORRUPT, "%s: line %u: checksum mismatch", path, line_no);
    crc = qx_crc32c(crc, line, strlen(line));
    if (sscanf(line, "%" SCNu64 " %" SCNu64, &epoch, &first) != 2 || out->count == QX_EPOCHS_MAX ||
        (out->count > 0 &&
         (epoch <= out->at[out->count - 1].epoch || first < out->at[out->count - 1].first_lsn)))
      return qx_fail(QX_ERR_CORRUPT, "%s: line %u is not a next epoch and its first LSN", path,
                     line_no);
    out->at[out->count++] = (qx_epoch_start){epoch, first};
  }
  return qx_fail(QX_ERR_CORRUPT, "%s: ends after line %u without its checksum", path, line_no);
}

int qx_epochs_load(const char *dir, qx_epochs *out) {
  char path[PATH_MAX];
  path_of(dir, QX_EPOCHS_FILE, path);
  FILE *f = fopen(path, "r");
  if (!f && errno == ENOENT) {
    *out = (qx_epochs){.count = 1, .at = {{1, 1}}};
    return QX_OK;
  }
  if (!f) return qx_fail_errno(QX_ERR_IO, errno, "open %s", path);
  int rc = parse(path, f, out);
  fclose(f);
  return rc;
}

int qx_epochs_save(const char *dir, const qx_epochs *h) {
  qx_buffer b = {0};
  uint32_t crc = 0;
  for (uint32_t i = 0; i < h->count; i++) {
    size_t at = b.len;
    qx_buffer_printf(&b, "%" PRIu64 " %" PRIu64 "\n", h->at[i].epoch, h->at[i].first_lsn);
    if (!b.failed) crc = qx_crc32c(crc, b.p + at, b.len - at);
  }
  qx_buffer_printf(&b, "crc32c %08" PRIx32 "\n", crc);
  char path[PATH_MAX], tmp[PATH_MAX];
  path_of(dir, QX_EPOCHS_FILE, path);
  path_of(dir, QX_EPOCHS_FILE ".tmp", tmp);
  int rc = b.failed ? qx_fail(QX_ERR_NOMEM, "out of memory for %s", path) : QX_OK;
  FILE *f = rc == QX_OK ? fopen(tmp, "w") : NULL;
  if (rc == QX_OK && !f) rc = qx_fail_errno(QX_ERR_IO, errno, "create %s", tmp);
  if (f) {
    int ok = fwrite(b.p, 1, b.len, f) == b.len && fflush(f) == 0 && fdatasync(fileno(f)) == 0;
    if (fclose(f) != 0 || !ok) rc = qx_fail_errno(QX_ERR_IO, errno, "write %s", tmp);
  }
  if (rc == QX_OK && rename(tmp, path) != 0) rc = qx_fail_errno(QX_ERR_IO, errno, "rename %s", tmp);
  if (rc == QX_OK) rc = qx_fsync_dir(dir);
  qx_buffer_free(&b);
  return rc;
}

uint64_t qx_epochs_current(const qx_epochs *h) {
  return h->at[h->count - 1].epoch;
}

int qx_epochs_begin(qx_epochs *h, uint64_t epoch, uint64_t first_lsn) {
  const qx_epoch_start *last = &h->at[h->count - 1];
  if (epoch <= last->epoch || first_lsn < last->first_lsn)
    return qx_fail(QX_ERR_INVALID_ARG,
                   "epoch %" PRIu64 " at LSN %" PRIu64 " does not follow epoch %" PRIu64
                   " at LSN %" PRIu64,
                   epoch, first_lsn, last->epoch, last->first_lsn);
  if (h->count == QX_EPOCHS_MAX) {
    memmove(h->at, h->at + 1, (QX_EPOCHS_MAX - 1) * sizeof h->at[0]);
    h->count--;
  }
  h->at[h->count++] = (qx_epoch_start){epoch, first_lsn};
  return QX_OK;
}

qx_epoch_start qx_epochs_of_lsn(const qx_epochs *h, uint64_t lsn) {
  uint32_t i = h->count - 1;
  while (i > 0 && h->at[i].first_lsn > lsn)
    i--;
  return h->at[i];
}

int qx_epochs_has_prefix(const qx_epochs *h, uint64_t epoch, uint64_t first_lsn,
                         uint64_t last_lsn) {
  for (uint32_t i = 0; i < h->count; i++) {
    if (h->at[i].epoch != epoch) continue;
    if (h->at[i].first_lsn != first_lsn) return 0;
    return i + 1 == h->count || last_lsn < h->at[i + 1].first_lsn;
  }
  return 0;
}
