/* Fuzz target: the WAL readers (src/wal): the directory scan behind recovery, wal-dump and
 * check; open's recovery, which cuts a torn tail or salvages; the reader that follows the log.
 * After one mode byte the input is one or more segment files back to back: a new one starts
 * at each 8-byte aligned "QAXDBWAL" after the first header, and each is named by the first
 * LSN its header claims. Mode bits: 0 recompute checksums and segment sizes
 * (fix_checksums.h); 1 also open the log and read it back; 2 open with salvage.
 * Every entry visited is decoded as the engine and wal-dump decode it. Rules: failures are
 * QX_ERR_CORRUPT or QX_ERR_FORMAT naming a segment; visited LSNs have no gaps; after open
 * succeeds the log reads back in full and scans clean. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fix_checksums.h"
#include "fuzz.h"
#include "lsm/wal_codec.h"
#include "qaxdb/schema.h"
#include "qaxdb/status.h"
#include "record/text.h"
#include "wal/format.h"

#define MODE_FIX_CHECKSUMS 1
#define MODE_OPEN 2
#define MODE_SALVAGE 4
#define MAX_SEGMENTS 4

typedef struct visit_state {
  uint64_t count, last_lsn;
} visit_state;

/* Decodes the entry as replay (qx_wal_entry_decode) and wal-dump (text of every field) do. */
static int visit(const qx_wal_entry *e, void *ctx) {
  visit_state *st = ctx;
  if (st->count && e->lsn != st->last_lsn + 1)
    fuzz_fail("LSN %llu visited after %llu", (unsigned long long)e->lsn,
              (unsigned long long)st->last_lsn);
  st->count++;
  st->last_lsn = e->lsn;
  char text[256];
  qx_format_timestamp(e->ts_ns, text, sizeof text);
  qx_decoded_write w;
  if (qx_wal_entry_decode(e, &w) == QX_OK && w.value_len)
    memcpy(text, w.value, w.value_len < sizeof text ? w.value_len : sizeof text);
  const qx_schema *s = qx_schema_by_id(e->table_id);
  if (s && qx_schema_record_size(s, e->schema_version) == e->size) {
    uint32_t columns = qx_schema_column_count(s, e->schema_version);
    for (uint32_t c = 0; c < columns; c++)
      qx_format_column(&s->columns[c], e->data, text, sizeof text);
  }
  return 0;
}

static void expect(int rc, const char *dir) {
  fuzz_expect(rc, dir, QX_ERR_CORRUPT, QX_ERR_FORMAT);
}

/* Writes part as the segment its header names (parts naming an existing file are left out). */
static void write_segment(const char *dir, uint8_t *part, size_t size, int fix) {
  if (fix) fuzz_fix_wal_segment(part, size);
  wal_segment_header h = {0};
  memcpy(&h, part, size < sizeof h ? size : sizeof h);
  char path[PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/%020llu%s", dir, (unsigned long long)h.first_lsn,
           WAL_SEGMENT_SUFFIX);
  FILE *exists = fopen(path, "rb");
  if (exists) {
    fclose(exists);
    return;
  }
  fuzz_write_file(path, part, size);
}

static void write_segments(const char *dir, const uint8_t *image, size_t size, int fix) {
  size_t starts[MAX_SEGMENTS + 1], n = 1;
  starts[0] = 0;
  for (size_t at = WAL_SEGMENT_HEADER_SIZE; at + 8 <= size && n < MAX_SEGMENTS; at += 8)
    if (memcmp(image + at, WAL_MAGIC, 8) == 0) starts[n++] = at;
  starts[n] = size;
  for (size_t i = 0; i < n; i++) {
    size_t part_size = starts[i + 1] - starts[i];
    uint8_t *part = malloc(part_size ? part_size : 1);
    if (!part) fuzz_fail("out of memory");
    memcpy(part, image + starts[i], part_size);
    write_segment(dir, part, part_size, fix);
    free(part);
  }
}

/* After a successful open the log is whole: it reads back in full and scans without damage. */
static void open_and_read(const char *dir, int salvage) {
  qx_wal_options o;
  qx_wal_options_init(&o);
  o.segment_size = 64u << 10;
  o.salvage = salvage;
  qx_wal *wal;
  qx_wal_recovery rec;
  int rc = qx_wal_open(dir, &o, &wal, &rec);
  expect(rc, dir);
  if (rc != QX_OK) return;
  uint64_t last = qx_wal_last_lsn(wal), first = rec.first_lsn ? rec.first_lsn : last + 1;
  visit_state st = {0};
  qx_wal_reader *reader;
  rc = qx_wal_reader_open(wal, first, &reader);
  if (rc == QX_OK) {
    rc = qx_wal_reader_read(reader, last, visit, &st);
    qx_wal_reader_close(reader);
  }
  if (rc != QX_OK || (first <= last && st.count != last - first + 1))
    fuzz_fail("%s: after open, %llu of LSNs %llu..%llu read back (%s)", dir,
              (unsigned long long)st.count, (unsigned long long)first, (unsigned long long)last,
              qx_last_error());
  if (qx_wal_close(wal) != QX_OK) fuzz_fail("%s: close failed: %s", dir, qx_last_error());
  rc = qx_wal_scan(dir, 1, NULL, NULL, &rec);
  if (rc != QX_OK || rec.truncated_bytes)
    fuzz_fail("%s: the recovered log does not scan clean: %s", dir,
              rc != QX_OK ? qx_last_error() : "it has a torn tail again");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  char dir[PATH_MAX];
  fuzz_empty_dir("wal", dir);
  write_segments(dir, data + 1, size - 1, data[0] & MODE_FIX_CHECKSUMS);
  visit_state st = {0};
  qx_wal_recovery rec;
  expect(qx_wal_scan(dir, 1, visit, &st, &rec), dir);
  if (data[0] & MODE_OPEN) open_and_read(dir, (data[0] & MODE_SALVAGE) != 0);
  return 0;
}
