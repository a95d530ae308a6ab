/* Walking the Parquet part files under a data folder's olap/ directory:
 * <olap_dir>/<table or view>/date=YYYY-MM-DD/part-<first LSN>-<last LSN>.parquet (and the
 * temporaries of an unfinished write next to them). Used to remove files the MANIFEST does
 * not name (orphans.c) and to find the files again when the MANIFEST is lost (repair). */
#ifndef QX_OLAP_PART_FILES_H
#define QX_OLAP_PART_FILES_H

#include "olap/parquet_set.h"

/* One part file found: its path and, when its name and folders parse, its table, day and LSN
 * range (meta.rows and meta.bytes are left 0). named is 0 for names that do not parse, such as
 * temporaries. Return non-zero to stop the walk with that status. */
typedef int (*qx_part_visit_fn)(const char *path, const qx_parquet_meta *meta, int named,
                                void *ctx);

/* Visits every file whose name starts with "part-" in the partitions of every table and
 * materialized view under olap_dir. */
int qx_olap_each_part(const char *olap_dir, qx_part_visit_fn visit, void *ctx);

#endif
