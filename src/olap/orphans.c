/* Removing Parquet files that the MANIFEST does not name: temporaries and finished files of a
 * flush or merge that crashed before its edit was durable, and merge inputs whose deletion a
 * crash interrupted. Their records are either in named files or still in the WAL. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "olap/materialized.h"
#include "olap/olap.h"
#include "util/error.h"
#include "util/io.h"

static int is_named(const qx_parquet_set *set, const char *path) {
  for (size_t i = 0; i < set->count; i++)
    if (strcmp(set->files[i]->path, path) == 0) return 1;
  return 0;
}

static void clean_partition(const char *dir, const qx_parquet_set *set) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (strncmp(de->d_name, "part-", 5) != 0) continue;
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= (int)sizeof path) continue;
    if (!is_named(set, path)) qx_io_unlink(path);
  }
  closedir(d);
}

static void clean_table(const char *dir, const qx_parquet_set *set) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    char path[PATH_MAX];
    if (strncmp(de->d_name, "date=", 5) != 0) continue;
    if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) < (int)sizeof path)
      clean_partition(path, set);
  }
  closedir(d);
}

static void clean_named(const char *olap_dir, const char *name, const qx_parquet_set *set) {
  char dir[PATH_MAX];
  if (snprintf(dir, sizeof dir, "%s/%s", olap_dir, name) < (int)sizeof dir) clean_table(dir, set);
}

int qx_olap_remove_orphans(const char *olap_dir, const qx_parquet_set *set) {
  for (int t = QX_TABLE_MIN; t <= QX_TABLE_MAX; t++)
    clean_named(olap_dir, qx_schema_by_id(t)->name, set);
  int views;
  const qx_mv *v = qx_mv_all(&views);
  for (int i = 0; i < views; i++)
    clean_named(olap_dir, v[i].name, set);
  return QX_OK;
}
