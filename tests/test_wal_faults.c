/* Fault injection on a closed WAL, each with its documented outcome (docs/formats/wal.md):
 * a torn tail is cut and reported; damage before the tail stops open with QX_ERR_CORRUPT and
 * the file and offset; salvage cuts at the damage; zeroed unused space is normal; a bad magic
 * or version is QX_ERR_FORMAT; a missing segment is corruption. */
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include "check.h"
#include "qaxdb/wal.h"
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
  wal_segment_path(log->first_segment, PATH_MAX, log->dir, 1);
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

static void test_segment_faults(void) {
  char dir[PATH_MAX];
  test_tmpdir(dir, "fault-segments");
  qx_wal_options opt;
  qx_wal_options_init(&opt);
  opt.segment_size = SMALL_SEGMENT;
  qx_wal *wal;
  CHECK_OK(qx_wal_open(dir, &opt, &wal, NULL));
  CHECK_OK(test_append_n(wal, 0, 1000, QX_DURABILITY_GROUP));
  CHECK_OK(qx_wal_close(wal));

  /* A blank segment after the last one (renamed in, header never written) is dropped. */
  char blank[PATH_MAX];
  wal_segment_path(blank, sizeof blank, dir, 1001);
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

int main(void) {
  test_torn_tail_is_truncated();
  test_damaged_last_entry_is_torn_tail();
  test_flipped_bit_in_middle();
  test_zeroed_space();
  test_bad_header();
  test_segment_faults();
  return test_finish("test_wal_faults");
}
