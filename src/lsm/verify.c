/* qx_db_verify: the file half of `qaxdb check`. Reads the MANIFEST (every edit's checksum),
 * verifies each live table file block by block, and checks that every live Parquet file is
 * there at the size the MANIFEST records, without opening the engine. */
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>

#include "lsm/recover.h"
#include "util/error.h"

/* QX_ERR_NOT_FOUND if path is gone, QX_ERR_CORRUPT if its size is not want. */
static int check_size(const char *path, uint64_t want) {
  struct stat st;
  if (stat(path, &st) != 0)
    return qx_fail(QX_ERR_NOT_FOUND, "%s: named by the MANIFEST but missing", path);
  if ((uint64_t)st.st_size != want)
    return qx_fail(QX_ERR_CORRUPT, "%s: %" PRIu64 " bytes, the MANIFEST says %" PRIu64, path,
                   (uint64_t)st.st_size, want);
  return QX_OK;
}

static int verify_table(const char *dir, const qx_sst_meta *m, qx_db_verify_report *r) {
  char path[PATH_MAX + 64];
  snprintf(path, sizeof path, "%s/sst/%06" PRIu64 ".sst", dir, m->file_number);
  int rc = check_size(path, m->file_size);
  if (rc != QX_OK) return rc;
  uint64_t entries = 0;
  rc = qx_sst_verify(path, &entries);
  if (rc == QX_OK && entries != m->entry_count)
    rc = qx_fail(QX_ERR_CORRUPT, "%s: %" PRIu64 " entries, the MANIFEST says %" PRIu64, path,
                 entries, m->entry_count);
  r->table_files++;
  r->table_entries += entries;
  r->table_bytes += m->file_size;
  return rc;
}

static int verify_parquet(const char *dir, const qx_parquet_meta *m, qx_db_verify_report *r) {
  char olap_dir[PATH_MAX], path[PATH_MAX];
  snprintf(olap_dir, sizeof olap_dir, "%s/olap", dir);
  qx_parquet_path(olap_dir, m, path, sizeof path);
  r->parquet_files++;
  r->parquet_bytes += m->bytes;
  return check_size(path, m->bytes);
}

int qx_db_verify(const char *dir, qx_db_verify_report *report) {
  qx_db_verify_report scratch = {0};
  qx_db_verify_report *r = report ? report : &scratch;
  *r = (qx_db_verify_report){0};
  qx_live_files live;
  uint64_t torn = 0;
  int rc = qx_read_live_files(dir, &live, &torn);
  if (rc == QX_ERR_NOT_FOUND)
    return qx_fail(rc, "%s/CURRENT: missing, so no MANIFEST says which files are live", dir);
  if (rc != QX_OK) return rc;
  r->checkpoint_lsn = live.checkpoint_lsn;
  r->torn_manifest_bytes = torn;
  for (size_t i = 0; i < live.all.added_count && rc == QX_OK; i++)
    rc = verify_table(dir, &live.all.added[i].meta, r);
  const qx_parquet_edit *parquet = &live.all.parquet;
  for (size_t i = 0; i < parquet->added_count && rc == QX_OK; i++)
    rc = verify_parquet(dir, &parquet->added[i], r);
  qx_edit_free(&live.all);
  return rc;
}
