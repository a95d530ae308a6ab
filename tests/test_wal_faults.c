/* Fault injection on a closed WAL, each with its documented outcome (docs/formats/wal.md):
 * a torn tail is cut and reported; damage before the tail stops open with QX_ERR_CORRUPT and
 * the file and offset; salvage cuts at the damage; zeroed unused space is normal; a bad magic
 * or version is QX_ERR_FORMAT; a missing segment is corruption; a lost tail at a segment
 * boundary (zeros, the next segment naming this one) is cut and the later segments removed,
 * while damage there is corruption; a batch whose end is missing is cut whole. Then failures
 * of the file I/O layer (src/util/io_fault.h) while the log is open: the Nth write, sync,
 * rename, preallocation or create fails, and every acknowledged batch is there, no partial
 * batch is visible before or after a reopen, and the log refuses appends after the failure,
 * naming its cause. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <unistd.h>

#include "check.h"
#include "qaxdb/wal.h"
#include "util/crc32c.h"
#include "util/io_fault.h"
#include "wal/format.h"
#include "wal/segment.h"
#include "wal_util.h"

#define ENTRIES 100
#define SMALL_SEGMENT (64u << 10)

typedef struct test_log {
  char dir[PATH_MAX];
  char first_segment[PATH_MAX];
  uint64_t offset[ENTRIES + 2]; /* offset[lsn] in the first segment; offset[ENTRIES+1]: end */
} test_log;

/* A closed log of ENTRIES entries (LSN 1..ENTRIES, seq = LSN - 1) in one segment. */
static void make_log(test_log *log, const char *tag) {
  test_tmpdir(log->dir, tag);
  qx_wal_segment_path(log->first_segment, PATH_MAX, log->dir, 1);
  qx_wal *wal;
  CHECK_OK(qx_wal_open(log->dir, NULL, &wal, NULL));
  CHECK_OK(test_append_n(wal, 0, ENTRIES, QX_DURABILITY_GROUP));
  CHECK_OK(qx_wal_close(wal));
  uint8_t buf[TEST_PAYLOAD_MAX];
  log->offset[1] = WAL_SEGMENT_HEADER_SIZE;
  for (uint64_t lsn = 1; lsn <= ENTRIES; lsn++)
    log->offset[lsn + 1] = log->offset[lsn] + wal_entry_span(test_payload(0, lsn - 1, buf));
}

static void poke(const char *path, uint64_t offset, const void *bytes, size_t n) {
  int fd = open(path, O_WRONLY);
  CHECK(fd >= 0);
  CHECK(pwrite(fd, bytes, n, (off_t)offset) == (ssize_t)n);
  close(fd);
}

static void flip_bit(const char *path, uint64_t offset) {
  int fd = open(path, O_RDWR);
  uint8_t b = 0;
  CHECK(pread(fd, &b, 1, (off_t)offset) == 1);
  b ^= 0x10;
  CHECK(pwrite(fd, &b, 1, (off_t)offset) == 1);
  close(fd);
}

static int error_names(const char *path, uint64_t offset) {
  char where[64];
  snprintf(where, sizeof where, "offset %llu", (unsigned long long)offset);
  int ok = strstr(qx_last_error(), path) && strstr(qx_last_error(), where);
  if (!ok) fprintf(stderr, "error does not name %s and %s: %s\n", path, where, qx_last_error());
  return ok;
}

static test_replay scan(const char *dir) {
  test_replay r = {0};
  CHECK_OK(qx_wal_scan(dir, 1, test_replay_visit, &r, NULL));
  return r;
}

/* A crash in the middle of writing entry 101: half a header and some payload bytes. */
static void test_torn_tail_is_truncated(void) {
  test_log log;
  make_log(&log, "fault-torn");
  uint8_t partial[40];
  memset(partial, 0xA5, sizeof partial);
  poke(log.first_segment, log.offset[ENTRIES + 1], partial, sizeof partial);

  qx_wal_recovery rec;
  CHECK_OK(qx_wal_scan(log.dir, 1, NULL, NULL, &rec)); /* check reports, does not fail */
  CHECK_EQ_U64(rec.truncated_bytes, sizeof partial);

  qx_wal *wal;
  CHECK_OK(qx_wal_open(log.dir, NULL, &wal, &rec));
  CHECK_EQ_U64(rec.last_lsn, ENTRIES);
  CHECK_EQ_U64(rec.truncated_offset, log.offset[ENTRIES + 1]);
  CHECK_EQ_U64(rec.truncated_bytes, sizeof partial);
  CHECK_STR(rec.truncated_file, log.first_segment);
  CHECK_OK(test_append_n(wal, ENTRIES, 1, QX_DURABILITY_GROUP));
  CHECK_EQ_U64(qx_wal_last_lsn(wal), ENTRIES + 1);
  CHECK_OK(qx_wal_close(wal));

  CHECK_OK(qx_wal_open(log.dir, NULL, &wal, &rec)); /* the torn bytes are gone for good */
  CHECK_EQ_U64(rec.truncated_bytes, 0);
  CHECK_OK(qx_wal_close(wal));
  test_replay r = scan(log.dir);
  CHECK_EQ_U64(r.count, ENTRIES + 1);
  CHECK_EQ_U64(r.gaps + r.bad_payload, 0);
  test_rmtree(log.dir);
}

/* The last entry half-written (its payload did not all reach the disk) is a torn tail too. */
static void test_damaged_last_entry_is_torn_tail(void) {
  test_log log;
  make_log(&log, "fault-last");
  flip_bit(log.first_segment, log.offset[ENTRIES] + WAL_ENTRY_HEADER_SIZE + 3);
  qx_wal *wal;
  qx_wal_recovery rec;
  CHECK_OK(qx_wal_open(log.dir, NULL, &wal, &rec));
  CHECK_EQ_U64(rec.last_lsn, ENTRIES - 1);
  CHECK_EQ_U64(rec.truncated_offset, log.offset[ENTRIES]);
  CHECK_OK(qx_wal_close(wal));
  test_rmtree(log.dir);
}

static void test_flipped_bit_in_middle(void) {
  test_log log;
  make_log(&log, "fault-flip");
  uint64_t damaged = log.offset[50];
  flip_bit(log.first_segment, damaged + WAL_ENTRY_HEADER_SIZE + 5);

  qx_wal *wal = NULL;
  CHECK_RC(qx_wal_open(log.dir, NULL, &wal, NULL), QX_ERR_CORRUPT);
  CHECK(error_names(log.first_segment, damaged));
  CHECK(strstr(qx_last_error(), "checksum") != NULL);
  CHECK_RC(qx_wal_scan(log.dir, 1, NULL, NULL, NULL), QX_ERR_CORRUPT);
  CHECK(error_names(log.first_segment, damaged));

  /* Replaying up to the damage still works for a reader that stops before it. */
  qx_wal_options opt;
  qx_wal_options_init(&opt);
  opt.salvage = 1;
  qx_wal_recovery rec;
  CHECK_OK(qx_wal_open(log.dir, &opt, &wal, &rec));
  CHECK(rec.salvaged);
  CHECK_EQ_U64(rec.last_lsn, 49);
  CHECK_EQ_U64(rec.truncated_offset, damaged);
  CHECK(rec.truncated_bytes > 0);
  CHECK_OK(test_append_n(wal, 49, 1, QX_DURABILITY_GROUP));
  CHECK_EQ_U64(qx_wal_last_lsn(wal), 50);
  CHECK_OK(qx_wal_close(wal));

  CHECK_OK(qx_wal_open(log.dir, NULL, &wal, &rec)); /* salvaged log opens normally */
  CHECK_EQ_U64(rec.last_lsn, 50);
  CHECK(!rec.salvaged);
  CHECK_OK(qx_wal_close(wal));
  test_replay r = scan(log.dir);
  CHECK_EQ_U64(r.count, 50);
  CHECK_EQ_U64(r.gaps + r.bad_payload, 0);
  test_rmtree(log.dir);
}

static void test_zeroed_space(void) {
  /* Preallocated, never-written space is zero: a fresh log and a used one open cleanly. */
  test_log log;
  make_log(&log, "fault-zero");
  qx_wal *wal;
  qx_wal_recovery rec;
  CHECK_OK(qx_wal_open(log.dir, NULL, &wal, &rec));
  CHECK_EQ_U64(rec.truncated_bytes, 0);
  CHECK_OK(qx_wal_close(wal));

  /* A zeroed block in the middle (a lost write) with valid entries after it is corruption. */
  uint8_t zeros[4096] = {0};
  uint64_t at = log.offset[30];
  poke(log.first_segment, at, zeros, (size_t)(log.offset[32] - at));
  CHECK_RC(qx_wal_open(log.dir, NULL, &wal, NULL), QX_ERR_CORRUPT);
  CHECK(error_names(log.first_segment, at));
  CHECK(strstr(qx_last_error(), "unwritten") != NULL);
  test_rmtree(log.dir);
}

static void test_bad_header(void) {
  test_log log;
  make_log(&log, "fault-magic");
  qx_wal *wal;
  poke(log.first_segment, 0, "NOTAWAL!", 8);
  CHECK_RC(qx_wal_open(log.dir, NULL, &wal, NULL), QX_ERR_FORMAT);
  CHECK(error_names(log.first_segment, 0));
  CHECK_RC(qx_wal_scan(log.dir, 1, NULL, NULL, NULL), QX_ERR_FORMAT);
  poke(log.first_segment, 0, WAL_MAGIC, 8);
  CHECK_OK(qx_wal_scan(log.dir, 1, NULL, NULL, NULL));

  uint32_t version = WAL_FORMAT_VERSION + 1;
  poke(log.first_segment, 8, &version, 4);
  CHECK_RC(qx_wal_open(log.dir, NULL, &wal, NULL), QX_ERR_FORMAT);
  CHECK(strstr(qx_last_error(), "version 2") != NULL);
  version = WAL_FORMAT_VERSION;
  poke(log.first_segment, 8, &version, 4);

  flip_bit(log.first_segment, 33); /* creation time: covered by the header checksum */
  CHECK_RC(qx_wal_open(log.dir, NULL, &wal, NULL), QX_ERR_CORRUPT);
  CHECK(error_names(log.first_segment, 60));
  test_rmtree(log.dir);
}

/* A file named like a segment but for an LSN beyond 2^64 - 1 is no segment (the name used to
 * wrap around to a small LSN); the log beside it opens as before. */
static void test_name_beyond_any_lsn(void) {
  test_log log;
  make_log(&log, "fault-name");
  char stray[PATH_MAX + 32];
  snprintf(stray, sizeof stray, "%s/99999999999999999999.wal", log.dir);
  FILE *f = fopen(stray, "w");
  CHECK(f != NULL);
  if (f) fclose(f);
  qx_wal_recovery rec;
  CHECK_OK(qx_wal_scan(log.dir, 1, NULL, NULL, &rec));
  CHECK(rec.first_lsn == 1 && rec.last_lsn > 0);
  test_rmtree(log.dir);
}

static int is_segment(const struct dirent *de) {
  return strlen(de->d_name) == 24 && strcmp(de->d_name + 20, ".wal") == 0;
}

/* Path of the index-th segment (in LSN order) of dir; the number of segments. */
static int nth_segment(const char *dir, int index, char out[PATH_MAX]) {
  struct dirent **names;
  int n = scandir(dir, &names, is_segment, alphasort);
  for (int i = 0; i < n; i++) {
    if (i == index) snprintf(out, PATH_MAX, "%s/%s", dir, names[i]->d_name);
    free(names[i]);
  }
  free(names);
  return n;
}

/* A closed log of 1000 entries in 64 KiB segments, in a new folder. */
static qx_wal_options write_small_log(char dir[PATH_MAX], const char *tag) {
  test_tmpdir(dir, tag);
  qx_wal_options opt;
  qx_wal_options_init(&opt);
  opt.segment_size = SMALL_SEGMENT;
  qx_wal *wal;
  CHECK_OK(qx_wal_open(dir, &opt, &wal, NULL));
  CHECK_OK(test_append_n(wal, 0, 1000, QX_DURABILITY_GROUP));
  CHECK_OK(qx_wal_close(wal));
  return opt;
}

static void test_segment_faults(void) {
  char dir[PATH_MAX];
  qx_wal_options opt = write_small_log(dir, "fault-segments");
  qx_wal *wal;

  /* A blank segment after the last one (renamed in, header never written) is dropped. */
  char blank[PATH_MAX];
  qx_wal_segment_path(blank, sizeof blank, dir, 1001);
  int fd = open(blank, O_CREAT | O_WRONLY, 0644);
  CHECK(fd >= 0 && ftruncate(fd, SMALL_SEGMENT) == 0);
  close(fd);
  qx_wal_recovery rec;
  CHECK_OK(qx_wal_open(dir, &opt, &wal, &rec));
  CHECK_EQ_U64(rec.last_lsn, 1000);
  CHECK(access(blank, F_OK) != 0);
  CHECK_OK(test_append_n(wal, 1000, 1, QX_DURABILITY_GROUP));
  CHECK_OK(qx_wal_close(wal));
  test_replay r = scan(dir);
  CHECK_EQ_U64(r.count, 1001);
  CHECK_EQ_U64(r.gaps + r.bad_payload, 0);

  /* Damage in the last entry of a full segment is not a torn tail: later segments exist. */
  char second[PATH_MAX], third[PATH_MAX];
  CHECK(nth_segment(dir, 2, third) >= 4);
  nth_segment(dir, 1, second);
  flip_bit(third, WAL_SEGMENT_HEADER_SIZE + WAL_ENTRY_HEADER_SIZE + 1);
  CHECK_RC(qx_wal_open(dir, &opt, &wal, NULL), QX_ERR_CORRUPT);
  CHECK(error_names(third, WAL_SEGMENT_HEADER_SIZE));
  flip_bit(third, WAL_SEGMENT_HEADER_SIZE + WAL_ENTRY_HEADER_SIZE + 1);

  /* A missing segment in the middle loses entries: the gap is reported. */
  CHECK(unlink(second) == 0);
  CHECK_RC(qx_wal_open(dir, &opt, &wal, NULL), QX_ERR_CORRUPT);
  CHECK(strstr(qx_last_error(), "missing") != NULL);
  test_rmtree(dir);
}

/* ---- a lost tail at a segment boundary (item 7) ------------------------------------------ */

static uint64_t segment_first_lsn(const char *path) {
  const char *name = strrchr(path, '/') + 1;
  return strtoull(name, NULL, 10);
}

/* A closed log of four or more 64 KiB segments; out: the 2nd and 3rd, and the offsets of the
 * 2nd's last three entries (off[0] the earliest) and of its end of entries (off[3]); returns the
 * LSN at off[0]. */
static uint64_t make_segments(char dir[PATH_MAX], char second[PATH_MAX], char third[PATH_MAX],
                              uint64_t off[4]) {
  write_small_log(dir, "fault-boundary");
  CHECK(nth_segment(dir, 1, second) >= 4);
  nth_segment(dir, 2, third);
  uint64_t entries = segment_first_lsn(third) - segment_first_lsn(second);
  uint64_t at = WAL_SEGMENT_HEADER_SIZE;
  uint8_t buf[TEST_PAYLOAD_MAX];
  for (uint64_t k = 0; k < entries; k++) {
    if (k + 3 >= entries) off[k + 3 - entries] = at;
    at += wal_entry_span(test_payload(0, segment_first_lsn(second) - 1 + k, buf));
  }
  off[3] = at;
  return segment_first_lsn(third) - 3;
}

static void zero_range(const char *path, uint64_t from, uint64_t to) {
  uint8_t zeros[3 * (TEST_PAYLOAD_MAX + WAL_ENTRY_HEADER_SIZE)] = {0};
  CHECK(to - from <= sizeof zeros);
  poke(path, from, zeros, (size_t)(to - from));
}

/* The unsynced end of a full segment was lost while the next segment's name and header reached
 * the disk (a power loss at `none`): a torn tail. The log is cut there and the later segments
 * are removed; nothing in them was ever acknowledged at `group`. */
static void test_lost_tail_at_boundary(void) {
  char dir[PATH_MAX], second[PATH_MAX], third[PATH_MAX];
  uint64_t off[4];
  uint64_t lost_lsn = make_segments(dir, second, third, off);
  zero_range(second, off[0], off[3]); /* its last three entries never reached the disk */
  int segments = nth_segment(dir, 0, third);
  qx_wal_recovery rec;
  CHECK_OK(qx_wal_scan(dir, 1, NULL, NULL, &rec)); /* check: reported, nothing changed */
  CHECK_EQ_U64(rec.dropped_segments, segments - 2);
  CHECK_EQ_U64(nth_segment(dir, 0, third), segments);
  qx_wal_options opt;
  qx_wal_options_init(&opt);
  opt.read_only = 1; /* reports the cut, removes nothing, reads up to it */
  qx_wal *wal;
  CHECK_OK(qx_wal_open(dir, &opt, &wal, &rec));
  CHECK_EQ_U64(rec.last_lsn, lost_lsn - 1);
  CHECK_EQ_U64(rec.dropped_segments, segments - 2);
  test_replay r = {0};
  CHECK_OK(qx_wal_replay(wal, 1, test_replay_visit, &r));
  CHECK(r.count == lost_lsn - 1 && r.gaps + r.bad_payload == 0);
  CHECK_OK(qx_wal_close(wal));
  CHECK_EQ_U64(nth_segment(dir, 0, third), segments);
  opt.read_only = 0;
  opt.segment_size = SMALL_SEGMENT;
  CHECK_OK(qx_wal_open(dir, &opt, &wal, &rec));
  CHECK_STR(rec.truncated_file, second);
  CHECK_EQ_U64(rec.truncated_offset, off[0]);
  CHECK_EQ_U64(rec.truncated_bytes, 0);
  CHECK_EQ_U64(rec.dropped_segments, segments - 2);
  CHECK_EQ_U64(nth_segment(dir, 0, third), 2);
  uint64_t last = rec.last_lsn;
  CHECK_EQ_U64(last, lost_lsn - 1);
  CHECK_OK(test_append_n(wal, 2000, 500, QX_DURABILITY_GROUP)); /* continues, rotates again */
  CHECK_OK(qx_wal_close(wal));
  CHECK_OK(qx_wal_open(dir, &opt, &wal, &rec));
  CHECK(rec.last_lsn == last + 500 && rec.truncated_bytes == 0 && rec.dropped_segments == 0);
  r = (test_replay){0};
  CHECK_OK(qx_wal_replay(wal, 1, test_replay_visit, &r));
  CHECK(r.count == last + 500 && r.gaps + r.bad_payload == 0);
  CHECK_OK(qx_wal_close(wal));
  test_rmtree(dir);
}

/* What no lost write leaves at a segment boundary stays corruption: a bad checksum over
 * non-zero bytes (damage in the last entry of a full segment), a segment missing between two
 * others (each header names the segment it follows), a header that names no predecessor (a
 * segment written before the field existed), and a zeroed header with entries after it. */
static void test_boundary_corruption(void) {
  char dir[PATH_MAX], second[PATH_MAX], third[PATH_MAX];
  uint64_t off[4];
  make_segments(dir, second, third, off);
  uint8_t tail[3 * (TEST_PAYLOAD_MAX + WAL_ENTRY_HEADER_SIZE)];
  int fd = open(second, O_RDONLY);
  CHECK(fd >= 0 && pread(fd, tail, off[3] - off[0], (off_t)off[0]) == (ssize_t)(off[3] - off[0]));
  close(fd);
  qx_wal *wal;
  flip_bit(second, off[2] + WAL_ENTRY_HEADER_SIZE + 2);
  zero_range(second, off[0], off[2]); /* lost writes before it do not excuse it */
  CHECK_RC(qx_wal_open(dir, NULL, &wal, NULL), QX_ERR_CORRUPT);
  CHECK(error_names(second, off[0]));
  CHECK(strstr(qx_last_error(), "missing") != NULL);
  zero_range(second, off[0], off[3]);

  wal_segment_header h;
  fd = open(third, O_RDWR);
  CHECK(fd >= 0 && pread(fd, &h, sizeof h, 0) == (ssize_t)sizeof h);
  uint64_t prev = h.prev_first_lsn;
  CHECK_EQ_U64(prev, segment_first_lsn(second));
  h.prev_first_lsn = 0; /* as written before the field existed */
  h.crc = qx_crc32c(0, &h, offsetof(wal_segment_header, crc));
  CHECK(pwrite(fd, &h, sizeof h, 0) == (ssize_t)sizeof h);
  CHECK_RC(qx_wal_open(dir, NULL, &wal, NULL), QX_ERR_CORRUPT);
  h.prev_first_lsn = prev;
  h.crc = qx_crc32c(0, &h, offsetof(wal_segment_header, crc));
  CHECK(pwrite(fd, &h, sizeof h, 0) == (ssize_t)sizeof h);

  wal_segment_header blank = {0};
  CHECK(pwrite(fd, &blank, sizeof blank, 0) == (ssize_t)sizeof blank);
  close(fd);
  poke(second, off[0], tail, (size_t)(off[3] - off[0]));        /* the second segment whole again */
  CHECK_RC(qx_wal_open(dir, NULL, &wal, NULL), QX_ERR_CORRUPT); /* its entries are there */
  CHECK(strstr(qx_last_error(), "zero but valid entries follow") != NULL);
  test_rmtree(dir);
}

/* ---- batches ------------------------------------------------------------------------------ */

static qx_wal_options small_segments(void) {
  qx_wal_options opt;
  qx_wal_options_init(&opt);
  opt.segment_size = SMALL_SEGMENT;
  return opt;
}

/* The entry header at offset off of path, and the offset of the entry after it. */
static wal_entry_header read_entry(const char *path, uint64_t off, uint64_t *next) {
  wal_entry_header h = {0};
  int fd = open(path, O_RDONLY);
  CHECK(fd >= 0 && pread(fd, &h, sizeof h, (off_t)off) == (ssize_t)sizeof h);
  close(fd);
  *next = off + wal_entry_span(h.size);
  return h;
}

/* A batch whose last entry never reached the disk is cut whole, by open and in what a scan
 * shows; the batches before it stay. */
static void test_torn_batch_is_cut(void) {
  char dir[PATH_MAX], segment[PATH_MAX];
  test_tmpdir(dir, "fault-torn-batch");
  qx_wal_segment_path(segment, sizeof segment, dir, 1);
  qx_wal *wal;
  CHECK_OK(qx_wal_open(dir, NULL, &wal, NULL));
  test_batch first = {0, 3, 1, 0}, torn = {0, 10, 2, 0};
  CHECK_OK(test_append_batch(wal, &first, QX_DURABILITY_GROUP));
  CHECK_OK(test_append_batch(wal, &torn, QX_DURABILITY_GROUP));
  CHECK_OK(qx_wal_close(wal));
  uint64_t off = WAL_SEGMENT_HEADER_SIZE, batch_start = 0, next = 0;
  for (uint64_t lsn = 1; lsn < torn.last_lsn; lsn++, off = next) {
    wal_entry_header h = read_entry(segment, off, &next);
    CHECK_EQ_U64(h.flags, lsn == 3 || lsn == torn.last_lsn ? 0 : WAL_ENTRY_BATCH_CONTINUES);
    if (lsn == 4) batch_start = off;
  }
  read_entry(segment, off, &next); /* the batch's last entry, lost: */
  uint8_t zeros[TEST_PAYLOAD_MAX + WAL_ENTRY_HEADER_SIZE] = {0};
  poke(segment, off, zeros, (size_t)(next - off));

  test_batch_log log;
  CHECK_OK(test_batch_log_scan(dir, &log)); /* check and wal-dump show whole batches only */
  CHECK_EQ_U64(log.replay.count, 3);
  CHECK_EQ_U64(log.partial_batches, 0);
  test_batch_log_free(&log);
  qx_wal_recovery rec;
  CHECK_OK(qx_wal_open(dir, NULL, &wal, &rec));
  CHECK_EQ_U64(rec.last_lsn, 3);
  CHECK_EQ_U64(rec.truncated_offset, batch_start);
  CHECK(rec.truncated_bytes > off - batch_start - 8); /* non-zero bytes: padding aside */
  CHECK(rec.truncated_bytes <= off - batch_start);
  CHECK_STR(rec.truncated_file, segment);
  CHECK_OK(test_batch_log_read(wal, &log));
  CHECK(log.replay.count == 3 && log.partial_batches == 0 && test_batch_log_has(&log, &first));
  test_batch_log_free(&log);
  torn.last_lsn = 0;
  CHECK_OK(test_append_batch(wal, &torn, QX_DURABILITY_GROUP)); /* its LSNs are given again */
  CHECK_EQ_U64(torn.last_lsn, 13);
  CHECK_OK(qx_wal_close(wal));
  CHECK_OK(test_batch_log_scan(dir, &log));
  CHECK(log.replay.count == 13 && log.partial_batches == 0 && test_batch_log_has(&log, &torn));
  test_batch_log_free(&log);
  test_rmtree(dir);
}

/* An entry with a flag this build does not know is from a newer writer: not read as valid. */
static void test_unknown_flag(void) {
  test_log log;
  make_log(&log, "fault-flags");
  uint64_t at = log.offset[50], next;
  wal_entry_header h = read_entry(log.first_segment, at, &next);
  uint8_t entry[TEST_PAYLOAD_MAX + WAL_ENTRY_HEADER_SIZE];
  int fd = open(log.first_segment, O_RDWR);
  CHECK(fd >= 0 && pread(fd, entry, (size_t)(next - at), (off_t)at) == (ssize_t)(next - at));
  h.flags = 4;
  memcpy(entry, &h, sizeof h);
  h.crc = qx_crc32c(0, entry + 4, WAL_ENTRY_HEADER_SIZE - 4 + h.size);
  memcpy(entry, &h, sizeof h);
  CHECK(pwrite(fd, entry, (size_t)(next - at), (off_t)at) == (ssize_t)(next - at));
  close(fd);
  qx_wal *wal;
  CHECK_RC(qx_wal_open(log.dir, NULL, &wal, NULL), QX_ERR_CORRUPT);
  CHECK(error_names(log.first_segment, at));
  CHECK(strstr(qx_last_error(), "unknown entry flags") != NULL);
  test_rmtree(log.dir);
}

/* What the log must look like after a failure, in the process that saw it. */
static void check_failed_log(qx_wal *wal, const test_batch *acked, size_t count, int error) {
  test_batch extra = {9, 2, 0, 0};
  CHECK_RC(test_append_batch(wal, &extra, QX_DURABILITY_NONE), QX_ERR_CLOSED);
  const char *cause = strerror(error);
  if (!strstr(qx_last_error(), cause))
    fprintf(stderr, "the refusal does not name the cause (%s): %s\n", cause, qx_last_error());
  CHECK(strstr(qx_last_error(), cause) != NULL);
  test_batch_log log;
  CHECK_OK(test_batch_log_read(wal, &log)); /* replay: whole batches only */
  CHECK_EQ_U64(log.partial_batches, 0);
  CHECK_EQ_U64(log.replay.count, qx_wal_last_lsn(wal));
  for (size_t i = 0; i < count; i++)
    CHECK(test_batch_log_has(&log, &acked[i]));
  test_batch_log_free(&log);
  CHECK_OK(test_batch_log_follow(wal, &log)); /* a reader (the Parquet converter's) too */
  CHECK_EQ_U64(log.partial_batches, 0);
  CHECK_EQ_U64(log.replay.count, qx_wal_last_lsn(wal));
  test_batch_log_free(&log);
}

/* Reopened without faults: every acknowledged batch, no partial one, and appends work. */
static void check_reopened_log(const char *dir, const test_batch *acked, size_t count) {
  qx_fault_reset();
  qx_wal_options opt = small_segments();
  qx_wal *wal;
  CHECK_OK(qx_wal_open(dir, &opt, &wal, NULL));
  if (check_failures) return;
  test_batch_log log;
  CHECK_OK(test_batch_log_read(wal, &log));
  CHECK_EQ_U64(log.partial_batches, 0);
  CHECK_EQ_U64(log.replay.gaps + log.replay.bad_payload, 0);
  for (size_t i = 0; i < count; i++)
    CHECK(test_batch_log_has(&log, &acked[i]));
  test_batch_log_free(&log);
  test_batch more = {8, 70, 0, 0};
  CHECK_OK(test_append_batch(wal, &more, QX_DURABILITY_GROUP));
  CHECK_OK(qx_wal_close(wal));
}

/* Rotation fails (the spare cannot be renamed) in the middle of a batch: the part already
 * written to the full segment is never visible, and is cut at the next open. */
static void test_failed_rotation_cuts_half_batch(void) {
  char dir[PATH_MAX];
  test_tmpdir(dir, "fault-rotation");
  qx_wal_options opt = small_segments();
  qx_wal *wal;
  CHECK_OK(qx_wal_open(dir, &opt, &wal, NULL));
  qx_fault_reset();
  qx_fault_arm(&(qx_fault_rule){.kind = QX_IO_RENAME, .nth = 1, .error = ENOSPC});
  test_batch acked[8];
  size_t count = 0;
  int rc = QX_OK;
  uint64_t last = 0;
  for (uint32_t k = 0; k < 8 && rc == QX_OK; k++) { /* until a batch needs the next segment */
    last = qx_wal_last_lsn(wal);
    acked[count] = (test_batch){0, 100, k, 0};
    rc = test_append_batch(wal, &acked[count], QX_DURABILITY_GROUP);
    count += rc == QX_OK;
  }
  CHECK_RC(rc, QX_ERR_IO);
  CHECK(strstr(qx_last_error(), "rename") != NULL);
  CHECK_EQ_U64(qx_wal_last_lsn(wal), last);
  check_failed_log(wal, acked, count, ENOSPC);
  CHECK_RC(qx_wal_close(wal), QX_ERR_IO);
  qx_fault_reset();
  qx_wal_recovery rec;
  CHECK_OK(qx_wal_open(dir, &opt, &wal, &rec));
  CHECK_EQ_U64(rec.last_lsn, last);
  CHECK(rec.truncated_bytes > 0); /* the half batch, cut */
  CHECK_OK(qx_wal_close(wal));
  check_reopened_log(dir, acked, count);
  test_rmtree(dir);
}

/* The workload of a sweep: batches of varied lengths (some over the 64 entries of one pwritev,
 * some spanning segments), every third at `group`, the rest at `none`. */
#define SWEEP_BATCHES 24
static const uint32_t sweep_lengths[SWEEP_BATCHES] = {1,  30, 70, 1, 5, 100, 1,  40, 64, 2, 90, 1,
                                                      33, 1,  80, 7, 1, 65,  20, 1,  99, 3, 50, 1};

typedef struct sweep_result {
  test_batch acked[SWEEP_BATCHES];
  size_t count;
  int failed; /* an append failed */
} sweep_result;

/* error: the errno an injected failure carries (a short write is reported as EIO). */
static void run_sweep_workload(const char *dir, int error, sweep_result *out) {
  memset(out, 0, sizeof *out);
  qx_wal_options opt = small_segments();
  qx_wal *wal;
  if (qx_wal_open(dir, &opt, &wal, NULL) != QX_OK) return; /* the fault hit the open */
  for (uint32_t k = 0; k < SWEEP_BATCHES && !out->failed; k++) {
    test_batch b = {0, sweep_lengths[k], k, 0};
    if (test_append_batch(wal, &b, k % 3 ? QX_DURABILITY_NONE : QX_DURABILITY_GROUP) == QX_OK)
      out->acked[out->count++] = b;
    else
      out->failed = 1;
  }
  if (out->failed) check_failed_log(wal, out->acked, out->count, error);
  qx_wal_close(wal);
}

typedef struct sweep {
  qx_io_kind kind;
  const char *name;
  int persist; /* creates and preallocations fail from the nth on, so a rotation meets one */
} sweep;

/* Fails the nth call of a kind, for every n the workload reaches. */
static void test_sweep(const sweep *sw) {
  char dir[PATH_MAX];
  test_tmpdir(dir, "fault-count");
  qx_fault_reset();
  qx_fault_count_calls();
  sweep_result r;
  run_sweep_workload(dir, 0, &r);
  uint64_t calls = qx_fault_calls(sw->kind);
  qx_fault_reset();
  test_rmtree(dir);
  CHECK(calls > 0 && !r.failed);
  uint64_t failures = 0;
  for (uint64_t n = 1; n <= calls + 1 && !check_failures; n++) {
    test_tmpdir(dir, "fault-sweep");
    int error = n % 2 ? EIO : ENOSPC;
    qx_fault_action action = sw->kind == QX_IO_WRITE && n % 3 == 0 ? QX_FAULT_SHORT : QX_FAULT_FAIL;
    qx_fault_arm(&(qx_fault_rule){
        .kind = sw->kind, .nth = n, .action = action, .error = error, .persist = sw->persist});
    run_sweep_workload(dir, action == QX_FAULT_SHORT ? EIO : error, &r);
    failures += r.failed;
    check_reopened_log(dir, r.acked, r.count);
    test_rmtree(dir);
  }
  printf("%s: failed the 1st..%llu%s call: %llu runs saw an append fail, all recovered whole\n",
         sw->name, (unsigned long long)calls + 1, sw->persist ? " and later" : "",
         (unsigned long long)failures);
  CHECK(failures > 0);
}

int main(void) {
  test_torn_tail_is_truncated();
  test_damaged_last_entry_is_torn_tail();
  test_flipped_bit_in_middle();
  test_zeroed_space();
  test_bad_header();
  test_name_beyond_any_lsn();
  test_segment_faults();
  test_lost_tail_at_boundary();
  test_boundary_corruption();
  test_torn_batch_is_cut();
  test_unknown_flag();
  test_failed_rotation_cuts_half_batch();
  static const sweep sweeps[] = {{QX_IO_WRITE, "writes", 0},
                                 {QX_IO_SYNC, "syncs", 0},
                                 {QX_IO_RENAME, "renames", 0},
                                 {QX_IO_FALLOCATE, "preallocations", 1},
                                 {QX_IO_CREATE, "creates", 1}};
  for (size_t i = 0; i < sizeof sweeps / sizeof sweeps[0]; i++)
    test_sweep(&sweeps[i]);
  return test_finish("test_wal_faults");
}
