/* Table files on their own: building and reading back (raw, LZ4, Zstd) against a model, values
 * in place and aligned, seeks, the bloom filter's false-positive rate, the block cache,
 * damage to a data block, the index, the bloom filter and the footer, and crafted files whose
 * lengths and counts lie (each a defect the fuzz target found, tests/fuzz). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "fix_checksums.h"
#include "sstable/format.h"
#include "sstable/sstable.h"

#define KEYS 20000
#define VERSIONS 3

static char dir[PATH_MAX];

static size_t key_of(int k, char *out) {
  return (size_t)sprintf(out, "user%06d", 2 * k);
}

/* Key k has versions at LSNs base(k)+0..2 (newest has the highest LSN); version 1 of every
 * 10th key is a delete; every 1000th key's newest value is 64 KiB. */
static uint64_t lsn_of(int k, int v) {
  return (uint64_t)k * VERSIONS + (uint64_t)v + 1;
}
static int is_delete(int k, int v) {
  return k % 10 == 0 && v == 1;
}

static size_t value_of(int k, int v, uint8_t *out) {
  size_t len = k % 1000 == 0 && v == VERSIONS - 1 ? 65536 : (size_t)(k % 200);
  for (size_t i = 0; i < len; i++)
    out[i] = (uint8_t)(k + v + i / 64);
  return len;
}

static void build(const char *path, int compression) {
  qx_sst_options o;
  qx_sst_options_init(&o);
  o.compression = compression;
  qx_sst_builder *b;
  CHECK_OK(qx_sst_builder_create(path, 1, &o, &b));
  static uint8_t value[65536];
  for (int k = 0; k < KEYS; k++)
    for (int v = VERSIONS - 1; v >= 0; v--) { /* internal order: newest LSN first */
      char key[16];
      size_t klen = key_of(k, key);
      qx_ientry e = {(const uint8_t *)key,
                     (uint32_t)klen,
                     (uint8_t)!is_delete(k, v),
                     lsn_of(k, v),
                     value,
                     is_delete(k, v) ? 0 : (uint32_t)value_of(k, v, value)};
      CHECK_OK(qx_sst_builder_add(b, &e));
    }
  qx_ientry bad = {(const uint8_t *)"a", 1, QX_KIND_PUT, 1, NULL, 0};
  CHECK_RC(qx_sst_builder_add(b, &bad), QX_ERR_INVALID_ARG); /* out of order */
  qx_sst_meta m;
  CHECK_OK(qx_sst_builder_finish(b, &m));
  CHECK_EQ_U64(m.entry_count, KEYS * VERSIONS);
  CHECK_EQ_U64(m.min_lsn, 1);
  CHECK_EQ_U64(m.max_lsn, lsn_of(KEYS - 1, VERSIONS - 1));
  CHECK(m.smallest_len == 10 && memcmp(m.smallest, "user000000", 10) == 0);
}

static void check_get(qx_sst *t, qx_block_cache *cache, int k, int snapshot_version,
                      int compressed) {
  char key[16];
  size_t klen = key_of(k, key);
  qx_ientry e;
  qx_cache_handle *pin;
  int rc = qx_sst_get(t, (const uint8_t *)key, klen, lsn_of(k, snapshot_version), &e, &pin);
  CHECK(rc == 1);
  if (rc != 1) return;
  CHECK_EQ_U64(e.lsn, lsn_of(k, snapshot_version));
  CHECK_EQ_U64(e.kind, is_delete(k, snapshot_version) ? QX_KIND_DELETE : QX_KIND_PUT);
  static uint8_t expect[65536];
  size_t len = is_delete(k, snapshot_version) ? 0 : value_of(k, snapshot_version, expect);
  CHECK(e.value_len == len && memcmp(e.value, expect, len) == 0);
  CHECK(((uintptr_t)e.value & 7) == 0);
  if (!compressed) CHECK(pin == NULL);
  qx_block_cache_release(cache, pin);
}

static void check_reads(const char *path, int compressed) {
  qx_block_cache *cache;
  CHECK_OK(qx_block_cache_create(8u << 20, &cache));
  qx_sst_counters counters = {0};
  qx_sst *t;
  CHECK_OK(qx_sst_open(path, 1, cache, &counters, &t));
  for (int k = 0; k < KEYS; k += 7)
    for (int v = 0; v < VERSIONS; v++)
      check_get(t, cache, k, v, compressed);
  char key[16];
  qx_ientry e;
  qx_cache_handle *pin;
  size_t klen = key_of(5, key);
  CHECK(qx_sst_get(t, (const uint8_t *)key, klen, lsn_of(5, 0) - 1, &e, &pin) == 0);
  CHECK(qx_sst_get(t, (const uint8_t *)"user000001", 10, UINT64_MAX, &e, &pin) == 0);

  qx_iter *it;
  CHECK_OK(qx_sst_iter_create(t, &it));
  uint64_t n = 0;
  for (qx_iter_seek_first(it); qx_iter_valid(it); qx_iter_next(it), n++) {
    const qx_ientry *x = qx_iter_entry(it);
    int k = (int)(n / VERSIONS), v = VERSIONS - 1 - (int)(n % VERSIONS);
    if (x->lsn != lsn_of(k, v)) {
      CHECK_EQ_U64(x->lsn, lsn_of(k, v));
      break;
    }
  }
  CHECK_OK(qx_iter_status(it));
  CHECK_EQ_U64(n, KEYS * VERSIONS);
  qx_iter_seek(it, (const uint8_t *)"user000001", 10, UINT64_MAX); /* between two keys */
  CHECK(qx_iter_valid(it) && memcmp(qx_iter_entry(it)->key, "user000002", 10) == 0);
  klen = key_of(8, key);
  qx_iter_seek(it, (const uint8_t *)key, klen, lsn_of(8, 1)); /* inside one key's versions */
  CHECK(qx_iter_valid(it) && qx_iter_entry(it)->lsn == lsn_of(8, 1));
  qx_iter_seek(it, (const uint8_t *)"zzz", 3, UINT64_MAX);
  CHECK(!qx_iter_valid(it));
  qx_iter_destroy(it);

  uint64_t hits, misses, used;
  qx_block_cache_counters(cache, &hits, &misses, &used);
  if (compressed) CHECK(hits > 0 && used > 0 && used <= (8u << 20) + 65536 * 2);
  qx_sst_unref(t);
  qx_block_cache_destroy(cache);
  uint64_t entries;
  CHECK_OK(qx_sst_verify(path, &entries));
  CHECK_EQ_U64(entries, KEYS * VERSIONS);
}

static void test_round_trip(int compression, const char *name) {
  char path[PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/%s.sst", dir, name);
  build(path, compression);
  check_reads(path, compression != QX_SST_NONE);
  struct stat st;
  CHECK(stat(path, &st) == 0);
  printf("%s: %lld bytes for %d entries\n", name, (long long)st.st_size, KEYS * VERSIONS);
}

static void test_bloom_rate(void) {
  char path[PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/none.sst", dir);
  qx_sst_counters c = {0};
  qx_sst *t;
  CHECK_OK(qx_sst_open(path, 1, NULL, &c, &t));
  for (int i = 0; i < 100000; i++) {
    char key[24];
    int n = sprintf(key, "absent%08d", i);
    qx_ientry e;
    qx_cache_handle *pin;
    CHECK(qx_sst_get(t, (const uint8_t *)key, (size_t)n, UINT64_MAX, &e, &pin) == 0);
  }
  double rate = (double)c.bloom_false_positives / (double)c.bloom_checks;
  printf("bloom: %llu false positives in %llu absent keys (%.3f%%)\n",
         (unsigned long long)c.bloom_false_positives, (unsigned long long)c.bloom_checks,
         100 * rate);
  CHECK_EQ_U64(c.bloom_checks, 100000);
  CHECK(rate <= 0.01);
  qx_sst_unref(t);
}

static void copy_file(const char *from, const char *to) {
  char cmd[3 * PATH_MAX];
  snprintf(cmd, sizeof cmd, "cp '%s' '%s'", from, to);
  CHECK(system(cmd) == 0);
}

/* Damage at offset (negative: from the end) must fail open (or, for a data block, reads). */
static void expect_damage(const char *name, long offset, int open_fails, int status,
                          const char *words) {
  char good[PATH_MAX + 32], bad[PATH_MAX + 32];
  snprintf(good, sizeof good, "%s/none.sst", dir);
  snprintf(bad, sizeof bad, "%s/%s.sst", dir, name);
  copy_file(good, bad);
  test_flip_byte(bad, offset < 0 ? test_file_size(bad) + offset : offset);
  qx_sst *t = NULL;
  int rc = qx_sst_open(bad, 9, NULL, NULL, &t);
  if (open_fails) {
    CHECK_RC(rc, status);
  } else {
    CHECK_OK(rc);
    qx_iter *it;
    CHECK_OK(qx_sst_iter_create(t, &it));
    qx_iter_seek_first(it);
    CHECK(!qx_iter_valid(it));
    CHECK_RC(qx_iter_status(it), status);
    qx_iter_destroy(it);
    qx_sst_unref(t);
  }
  if (!strstr(qx_last_error(), bad) || !strstr(qx_last_error(), words))
    fprintf(stderr, "%s: unexpected message: %s\n", name, qx_last_error());
  CHECK(strstr(qx_last_error(), bad) != NULL && strstr(qx_last_error(), words) != NULL);
  CHECK(qx_sst_verify(bad, NULL) == status);
}

static void test_damage(void) {
  expect_damage("block", 40, 0, QX_ERR_CORRUPT, "block checksum mismatch at offset 0");
  expect_damage("footer", -20, 1, QX_ERR_CORRUPT, "footer checksum mismatch");
  expect_damage("magic", -3, 1, QX_ERR_FORMAT, "bad magic");
  /* The footer says where index and bloom are; damage each one byte after its start. */
  char good[PATH_MAX + 32];
  snprintf(good, sizeof good, "%s/none.sst", dir);
  int fd = open(good, O_RDONLY);
  uint64_t index_offset = 0, bloom_offset = 0;
  CHECK(pread(fd, &index_offset, 8, test_file_size(good) - 64) == 8);
  CHECK(pread(fd, &bloom_offset, 8, test_file_size(good) - 64 + 16) == 8);
  close(fd);
  expect_damage("index", (long)index_offset + 30, 1, QX_ERR_CORRUPT, "index checksum mismatch");
  expect_damage("bloom", (long)bloom_offset + 3, 1, QX_ERR_CORRUPT, "bloom filter checksum");
  char cut[PATH_MAX + 32];
  snprintf(cut, sizeof cut, "%s/cut.sst", dir);
  copy_file(good, cut);
  CHECK(truncate(cut, test_file_size(cut) - 100) == 0);
  qx_sst *t;
  CHECK(qx_sst_open(cut, 9, NULL, NULL, &t) < 0);
  CHECK(strstr(qx_last_error(), cut) != NULL);
}

/* ---- hostile table files (issue #12): well-formed but for one defect, checksums valid ---- */

#define SMALL_KEYS 300

static void build_small(const char *path, int compression) {
  qx_sst_options o;
  qx_sst_options_init(&o);
  o.compression = compression;
  qx_sst_builder *b;
  CHECK_OK(qx_sst_builder_create(path, 1, &o, &b));
  static const char value[] = "value-value-value-value!";
  for (int k = 0; k < SMALL_KEYS; k++) {
    char key[16];
    int n = sprintf(key, "key%05d", k);
    qx_ientry e = {(const uint8_t *)key, (uint32_t)n, QX_KIND_PUT, (uint64_t)k + 1, value, 24};
    CHECK_OK(qx_sst_builder_add(b, &e));
  }
  qx_sst_meta m;
  CHECK_OK(qx_sst_builder_finish(b, &m));
}

typedef struct table_image {
  uint8_t *p;
  size_t size;
  sst_footer footer;
  uint64_t index_at; /* where block 0's index entry lies */
  sst_index_entry block0;
} table_image;

static table_image load_image(const char *path) {
  table_image t = {0};
  t.size = (size_t)test_file_size(path);
  t.p = malloc(t.size);
  FILE *f = fopen(path, "rb");
  if (!f || !t.p || fread(t.p, 1, t.size, f) != t.size) {
    fprintf(stderr, "cannot read %s\n", path);
    exit(1);
  }
  fclose(f);
  memcpy(&t.footer, t.p + t.size - SST_FOOTER_SIZE, sizeof t.footer);
  t.index_at = t.footer.index_offset;
  memcpy(&t.block0, t.p + t.index_at, sizeof t.block0);
  return t;
}

/* Writes the patched image as dir/name.sst with every checksum made valid again. */
static void save_image(table_image *t, const char *name, char *path, size_t cap) {
  memcpy(t->p + t->index_at, &t->block0, sizeof t->block0);
  memcpy(t->p + t->size - SST_FOOTER_SIZE, &t->footer, sizeof t->footer);
  fuzz_fix_sstable(t->p, t->size);
  snprintf(path, cap, "%s/%s.sst", dir, name);
  FILE *f = fopen(path, "wb");
  CHECK(f && fwrite(t->p, 1, t->size, f) == t->size);
  if (f) fclose(f);
  free(t->p);
}

static void put_trailer(table_image *t, uint64_t at, uint8_t compression, uint32_t raw_size) {
  sst_block_trailer tr = {.compression = compression, .raw_size = raw_size};
  memcpy(t->p + at, &tr, sizeof tr);
}

/* The first entry of the file through an iterator: the status the walk ends with. */
static int first_entry_status(const char *path, qx_block_cache *cache) {
  qx_sst *t;
  int rc = qx_sst_open(path, 7, cache, NULL, &t);
  CHECK_OK(rc);
  if (rc != QX_OK) return rc;
  qx_iter *it;
  CHECK_OK(qx_sst_iter_create(t, &it));
  qx_iter_seek_first(it);
  rc = qx_iter_status(it);
  qx_iter_destroy(it);
  qx_sst_unref(t);
  qx_block_cache_erase_file(cache, 7);
  return rc;
}

static void expect_error_names(const char *path, const char *words) {
  int ok = strstr(qx_last_error(), path) && strstr(qx_last_error(), words);
  if (!ok) fprintf(stderr, "expected '%s' about %s: %s\n", words, path, qx_last_error());
  CHECK(ok);
}

/* A footer claiming 0xFFFFFFFF blocks (its CRC valid) made the index allocation wrap to 0. */
static void test_block_count_wraps(const char *raw) {
  table_image t = load_image(raw);
  t.footer.block_count = 0xFFFFFFFFu;
  char path[PATH_MAX + 32];
  save_image(&t, "block-count", path, sizeof path);
  qx_sst *s;
  CHECK_RC(qx_sst_open(path, 7, NULL, NULL, &s), QX_ERR_CORRUPT);
  expect_error_names(path, "cannot hold 4294967295 blocks");
}

/* A compressed block whose trailer claims almost 4 GiB was allocated that size. */
static void test_raw_size_bounded(const char *lz4, qx_block_cache *cache) {
  table_image t = load_image(lz4);
  put_trailer(&t, t.block0.offset + t.block0.stored_size, QX_SST_LZ4, 0xFFFFFFF0u);
  char path[PATH_MAX + 32];
  save_image(&t, "raw-size", path, sizeof path);
  CHECK_RC(first_entry_status(path, cache), QX_ERR_CORRUPT);
  expect_error_names(path, "exceeds the format's maximum");
}

/* A raw block 2 bytes shorter (ending in offsets {0} and count 1) put its offset array off a
 * 4-byte boundary, and the reader loaded it as uint32_t. */
static void test_misaligned_block(const char *raw, qx_block_cache *cache) {
  table_image t = load_image(raw);
  uint32_t stored = t.block0.stored_size - 2, zero = 0, one = 1;
  memcpy(t.p + t.block0.offset + stored - 8, &zero, 4);
  memcpy(t.p + t.block0.offset + stored - 4, &one, 4);
  put_trailer(&t, t.block0.offset + stored, QX_SST_NONE, stored);
  t.block0.stored_size = stored;
  char path[PATH_MAX + 32];
  save_image(&t, "misaligned", path, sizeof path);
  CHECK_RC(first_entry_status(path, cache), QX_ERR_CORRUPT);
  expect_error_names(path, "not a multiple of 4");
}

/* A block of 2 bytes (3 bytes of LZ4): its entry count was read 2 bytes before the block. */
static void test_block_too_short(const char *lz4, qx_block_cache *cache) {
  table_image t = load_image(lz4);
  memcpy(t.p + t.block0.offset,
         "\x20"
         "ab",
         3); /* LZ4: a token for 2 literals, then them */
  put_trailer(&t, t.block0.offset + 3, QX_SST_LZ4, 2);
  t.block0.stored_size = 3;
  char path[PATH_MAX + 32];
  save_image(&t, "short-block", path, sizeof path);
  CHECK_RC(first_entry_status(path, cache), QX_ERR_CORRUPT);
  expect_error_names(path, "too short");
}

/* A malformed entry met by a lookup's binary search ended it as "absent". */
static void test_malformed_entry_in_lookup(const char *raw) {
  table_image t = load_image(raw);
  uint8_t *block = t.p + t.block0.offset;
  uint32_t count, middle;
  memcpy(&count, block + t.block0.stored_size - 4, 4);
  memcpy(&middle, block + t.block0.stored_size - 4 - (size_t)4 * (count - count / 2), 4);
  uint16_t no_key = 0;
  memcpy(block + middle + offsetof(sst_entry_header, key_len), &no_key, 2);
  char path[PATH_MAX + 32];
  save_image(&t, "malformed-entry", path, sizeof path);
  qx_sst *s;
  CHECK_OK(qx_sst_open(path, 7, NULL, NULL, &s));
  qx_ientry e;
  qx_cache_handle *pin;
  CHECK_RC(qx_sst_get(s, (const uint8_t *)"key00000", 8, UINT64_MAX, &e, &pin), QX_ERR_CORRUPT);
  expect_error_names(path, "malformed entry");
  qx_iter *it;
  CHECK_OK(qx_sst_iter_create(s, &it));
  qx_iter_seek(it, (const uint8_t *)"key00000", 8, UINT64_MAX);
  CHECK(!qx_iter_valid(it));
  CHECK_RC(qx_iter_status(it), QX_ERR_CORRUPT);
  qx_iter_destroy(it);
  qx_sst_unref(s);
}

static void test_hostile_files(void) {
  char raw[PATH_MAX + 32], lz4[PATH_MAX + 32];
  snprintf(raw, sizeof raw, "%s/small-raw.sst", dir);
  snprintf(lz4, sizeof lz4, "%s/small-lz4.sst", dir);
  build_small(raw, QX_SST_NONE);
  build_small(lz4, QX_SST_LZ4);
  qx_block_cache *cache;
  CHECK_OK(qx_block_cache_create(1u << 20, &cache));
  test_block_count_wraps(raw);
  test_raw_size_bounded(lz4, cache);
  test_misaligned_block(raw, cache);
  test_block_too_short(lz4, cache);
  test_malformed_entry_in_lookup(raw);
  qx_block_cache_destroy(cache);
}

int main(void) {
  test_tmpdir(dir, "sstable");
  test_round_trip(QX_SST_NONE, "none");
  test_round_trip(QX_SST_LZ4, "lz4");
  test_round_trip(QX_SST_ZSTD, "zstd");
  test_bloom_rate();
  test_damage();
  test_hostile_files();
  test_rmtree(dir);
  return test_finish("test_sstable");
}
