/* qx_db_verify: the table-file half of `qaxdb check`. Reads the MANIFEST (every edit's
 * checksum) and verifies each live table file block by block without opening the engine. */
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>

#include "lsm/recover.h"
#include "util/error.h"

static int verify_file(const char *dir, const qx_sst_meta *m, qx_db_verify_report *r) {
  char path[PATH_MAX + 64];
  snprintf(path, sizeof path, "%s/sst/%06" PRIu64 ".sst", dir, m->file_number);
  struct stat st;
  if (stat(path, &st) != 0)
    return qx_fail(QX_ERR_CORRUPT, "%s: named by the MANIFEST but missing", path);
  if ((uint64_t)st.st_size != m->file_size)
    return qx_fail(QX_ERR_CORRUPT, "%s: %" PRIu64 " bytes, the MANIFEST says %" PRIu64, path,
                   (uint64_t)st.st_size, m->file_size);
  uint64_t entries = 0;
  int rc = qx_sst_verify(path, &entries);
  if (rc == QX_OK && entries != m->entry_count)
    rc = qx_fail(QX_ERR_CORRUPT, "%s: %" PRIu64 " entries, the MANIFEST says %" PRIu64, path,
                 entries, m->entry_count);
  r->table_files++;
  r->table_entries += entries;
  r->table_bytes += m->file_size;
  return rc;
}

int qx_db_verify(const char *dir, qx_db_verify_report *report) {
  qx_db_verify_report scratch = {0};
  qx_db_verify_report *r = report ? report : &scratch;
  *r = (qx_db_verify_report){0};
  qx_live_files live;
  uint64_t torn = 0;
  int rc = qx_read_live_files(dir, &live, &torn);
  for (size_t i = 0; i < live.all.added_count && rc == QX_OK; i++)
    rc = verify_file(dir, &live.all.added[i].meta, r);
  qx_edit_free(&live.all);
  return rc;
}
