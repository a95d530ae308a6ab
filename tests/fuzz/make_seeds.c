/* Writes the seed corpora of the fuzz targets (docs/fuzzing.md), so that they can be made
 * again: real files made by the engine from a small seeded simulation (a WAL segment, table
 * files raw, LZ4 and Zstd, the MANIFEST, and CSV of every table as records print), variants of
 * them (two segments, a torn tail, damage in the middle, Parquet edits), and the inputs of the
 * known findings (finding-*): each a well-formed file, checksums included, but for the one
 * defect it is named after. Binary seeds start with the mode byte their target reads.
 * Usage: qaxdb-fuzz-make-seeds CORPUS_DIR   (writes CORPUS_DIR/<target>/<name>) */
#include <dirent.h>
#include <errno.h>
#include <lz4.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fix_checksums.h"
#include "fuzz.h"
#include "qaxdb/db.h"
#include "qaxdb/schema.h"
#include "record/text.h"
#include "sim/sim.h"
#include "sstable/format.h"
#include "wal/format.h"

#define NO_MODE (-1)
#define WAL_OPEN 2
#define WAL_OPEN_SALVAGE 6
#define ROWS_PER_TABLE 3
#define MAX_RECORD 512
#define WAL_SEED_ENTRIES 24

typedef struct image {
  uint8_t *p;
  size_t size;
} image;

static const char *corpus;

/* Records of each table seen during the simulation, for the CSV seeds. */
static uint8_t rows[QX_TABLE_MAX + 1][ROWS_PER_TABLE][MAX_RECORD];
static int row_count[QX_TABLE_MAX + 1];

static image read_image(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) fuzz_fail("open %s: %s", path, strerror(errno));
  fseek(f, 0, SEEK_END);
  image im = {NULL, (size_t)ftell(f)};
  rewind(f);
  im.p = malloc(im.size + 1);
  if (!im.p || fread(im.p, 1, im.size, f) != im.size) fuzz_fail("read %s", path);
  fclose(f);
  return im;
}

static image copy_image(image from, size_t size) {
  image im = {calloc(size + 1, 1), size};
  if (!im.p) fuzz_fail("out of memory");
  memcpy(im.p, from.p, from.size < size ? from.size : size);
  return im;
}

static void put_seed(const char *target, const char *name, int mode, image im) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", corpus, target);
  mkdir(path, 0755);
  snprintf(path, sizeof path, "%s/%s/%s", corpus, target, name);
  uint8_t *bytes = malloc(im.size + 1);
  if (!bytes) fuzz_fail("out of memory");
  size_t prefix = mode == NO_MODE ? 0 : 1;
  bytes[0] = (uint8_t)mode;
  memcpy(bytes + prefix, im.p, im.size);
  fuzz_write_file(path, bytes, im.size + prefix);
  free(bytes);
}

/* ---- the engine run ---- */

static void emit(void *ctx, uint16_t table_id, const void *record, uint32_t size) {
  if (qx_db_put_record(ctx, table_id, record, QX_DURABILITY_NONE, NULL) != QX_OK)
    fuzz_fail("put: %s", qx_last_error());
  if (table_id <= QX_TABLE_MAX && row_count[table_id] < ROWS_PER_TABLE && size <= MAX_RECORD)
    memcpy(rows[table_id][row_count[table_id]++], record, size);
}

static void simulate(qx_db *db, sim *s, int events) {
  for (int i = 0; i < events; i++) {
    qx_sim_next(s, emit, db);
    char key[32];
    int n = snprintf(key, sizeof key, "fuzz-raw-key-%d", i);
    if (qx_db_put(db, key, (size_t)n, "raw value", 9, QX_DURABILITY_NONE, NULL) != QX_OK ||
        (i % 3 == 0 && qx_db_delete(db, key, (size_t)n, QX_DURABILITY_NONE, NULL) != QX_OK))
      fuzz_fail("raw write: %s", qx_last_error());
  }
}

/* Two flushes and a compaction of a short simulation into dir. */
static void run_engine(const char *dir, qx_compression compression) {
  qx_db_options o;
  qx_db_options_init(&o);
  o.olap = 0;
  o.memtable_size = 64u << 10;
  o.compression = compression;
  o.wal.segment_size = 64u << 10;
  qx_db *db;
  sim_config c;
  qx_sim_config_init(&c);
  c.instruments = 2;
  c.accounts = 4;
  sim *s;
  if (qx_db_open(dir, &o, &db, NULL) != QX_OK || qx_sim_create(&c, &s) != QX_OK)
    fuzz_fail("start: %s", qx_last_error());
  for (int round = 0; round < 2; round++) {
    simulate(db, s, 60);
    if (qx_db_flush(db) != QX_OK) fuzz_fail("flush: %s", qx_last_error());
  }
  if (qx_db_compact(db) != QX_OK) fuzz_fail("compact: %s", qx_last_error());
  simulate(db, s, 10);
  qx_sim_destroy(s);
  if (qx_db_close(db) != QX_OK) fuzz_fail("close: %s", qx_last_error());
}

/* The file of dir whose name starts with prefix and sorts last (or first). */
static image file_in(const char *dir, const char *prefix, int last) {
  struct dirent **names;
  int n = scandir(dir, &names, NULL, alphasort);
  char path[PATH_MAX] = "";
  for (int i = 0; i < n; i++) {
    int match = strncmp(names[i]->d_name, prefix, strlen(prefix)) == 0;
    if (match && (last || !path[0])) snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
    free(names[i]);
  }
  if (n >= 0) free(names);
  if (!path[0]) fuzz_fail("no %s* in %s", prefix, dir);
  return read_image(path);
}

/* ---- WAL seeds ---- */

/* Offsets of the entries of a segment (ends[i]: where entry i ends); returns their number. */
static size_t wal_entries(image seg, size_t *ends, size_t cap) {
  size_t n = 0, at = WAL_SEGMENT_HEADER_SIZE;
  while (n < cap && seg.size - at >= WAL_ENTRY_HEADER_SIZE) {
    wal_entry_header h;
    memcpy(&h, seg.p + at, sizeof h);
    if (h.size == 0) break;
    at += wal_entry_span(h.size);
    ends[n++] = at;
  }
  return n;
}

/* The header and entries [from, to) of seg as a segment of its own, then 64 zero bytes. */
static image wal_part(image seg, const size_t *ends, size_t from, size_t to) {
  size_t begin = from ? ends[from - 1] : WAL_SEGMENT_HEADER_SIZE, body = ends[to - 1] - begin;
  image part = copy_image(seg, WAL_SEGMENT_HEADER_SIZE + body + 64);
  memcpy(part.p + WAL_SEGMENT_HEADER_SIZE, seg.p + begin, body);
  memset(part.p + WAL_SEGMENT_HEADER_SIZE + body, 0, 64);
  wal_segment_header h;
  memcpy(&h, part.p, sizeof h);
  h.first_lsn += from;
  memcpy(part.p, &h, sizeof h);
  fuzz_fix_wal_segment(part.p, part.size);
  return part;
}

static void wal_seeds(const char *wal_dir) {
  image seg = file_in(wal_dir, "0", 0);
  size_t ends[WAL_SEED_ENTRIES], n = wal_entries(seg, ends, WAL_SEED_ENTRIES);
  if (n < WAL_SEED_ENTRIES) fuzz_fail("only %zu WAL entries", n);
  image whole = wal_part(seg, ends, 0, n);
  put_seed("wal", "seed-segment", 0, whole);
  put_seed("wal", "seed-segment-open", WAL_OPEN, whole);
  put_seed("wal", "seed-segment-fix-open-salvage", WAL_OPEN_SALVAGE | 1, whole);

  image first = wal_part(seg, ends, 0, n / 2), second = wal_part(seg, ends, n / 2, n);
  image both = copy_image(first, first.size + second.size);
  memcpy(both.p + first.size, second.p, second.size);
  put_seed("wal", "seed-two-segments-open", WAL_OPEN, both);

  image torn = copy_image(whole, whole.size);
  memset(torn.p + ends[n - 2] + (ends[n - 1] - ends[n - 2]) / 2, 0, 8);
  put_seed("wal", "seed-torn-tail-open", WAL_OPEN, torn);

  image damaged = copy_image(whole, whole.size);
  damaged.p[ends[0] + WAL_ENTRY_HEADER_SIZE] ^= 0x40; /* payload of the second entry */
  put_seed("wal", "seed-damage-mid", 0, damaged);
  put_seed("wal", "seed-damage-mid-open-salvage", WAL_OPEN_SALVAGE, damaged);
  image list[] = {seg, whole, first, second, both, torn, damaged};
  for (size_t i = 0; i < sizeof list / sizeof list[0]; i++)
    free(list[i].p);
}

/* ---- MANIFEST seeds ---- */

static void put_u8(image *im, uint8_t v) {
  im->p[im->size++] = v;
}
static void put_bytes(image *im, const void *p, size_t n) {
  memcpy(im->p + im->size, p, n);
  im->size += n;
}

/* One edit with every Parquet field: the Parquet LSN, an added and a removed file. */
static void append_parquet_edit(image *im) {
  size_t frame = im->size;
  im->size += 8;
  uint64_t lsn = 40, first = 1, last = 40, rows = 40, bytes = 4096;
  uint16_t table = QX_TABLE_TRADES;
  int32_t day = 20416;
  put_u8(im, 5);
  put_bytes(im, &lsn, 8);
  for (uint8_t tag = 6; tag <= 7; tag++) {
    put_u8(im, tag);
    put_bytes(im, &table, 2);
    put_bytes(im, &day, 4);
    put_bytes(im, &first, 8);
    put_bytes(im, &last, 8);
    put_bytes(im, &rows, 8);
    put_bytes(im, &bytes, 8);
  }
  uint32_t length = (uint32_t)(im->size - frame - 8);
  memcpy(im->p + frame, &length, 4);
}

static void manifest_seeds(const char *dir) {
  image m = file_in(dir, "MANIFEST-", 1);
  put_seed("manifest", "seed-engine", 0, m);
  put_seed("manifest", "seed-engine-fix", 1, m);
  image torn = copy_image(m, m.size - 5);
  put_seed("manifest", "seed-torn-last-edit", 0, torn);
  image parquet = copy_image(m, m.size + 256);
  parquet.size = m.size;
  append_parquet_edit(&parquet);
  fuzz_fix_manifest(parquet.p, parquet.size);
  put_seed("manifest", "seed-parquet-edit", 0, parquet);
  free(m.p);
  free(torn.p);
  free(parquet.p);
}

/* ---- table file seeds and findings ---- */

static sst_footer footer_of(image t) {
  sst_footer f;
  memcpy(&f, t.p + t.size - SST_FOOTER_SIZE, sizeof f);
  return f;
}

static sst_index_entry index_entry_of(image t, uint32_t b) {
  sst_footer f = footer_of(t);
  uint64_t at = f.index_offset;
  sst_index_entry ie;
  for (uint32_t i = 0;; i++) {
    memcpy(&ie, t.p + at, sizeof ie);
    if (i == b) return ie;
    at += sizeof ie + sst_pad8(ie.key_len);
  }
}

static void set_stored_size(image t, uint32_t b, uint32_t stored) {
  sst_footer f = footer_of(t);
  uint64_t at = f.index_offset;
  for (uint32_t i = 0; i < b; i++) {
    sst_index_entry ie;
    memcpy(&ie, t.p + at, sizeof ie);
    at += sizeof ie + sst_pad8(ie.key_len);
  }
  memcpy(t.p + at + offsetof(sst_index_entry, stored_size), &stored, 4);
}

static void put_finding(const char *name, image t) {
  fuzz_fix_sstable(t.p, t.size);
  put_seed("sstable", name, 0, t);
  free(t.p);
}

/* The footer's block count 0xFFFFFFFF: the index allocation's size wrapped to 0. */
static void finding_block_count(image raw) {
  image t = copy_image(raw, raw.size);
  uint32_t count = 0xFFFFFFFFu;
  memcpy(t.p + t.size - SST_FOOTER_SIZE + offsetof(sst_footer, block_count), &count, 4);
  put_finding("finding-block-count-wraps", t);
}

/* A compressed block whose trailer claims almost 4 GiB before compression. */
static void finding_raw_size(image lz4) {
  image t = copy_image(lz4, lz4.size);
  for (uint32_t b = 0; b < footer_of(t).block_count; b++) {
    sst_index_entry ie = index_entry_of(t, b);
    sst_block_trailer tr;
    memcpy(&tr, t.p + ie.offset + ie.stored_size, sizeof tr);
    if (tr.compression == 0) continue;
    tr.raw_size = 0xFFFFFFF0u;
    memcpy(t.p + ie.offset + ie.stored_size, &tr, sizeof tr);
    put_finding("finding-raw-size-4gib", t);
    return;
  }
  fuzz_fail("no compressed block in the LZ4 table");
}

/* Block 0 stored raw in 2 bytes less than before, ending in offsets[1] = {0} and count 1: the
 * offset array is then 2 bytes off a 4-byte boundary. */
static void finding_misaligned(image raw) {
  image t = copy_image(raw, raw.size);
  sst_index_entry ie = index_entry_of(t, 0);
  uint32_t stored = ie.stored_size - 2, zero = 0, one = 1;
  uint8_t *block = t.p + ie.offset;
  memcpy(block + stored - 8, &zero, 4);
  memcpy(block + stored - 4, &one, 4);
  sst_block_trailer tr = {.compression = 0, .raw_size = stored};
  memcpy(block + stored, &tr, sizeof tr);
  set_stored_size(t, 0, stored);
  put_finding("finding-misaligned-offsets", t);
}

/* Block 0 as 3 bytes of LZ4 that decompress to 2 bytes, too few to hold the entry count. */
static void finding_short_block(image lz4) {
  image t = copy_image(lz4, lz4.size);
  sst_index_entry ie = index_entry_of(t, 0);
  static const uint8_t packed[3] = {0x20, 'a', 'b'}; /* token: 2 literal bytes, no match */
  char check[2];
  if (LZ4_decompress_safe((const char *)packed, check, 3, 2) != 2) fuzz_fail("bad LZ4 block");
  memcpy(t.p + ie.offset, packed, 3);
  sst_block_trailer tr = {.compression = 1, .raw_size = 2};
  memcpy(t.p + ie.offset + 3, &tr, sizeof tr);
  set_stored_size(t, 0, 3);
  put_finding("finding-count-before-size-check", t);
}

/* Block 0's middle entry with key length 0: a lookup's binary search meets it first. */
static void finding_malformed_entry(image raw) {
  image t = copy_image(raw, raw.size);
  sst_index_entry ie = index_entry_of(t, 0);
  uint8_t *block = t.p + ie.offset;
  uint32_t count, middle;
  memcpy(&count, block + ie.stored_size - 4, 4);
  if (count < 3) fuzz_fail("block 0 has %u entries", count);
  memcpy(&middle, block + ie.stored_size - 4 - (size_t)4 * (count - count / 2), 4);
  uint16_t zero = 0;
  memcpy(block + middle + offsetof(sst_entry_header, key_len), &zero, 2);
  put_finding("finding-malformed-entry-absent", t);
}

/* The newest table file of an engine folder: the output of its compaction. */
static image newest_table(const char *engine_dir) {
  char path[PATH_MAX + 8];
  snprintf(path, sizeof path, "%s/sst", engine_dir);
  return file_in(path, "0", 1);
}

static void sstable_seeds(const char *raw_dir, const char *lz4_dir, const char *zstd_dir) {
  image raw = newest_table(raw_dir), lz4 = newest_table(lz4_dir), zstd = newest_table(zstd_dir);
  put_seed("sstable", "seed-raw", 0, raw);
  put_seed("sstable", "seed-lz4", 0, lz4);
  put_seed("sstable", "seed-zstd-fix", 1, zstd);
  finding_block_count(raw);
  finding_raw_size(lz4);
  finding_misaligned(raw);
  finding_short_block(lz4);
  finding_malformed_entry(raw);
  free(raw.p);
  free(lz4.p);
  free(zstd.p);
}

/* ---- CSV seeds ---- */

static void put_field(FILE *f, const char *text) {
  if (!strpbrk(text, ",\"\r\n")) {
    fputs(text, f);
    return;
  }
  fputc('"', f);
  for (; *text; text++) {
    if (*text == '"') fputc('"', f);
    fputc(*text, f);
  }
  fputc('"', f);
}

static void csv_seed(const qx_schema *s) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  for (uint32_t c = 0; c < s->column_count; c++)
    fprintf(f, "%s%s", c ? "," : "", s->columns[c].name);
  static const uint8_t zero_record[MAX_RECORD];
  int n = row_count[s->table_id];
  for (int r = 0; r < (n ? n : 1); r++) {
    fputc('\n', f);
    for (uint32_t c = 0; c < s->column_count; c++) {
      char value[256];
      qx_format_column(&s->columns[c], n ? rows[s->table_id][r] : zero_record, value, sizeof value);
      if (c) fputc(',', f);
      put_field(f, value);
    }
  }
  fputc('\n', f);
  fclose(f);
  char name[64];
  snprintf(name, sizeof name, "seed-%s.csv", s->name);
  put_seed("csv", name, NO_MODE, (image){(uint8_t *)text, len});
  free(text);
}

static void csv_seeds(void) {
  for (int id = QX_TABLE_MIN; id <= QX_TABLE_MAX; id++)
    csv_seed(qx_schema_by_id(id));
  static const char forms[] = "account_id,currency,balance,ts\r\n"
                              "\"acct,01\",\"C\"\"NY\",.5,2026-11-24\r\n"
                              "\r\n"
                              "\"acct\n02\",USD,12.,2026-11-24 09:30:00\n"
                              "acct03,,-0.0005,2026-11-24T09:30:00.000000001Z\n";
  put_seed("csv", "seed-text-forms.csv", NO_MODE, (image){(uint8_t *)forms, sizeof forms - 1});
  /* The ends of the ranges: the earliest timestamp printed as a date the parser refused. */
  static const char extremes[] = "account_id,balance,ts\n"
                                 "acct05,-922337203685477.5808,-9223372036854775808\n"
                                 "acct06,922337203685477.5807,9223372036854775807\n";
  put_seed("csv", "finding-timestamp-min-round-trip.csv", NO_MODE,
           (image){(uint8_t *)extremes, sizeof extremes - 1});
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  corpus = argv[1];
  mkdir(corpus, 0755);
  char dirs[3][PATH_MAX];
  static const char *names[3] = {"raw", "lz4", "zstd"};
  for (int i = 0; i < 3; i++) {
    fuzz_empty_dir(names[i], dirs[i]);
    run_engine(dirs[i], (qx_compression)i);
  }
  char wal_dir[PATH_MAX + 8];
  snprintf(wal_dir, sizeof wal_dir, "%s/wal", dirs[0]);
  wal_seeds(wal_dir);
  manifest_seeds(dirs[0]);
  sstable_seeds(dirs[0], dirs[1], dirs[2]);
  csv_seeds();
  printf("seeds written to %s\n", corpus);
  return 0;
}
