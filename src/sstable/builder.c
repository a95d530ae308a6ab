/* Writing a table file (layout in format.h): entries are packed into a block until it reaches
 * the target size, each block is compressed if that saves at least 1/8, checksummed and
 * written through a 1 MiB buffer; the index, the bloom filter and the footer follow. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <lz4.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "sstable/bloom.h"
#include "sstable/format.h"
#include "sstable/sstable.h"
#include "util/crc32c.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/io.h"

#define WRITE_BUFFER (1u << 20)

typedef struct bytes {
  uint8_t *p;
  size_t len, cap;
} bytes;

struct qx_sst_builder {
  char path[4096];
  int fd;
  qx_sst_options opt;
  uint64_t file_offset; /* bytes of the file so far, buffered included */
  uint64_t flushed;     /* bytes already written to fd */
  bytes out;            /* write buffer */
  bytes block;          /* entries of the current block */
  bytes offsets;        /* u32 offset of each entry in the current block */
  bytes index;
  bytes hashes;  /* uint64 bloom hash per distinct user key */
  bytes scratch; /* compression output */
  uint32_t block_count;
  int has_last;
  qx_sst_meta meta;
  uint64_t last_lsn;
};

static int reserve(bytes *b, size_t more) {
  if (b->len + more <= b->cap) return QX_OK;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < b->len + more)
    cap *= 2;
  uint8_t *p = realloc(b->p, cap);
  if (!p) return qx_fail(QX_ERR_NOMEM, "out of memory building a table file");
  b->p = p;
  b->cap = cap;
  return QX_OK;
}

static int append(bytes *b, const void *data, size_t n) {
  int rc = reserve(b, n);
  if (rc != QX_OK) return rc;
  if (n) memcpy(b->p + b->len, data, n);
  b->len += n;
  return QX_OK;
}

static int append_zeros(bytes *b, size_t n) {
  int rc = reserve(b, n);
  if (rc != QX_OK) return rc;
  memset(b->p + b->len, 0, n);
  b->len += n;
  return QX_OK;
}

void qx_sst_options_init(qx_sst_options *o) {
  *o = (qx_sst_options){.compression = QX_SST_NONE, .bloom_bits_per_key = 10, .block_size = 4096};
}

int qx_sst_builder_create(const char *path, uint64_t file_number, const qx_sst_options *options,
                          qx_sst_builder **out) {
  qx_sst_options opt;
  if (options)
    opt = *options;
  else
    qx_sst_options_init(&opt);
  if (opt.block_size > SST_MAX_BLOCK_SIZE / 2) /* readers refuse larger blocks */
    return qx_fail(QX_ERR_INVALID_ARG, "%s: block size %" PRIu32 " is above the maximum of %u",
                   path, opt.block_size, SST_MAX_BLOCK_SIZE / 2);
  qx_sst_builder *b = calloc(1, sizeof *b);
  if (!b) return qx_fail(QX_ERR_NOMEM, "out of memory building %s", path);
  b->opt = opt;
  snprintf(b->path, sizeof b->path, "%s", path);
  b->meta.file_number = file_number;
  b->fd = qx_io_open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (b->fd < 0) {
    int e = errno;
    free(b);
    return qx_fail_errno(QX_ERR_IO, e, "create %s", path);
  }
  *out = b;
  return QX_OK;
}

/* Writes out the buffered bytes once there are enough of them (or all, if force). */
static int drain(qx_sst_builder *b, int force) {
  if (b->out.len == 0 || (!force && b->out.len < WRITE_BUFFER)) return QX_OK;
  int rc = qx_pwrite_all(b->fd, b->out.p, b->out.len, b->flushed, b->path);
  b->flushed += b->out.len;
  b->out.len = 0;
  return rc;
}

static int emit(qx_sst_builder *b, const void *data, size_t n) {
  int rc = append(&b->out, data, n);
  b->file_offset += n;
  return rc == QX_OK ? drain(b, 0) : rc;
}

/* Compresses raw into b->scratch; returns the compressed size, or 0 to store it raw. */
static size_t compress_block(qx_sst_builder *b, const uint8_t *raw, size_t len) {
  size_t bound = b->opt.compression == QX_SST_LZ4 ? (size_t)LZ4_compressBound((int)len)
                                                  : ZSTD_compressBound(len);
  if (reserve(&b->scratch, bound) != QX_OK) return 0;
  size_t n = 0;
  if (b->opt.compression == QX_SST_LZ4) {
    int r = LZ4_compress_default((const char *)raw, (char *)b->scratch.p, (int)len, (int)bound);
    n = r > 0 ? (size_t)r : 0;
  } else {
    size_t r = ZSTD_compress(b->scratch.p, bound, raw, len, 1);
    n = ZSTD_isError(r) ? 0 : r;
  }
  return n && n <= len - len / 8 ? n : 0; /* worth it only if it saves 1/8 */
}

static int write_index_entry(qx_sst_builder *b, uint64_t offset, uint32_t stored) {
  sst_index_entry ie = {offset, stored, b->meta.largest_len, b->last_lsn};
  int rc = append(&b->index, &ie, sizeof ie);
  if (rc == QX_OK) rc = append(&b->index, b->meta.largest, b->meta.largest_len);
  if (rc == QX_OK)
    rc = append_zeros(&b->index, sst_pad8(b->meta.largest_len) - b->meta.largest_len);
  return rc;
}

static int finish_block(qx_sst_builder *b) {
  uint32_t count = (uint32_t)(b->offsets.len / 4);
  if (count == 0) return QX_OK;
  int rc = append(&b->block, b->offsets.p, b->offsets.len);
  if (rc == QX_OK) rc = append(&b->block, &count, 4);
  if (rc != QX_OK) return rc;
  size_t raw = b->block.len;
  size_t packed = b->opt.compression == QX_SST_NONE ? 0 : compress_block(b, b->block.p, raw);
  const uint8_t *stored = packed ? b->scratch.p : b->block.p;
  size_t stored_len = packed ? packed : raw;
  sst_block_trailer t = {.compression = (uint8_t)(packed ? b->opt.compression : QX_SST_NONE),
                         .raw_size = (uint32_t)raw};
  t.crc = qx_crc32c(qx_crc32c(0, stored, stored_len), &t, 8);
  uint64_t offset = b->file_offset;
  static const uint8_t zeros[8];
  rc = emit(b, stored, stored_len);
  if (rc == QX_OK) rc = emit(b, &t, sizeof t);
  if (rc == QX_OK) rc = emit(b, zeros, sst_pad8(stored_len) - stored_len);
  if (rc == QX_OK) rc = write_index_entry(b, offset, (uint32_t)stored_len);
  b->block_count++;
  b->block.len = 0;
  b->offsets.len = 0;
  return rc;
}

static size_t entry_size(const qx_ientry *e) {
  return sizeof(sst_entry_header) + sst_pad8(e->key_len) + sst_pad8(e->value_len);
}

static int check_order(const qx_sst_builder *b, const qx_ientry *e) {
  if (e->key_len == 0 || e->key_len > QX_DB_MAX_KEY || e->value_len > QX_DB_MAX_VALUE)
    return qx_fail(QX_ERR_INVALID_ARG, "%s: entry key or value length out of range", b->path);
  if (b->has_last && qx_ikey_cmp(b->meta.largest, b->meta.largest_len, b->last_lsn, e->key,
                                 e->key_len, e->lsn) >= 0)
    return qx_fail(QX_ERR_INVALID_ARG, "%s: entries out of order", b->path);
  return QX_OK;
}

static int add_hash(qx_sst_builder *b, const qx_ientry *e) {
  if (b->has_last && qx_user_key_cmp(b->meta.largest, b->meta.largest_len, e->key, e->key_len) == 0)
    return QX_OK;
  uint64_t h = qx_bloom_hash(e->key, e->key_len);
  return append(&b->hashes, &h, sizeof h);
}

static void note_entry(qx_sst_builder *b, const qx_ientry *e) {
  qx_sst_meta *m = &b->meta;
  if (!b->has_last) {
    memcpy(m->smallest, e->key, e->key_len);
    m->smallest_len = e->key_len;
    m->min_lsn = m->max_lsn = e->lsn;
  }
  memcpy(m->largest, e->key, e->key_len);
  m->largest_len = e->key_len;
  if (e->lsn < m->min_lsn) m->min_lsn = e->lsn;
  if (e->lsn > m->max_lsn) m->max_lsn = e->lsn;
  m->entry_count++;
  m->tombstone_count += e->kind == QX_KIND_DELETE;
  b->last_lsn = e->lsn;
  b->has_last = 1;
}

int qx_sst_builder_add(qx_sst_builder *b, const qx_ientry *e) {
  int rc = check_order(b, e);
  size_t need = entry_size(e) + b->offsets.len + 8;
  if (rc == QX_OK && b->block.len && b->block.len + need > b->opt.block_size) rc = finish_block(b);
  if (rc == QX_OK) rc = add_hash(b, e);
  if (rc != QX_OK) return rc;
  uint32_t at = (uint32_t)b->block.len;
  sst_entry_header h = {
      .lsn = e->lsn, .value_len = e->value_len, .key_len = (uint16_t)e->key_len, .kind = e->kind};
  rc = append(&b->offsets, &at, 4);
  if (rc == QX_OK) rc = append(&b->block, &h, sizeof h);
  if (rc == QX_OK) rc = append(&b->block, e->key, e->key_len);
  if (rc == QX_OK) rc = append_zeros(&b->block, sst_pad8(e->key_len) - e->key_len);
  if (rc == QX_OK) rc = append(&b->block, e->value, e->value_len);
  if (rc == QX_OK) rc = append_zeros(&b->block, sst_pad8(e->value_len) - e->value_len);
  if (rc == QX_OK) note_entry(b, e);
  return rc;
}

uint64_t qx_sst_builder_size(const qx_sst_builder *b) {
  return b->file_offset + b->block.len;
}

uint64_t qx_sst_builder_entry_count(const qx_sst_builder *b) {
  return b->meta.entry_count;
}

static int write_tail(qx_sst_builder *b) {
  sst_footer f = {.entry_count = b->meta.entry_count,
                  .block_count = b->block_count,
                  .compression = (uint8_t)b->opt.compression,
                  .format_version = SST_FORMAT_VERSION};
  f.index_offset = b->file_offset;
  f.index_size = (uint32_t)b->index.len;
  f.index_crc = qx_crc32c(0, b->index.p, b->index.len);
  int rc = emit(b, b->index.p, b->index.len);
  size_t n = b->hashes.len / 8, size = qx_bloom_size(n, b->opt.bloom_bits_per_key);
  uint8_t *filter = malloc(size);
  if (!filter) return qx_fail(QX_ERR_NOMEM, "out of memory building %s", b->path);
  qx_bloom_build((const uint64_t *)(void *)b->hashes.p, n, b->opt.bloom_bits_per_key, filter);
  f.bloom_offset = b->file_offset;
  f.qx_bloom_size = (uint32_t)size;
  f.bloom_crc = qx_crc32c(0, filter, size);
  if (rc == QX_OK) rc = emit(b, filter, size);
  free(filter);
  static const uint8_t zeros[8];
  if (rc == QX_OK) rc = emit(b, zeros, sst_pad8(b->file_offset) - b->file_offset);
  memcpy(f.magic, SST_MAGIC, 8);
  f.footer_crc = qx_crc32c(0, &f, 52);
  if (rc == QX_OK) rc = emit(b, &f, sizeof f);
  return rc;
}

static void free_builder(qx_sst_builder *b) {
  free(b->out.p);
  free(b->block.p);
  free(b->offsets.p);
  free(b->index.p);
  free(b->hashes.p);
  free(b->scratch.p);
  free(b);
}

int qx_sst_builder_finish(qx_sst_builder *b, qx_sst_meta *meta) {
  int rc = finish_block(b);
  if (rc == QX_OK) rc = write_tail(b);
  if (rc == QX_OK) rc = drain(b, 1);
  if (rc == QX_OK && qx_io_fdatasync(b->fd) != 0)
    rc = qx_fail_errno(QX_ERR_IO, errno, "fdatasync %s", b->path);
  if (close(b->fd) != 0 && rc == QX_OK) rc = qx_fail_errno(QX_ERR_IO, errno, "close %s", b->path);
  if (rc != QX_OK) {
    qx_io_unlink(b->path);
    free_builder(b);
    return rc;
  }
  b->meta.file_size = b->file_offset;
  *meta = b->meta;
  free_builder(b);
  return QX_OK;
}

void qx_sst_builder_abandon(qx_sst_builder *b) {
  if (!b) return;
  close(b->fd);
  qx_io_unlink(b->path);
  free_builder(b);
}
