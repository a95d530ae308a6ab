/* Walking Parquet part files (see part_files.h). */
#include "olap/part_files.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "olap/materialized.h"
#include "olap/trading_day.h"
#include "qaxdb/records.h"

typedef struct walk {
  qx_part_visit_fn visit;
  void *ctx;
  uint16_t table_id;
  int32_t day;
  int day_ok;
} walk;

/* Parses "part-<first>-<last>.parquet" into m; 1 if it is such a name. */
static int parse_part_name(const char *name, qx_parquet_meta *m) {
  uint64_t first, last;
  int end = 0;
  if (sscanf(name, "part-%" SCNu64 "-%" SCNu64 ".parquet%n", &first, &last, &end) != 2) return 0;
  if (name[end] != 0 || first == 0 || first > last) return 0;
  m->first_lsn = first;
  m->last_lsn = last;
  return 1;
}

static int walk_partition(const char *dir, walk *w) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  int rc = 0;
  struct dirent *de;
  while (rc == 0 && (de = readdir(d)) != NULL) {
    if (strncmp(de->d_name, "part-", 5) != 0) continue;
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= (int)sizeof path) continue;
    qx_parquet_meta m = {.table_id = w->table_id, .day = w->day};
    int named = w->day_ok && parse_part_name(de->d_name, &m);
    rc = w->visit(path, &m, named, w->ctx);
  }
  closedir(d);
  return rc;
}

static int walk_table(const char *dir, walk *w) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  int rc = 0;
  struct dirent *de;
  while (rc == 0 && (de = readdir(d)) != NULL) {
    if (strncmp(de->d_name, "date=", 5) != 0) continue;
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= (int)sizeof path) continue;
    w->day_ok = qx_parse_day(de->d_name + 5, &w->day);
    rc = walk_partition(path, w);
  }
  closedir(d);
  return rc;
}

static int walk_named(const char *olap_dir, uint16_t table_id, const char *name, walk *w) {
  char dir[PATH_MAX];
  if (snprintf(dir, sizeof dir, "%s/%s", olap_dir, name) >= (int)sizeof dir) return 0;
  w->table_id = table_id;
  return walk_table(dir, w);
}

int qx_olap_each_part(const char *olap_dir, qx_part_visit_fn visit, void *ctx) {
  walk w = {.visit = visit, .ctx = ctx};
  int rc = 0;
  for (int t = QX_TABLE_MIN; t <= QX_TABLE_MAX && rc == 0; t++)
    rc = walk_named(olap_dir, (uint16_t)t, qx_schema_by_id(t)->name, &w);
  int views;
  const qx_mv *v = qx_mv_all(&views);
  for (int i = 0; i < views && rc == 0; i++)
    rc = walk_named(olap_dir, v[i].id, v[i].name, &w);
  return rc;
}
