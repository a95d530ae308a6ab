/* MANIFEST files and CURRENT: encoding of version edits, appending them durably, and reading
 * them back with torn-tail and corruption rules (see manifest.h and docs/formats/manifest.md). */
#include "lsm/manifest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/crc32c.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/grow.h"
#include "util/io.h"

#define MANIFEST_VERSION 1u
#define HEADER_SIZE 16u
#define MAX_EDIT_BYTES (64u << 20)

static const uint8_t manifest_magic[8] = {'Q', 'X', 'M', 'A', 'N', 'I', 'F', '1'};

enum edit_tag {
  TAG_CHECKPOINT = 1,
  TAG_NEXT_FILE = 2,
  TAG_ADD = 3,
  TAG_REMOVE = 4,
  TAG_OLAP_LSN = 5,
  TAG_PARQUET_ADD = 6,
  TAG_PARQUET_REMOVE = 7,
  TAG_TOTALS = 8,
};

struct qx_manifest {
  int fd;
  uint64_t size;
  char path[4096];
};

/* ---- encoding ---- */

static void put_u8(qx_buffer *b, uint8_t v) {
  qx_buffer_put(b, &v, 1);
}
static void put_u32(qx_buffer *b, uint32_t v) {
  qx_buffer_put(b, &v, 4);
}
static void put_u64(qx_buffer *b, uint64_t v) {
  qx_buffer_put(b, &v, 8);
}

static void put_meta(qx_buffer *b, int level, const qx_sst_meta *m) {
  put_u8(b, TAG_ADD);
  put_u8(b, (uint8_t)level);
  put_u64(b, m->file_number);
  put_u64(b, m->file_size);
  put_u64(b, m->entry_count);
  put_u64(b, m->tombstone_count);
  put_u64(b, m->min_lsn);
  put_u64(b, m->max_lsn);
  put_u32(b, m->smallest_len);
  qx_buffer_put(b, m->smallest, m->smallest_len);
  put_u32(b, m->largest_len);
  qx_buffer_put(b, m->largest, m->largest_len);
}

static void put_parquet(qx_buffer *b, uint8_t tag, const qx_parquet_meta *m) {
  put_u8(b, tag);
  qx_buffer_put(b, &m->table_id, 2);
  qx_buffer_put(b, &m->day, 4);
  put_u64(b, m->first_lsn);
  put_u64(b, m->last_lsn);
  put_u64(b, m->rows);
  put_u64(b, m->bytes);
}

static void put_parquet_edit(qx_buffer *b, const qx_parquet_edit *e) {
  if (e->has_olap_lsn) {
    put_u8(b, TAG_OLAP_LSN);
    put_u64(b, e->olap_lsn);
  }
  for (size_t i = 0; i < e->removed_count; i++)
    put_parquet(b, TAG_PARQUET_REMOVE, &e->removed[i]);
  for (size_t i = 0; i < e->added_count; i++)
    put_parquet(b, TAG_PARQUET_ADD, &e->added[i]);
}

/* Encodes edit as a framed record: u32 length, u32 CRC32C, payload. */
static int encode_edit(const qx_version_edit *e, qx_buffer *b) {
  put_u64(b, 0); /* frame, filled below */
  if (e->has_checkpoint) {
    put_u8(b, TAG_CHECKPOINT);
    put_u64(b, e->checkpoint_lsn);
  }
  if (e->has_next_file) {
    put_u8(b, TAG_NEXT_FILE);
    put_u64(b, e->next_file_number);
  }
  for (size_t i = 0; i < e->removed_count; i++) {
    put_u8(b, TAG_REMOVE);
    put_u8(b, (uint8_t)e->removed[i].level);
    put_u64(b, e->removed[i].file_number);
  }
  for (size_t i = 0; i < e->added_count; i++)
    put_meta(b, e->added[i].level, &e->added[i].meta);
  put_parquet_edit(b, &e->parquet);
  if (e->has_totals) {
    put_u8(b, TAG_TOTALS);
    put_u8(b, QX_TOTALS);
    for (int i = 0; i < QX_TOTALS; i++)
      put_u64(b, e->totals.v[i]);
  }
  if (b->failed) return qx_fail(QX_ERR_NOMEM, "out of memory encoding a MANIFEST edit");
  uint32_t frame[2] = {(uint32_t)(b->len - 8), qx_crc32c(0, b->p + 8, b->len - 8)};
  memcpy(b->p, frame, 8);
  return QX_OK;
}

/* ---- decoding ---- */

typedef struct reader {
  const uint8_t *p;
  size_t len, at;
} reader;

static int get(reader *r, void *out, size_t n) {
  if (r->len - r->at < n) return 0;
  memcpy(out, r->p + r->at, n);
  r->at += n;
  return 1;
}

static int get_key(reader *r, uint8_t *out, uint32_t *len) {
  return get(r, len, 4) && *len <= QX_DB_MAX_KEY && get(r, out, *len);
}

static int decode_add(reader *r, qx_version_edit *e) {
  uint8_t level;
  qx_sst_meta m = {0};
  int ok = get(r, &level, 1) && level < QX_DB_LEVELS && get(r, &m.file_number, 8) &&
           get(r, &m.file_size, 8) && get(r, &m.entry_count, 8) && get(r, &m.tombstone_count, 8) &&
           get(r, &m.min_lsn, 8) && get(r, &m.max_lsn, 8) &&
           get_key(r, m.smallest, &m.smallest_len) && get_key(r, m.largest, &m.largest_len);
  return ok && qx_edit_add(e, level, &m) == QX_OK;
}

static int decode_remove(reader *r, qx_version_edit *e) {
  uint8_t level;
  uint64_t number;
  return get(r, &level, 1) && level < QX_DB_LEVELS && get(r, &number, 8) &&
         qx_edit_remove(e, level, number) == QX_OK;
}

static int decode_parquet(reader *r, uint8_t tag, qx_parquet_edit *e) {
  qx_parquet_meta m = {0};
  int ok = get(r, &m.table_id, 2) && get(r, &m.day, 4) && get(r, &m.first_lsn, 8) &&
           get(r, &m.last_lsn, 8) && get(r, &m.rows, 8) && get(r, &m.bytes, 8) &&
           m.first_lsn <= m.last_lsn;
  if (!ok) return 0;
  return (tag == TAG_PARQUET_ADD ? qx_parquet_edit_add(e, &m) : qx_parquet_edit_remove(e, &m)) ==
         QX_OK;
}

/* A count, then that many u64 totals: a newer writer may add totals, which are skipped. */
static int decode_totals(reader *r, qx_version_edit *e) {
  uint8_t count;
  if (!get(r, &count, 1)) return 0;
  e->has_totals = 1;
  for (int i = 0; i < count; i++) {
    uint64_t value;
    if (!get(r, &value, 8)) return 0;
    if (i < QX_TOTALS) e->totals.v[i] = value;
  }
  return 1;
}

static int decode_field(reader *r, qx_version_edit *e) {
  uint8_t tag;
  if (!get(r, &tag, 1)) return 0;
  switch (tag) {
  case TAG_CHECKPOINT:
    e->has_checkpoint = 1;
    return get(r, &e->checkpoint_lsn, 8);
  case TAG_NEXT_FILE:
    e->has_next_file = 1;
    return get(r, &e->next_file_number, 8);
  case TAG_ADD:
    return decode_add(r, e);
  case TAG_REMOVE:
    return decode_remove(r, e);
  case TAG_OLAP_LSN:
    e->parquet.has_olap_lsn = 1;
    return get(r, &e->parquet.olap_lsn, 8);
  case TAG_PARQUET_ADD:
  case TAG_PARQUET_REMOVE:
    return decode_parquet(r, tag, &e->parquet);
  case TAG_TOTALS:
    return decode_totals(r, e);
  default:
    return 0;
  }
}

static int decode_edit(const uint8_t *p, size_t len, qx_version_edit *e) {
  reader r = {p, len, 0};
  while (r.at < r.len)
    if (!decode_field(&r, e)) return 0;
  return 1;
}

/* ---- reading ---- */

int qx_manifest_current_path(const char *dir, char *out, size_t cap) {
  char current[4096], name[256] = "";
  snprintf(current, sizeof current, "%s/CURRENT", dir);
  FILE *f = fopen(current, "r");
  if (!f) {
    if (errno == ENOENT) return QX_ERR_NOT_FOUND;
    return qx_fail_errno(QX_ERR_IO, errno, "open %s", current);
  }
  int ok = fgets(name, sizeof name, f) != NULL;
  fclose(f);
  name[strcspn(name, "\n")] = 0;
  if (!ok || strncmp(name, "MANIFEST-", 9) != 0 || strchr(name, '/'))
    return qx_fail(QX_ERR_CORRUPT, "%s: does not name a MANIFEST file", current);
  snprintf(out, cap, "%s/%s", dir, name);
  return QX_OK;
}

static int read_whole(const char *path, uint8_t **data, uint64_t *size) {
  int fd;
  int rc = qx_open_sized(path, O_RDONLY, &fd, size);
  if (rc != QX_OK) return rc;
  *data = malloc(*size ? *size : 1);
  if (!*data) rc = qx_fail(QX_ERR_NOMEM, "out of memory reading %s", path);
  if (rc == QX_OK) rc = qx_pread_all(fd, *data, *size, 0, path);
  close(fd);
  if (rc != QX_OK) {
    free(*data);
    *data = NULL;
  }
  return rc;
}

static int check_header(const char *path, const uint8_t *data, uint64_t size) {
  uint32_t version, crc;
  if (size < HEADER_SIZE || memcmp(data, manifest_magic, 8) != 0)
    return qx_fail(QX_ERR_FORMAT, "%s: not a qaxdb MANIFEST (bad magic at offset 0)", path);
  memcpy(&version, data + 8, 4);
  memcpy(&crc, data + 12, 4);
  if (crc != qx_crc32c(0, data, 12))
    return qx_fail(QX_ERR_CORRUPT, "%s: header checksum mismatch at offset 0", path);
  if (version != MANIFEST_VERSION)
    return qx_fail(QX_ERR_FORMAT, "%s: unsupported MANIFEST version %u", path, version);
  return QX_OK;
}

/* Visits the records of a MANIFEST image; a damaged record that ends the file is torn, unless
 * it is the first: a MANIFEST is synced with its first edit (the whole state it starts from)
 * before CURRENT names it, so no crash leaves that one torn, and reading it as torn would make
 * the folder look empty (and every table file an orphan). */
static int visit_records(const char *path, const uint8_t *data, uint64_t size,
                         qx_edit_visit_fn visit, void *ctx, uint64_t *torn) {
  uint64_t at = HEADER_SIZE;
  while (at < size) {
    uint32_t frame[2] = {0, 0};
    int complete = size - at >= 8;
    if (complete) memcpy(frame, data + at, 8);
    complete = complete && frame[0] <= MAX_EDIT_BYTES && frame[0] <= size - at - 8;
    if (!complete || frame[1] != qx_crc32c(0, data + at + 8, frame[0])) {
      if (at == HEADER_SIZE)
        return qx_fail(QX_ERR_CORRUPT, "%s: the first edit is damaged at offset %" PRIu64, path,
                       at);
      if (!complete || at + 8 + frame[0] == size) {
        *torn = size - at;
        return QX_OK;
      }
      return qx_fail(QX_ERR_CORRUPT, "%s: edit checksum mismatch at offset %" PRIu64, path, at);
    }
    qx_version_edit e = {0};
    int rc = decode_edit(data + at + 8, frame[0], &e)
                 ? visit(&e, ctx)
                 : qx_fail(QX_ERR_CORRUPT, "%s: malformed edit at offset %" PRIu64, path, at);
    qx_edit_free(&e);
    if (rc != QX_OK) return rc;
    at += 8 + frame[0];
  }
  return QX_OK;
}

int qx_manifest_read(const char *dir, qx_edit_visit_fn visit, void *ctx, uint64_t *torn_bytes) {
  char path[4096];
  *torn_bytes = 0;
  int rc = qx_manifest_current_path(dir, path, sizeof path);
  if (rc != QX_OK) return rc;
  uint8_t *data = NULL;
  uint64_t size = 0;
  rc = read_whole(path, &data, &size);
  if (rc == QX_OK) rc = check_header(path, data, size);
  if (rc == QX_OK) rc = visit_records(path, data, size, visit, ctx, torn_bytes);
  free(data);
  return rc;
}

/* ---- writing ---- */

int qx_manifest_append(qx_manifest *m, const qx_version_edit *edit) {
  qx_buffer b = {0};
  int rc = encode_edit(edit, &b);
  if (rc == QX_OK) rc = qx_pwrite_all(m->fd, b.p, b.len, m->size, m->path);
  if (rc == QX_OK && qx_io_fdatasync(m->fd) != 0)
    rc = qx_fail_errno(QX_ERR_IO, errno, "fdatasync %s", m->path);
  if (rc == QX_OK) m->size += b.len;
  qx_buffer_free(&b);
  return rc;
}

static int write_current(const char *dir, uint64_t number) {
  char tmp[4096], current[4096], text[64];
  snprintf(tmp, sizeof tmp, "%s/CURRENT.tmp", dir);
  snprintf(current, sizeof current, "%s/CURRENT", dir);
  int n = snprintf(text, sizeof text, "MANIFEST-%06" PRIu64 "\n", number);
  int fd = qx_io_open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return qx_fail_errno(QX_ERR_IO, errno, "create %s", tmp);
  int rc = qx_pwrite_all(fd, text, (size_t)n, 0, tmp);
  if (rc == QX_OK && qx_io_fsync(fd) != 0) rc = qx_fail_errno(QX_ERR_IO, errno, "fsync %s", tmp);
  close(fd);
  if (rc == QX_OK && qx_io_rename(tmp, current) != 0)
    rc = qx_fail_errno(QX_ERR_IO, errno, "rename %s", tmp);
  return rc == QX_OK ? qx_fsync_dir(dir) : rc;
}

static void remove_old_manifests(const char *dir, uint64_t keep) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    uint64_t n;
    char path[4096];
    if (sscanf(de->d_name, "MANIFEST-%" SCNu64, &n) == 1 && n != keep) {
      snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
      qx_io_unlink(path);
    }
  }
  closedir(d);
}

static int snapshot_edit(const qx_version *v, uint64_t next_file, const qx_totals *totals,
                         qx_version_edit *e) {
  *e = (qx_version_edit){.has_checkpoint = 1,
                         .checkpoint_lsn = v->checkpoint_lsn,
                         .has_next_file = 1,
                         .next_file_number = next_file,
                         .has_totals = 1,
                         .totals = *totals};
  for (int l = 0; l < QX_DB_LEVELS; l++)
    for (uint32_t i = 0; i < v->count[l]; i++) {
      int rc = qx_edit_add(e, l, &v->files[l][i]->meta);
      if (rc != QX_OK) return rc;
    }
  e->parquet.has_olap_lsn = 1;
  e->parquet.olap_lsn = v->parquet->olap_lsn;
  for (size_t i = 0; i < v->parquet->count; i++) {
    int rc = qx_parquet_edit_add(&e->parquet, &v->parquet->files[i]->meta);
    if (rc != QX_OK) return rc;
  }
  return QX_OK;
}

static int write_header(qx_manifest *m) {
  uint8_t header[HEADER_SIZE];
  uint32_t version = MANIFEST_VERSION;
  memcpy(header, manifest_magic, sizeof manifest_magic);
  memcpy(header + 8, &version, 4);
  uint32_t crc = qx_crc32c(0, header, 12);
  memcpy(header + 12, &crc, 4);
  m->size = HEADER_SIZE;
  return qx_pwrite_all(m->fd, header, HEADER_SIZE, 0, m->path);
}

int qx_manifest_create(const char *dir, uint64_t number, const qx_version *v,
                       uint64_t next_file_number, const qx_totals *totals, qx_manifest **out) {
  qx_manifest *m = calloc(1, sizeof *m);
  if (!m) return qx_fail(QX_ERR_NOMEM, "out of memory for the MANIFEST");
  snprintf(m->path, sizeof m->path, "%s/MANIFEST-%06" PRIu64, dir, number);
  m->fd = qx_io_open(m->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (m->fd < 0) {
    int e = errno;
    free(m);
    return qx_fail_errno(QX_ERR_IO, e, "create MANIFEST in %s", dir);
  }
  qx_version_edit e = {0};
  int rc = write_header(m);
  if (rc == QX_OK) rc = snapshot_edit(v, next_file_number, totals, &e);
  if (rc == QX_OK) rc = qx_manifest_append(m, &e);
  qx_edit_free(&e);
  if (rc == QX_OK) rc = write_current(dir, number);
  if (rc != QX_OK) {
    qx_manifest_close(m);
    return rc;
  }
  remove_old_manifests(dir, number);
  *out = m;
  return QX_OK;
}

void qx_manifest_close(qx_manifest *m) {
  if (!m) return;
  close(m->fd);
  free(m);
}
