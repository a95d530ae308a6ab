/* Removing Parquet files that the MANIFEST does not name: temporaries and finished files of a
 * flush or merge that crashed before its edit was durable, and merge inputs whose deletion a
 * crash interrupted. Their records are either in named files or still in the WAL. */
#include <string.h>
#include <unistd.h>

#include "olap/olap.h"
#include "olap/part_files.h"
#include "util/error.h"
#include "util/io.h"

static int is_named(const qx_parquet_set *set, const char *path) {
  for (size_t i = 0; i < set->count; i++)
    if (strcmp(set->files[i]->path, path) == 0) return 1;
  return 0;
}

static int remove_unnamed(const char *path, const qx_parquet_meta *meta, int named, void *set) {
  (void)meta;
  (void)named;
  if (!is_named(set, path)) qx_io_unlink(path);
  return 0;
}

int qx_olap_remove_orphans(const char *olap_dir, const qx_parquet_set *set) {
  return qx_olap_each_part(olap_dir, remove_unnamed, (void *)set);
}
