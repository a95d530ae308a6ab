/* Writing Parquet files through an in-process DuckDB that only the converter uses: buffered
 * rows become one file per table and trading day, and a day's small files are merged into one.
 * Files are written under a temporary name, synced, renamed into place and their directory
 * synced; nothing names them until the MANIFEST edit that the caller makes from the returned
 * metadata, so a crash leaves at worst an unnamed file that the next open deletes. */
#ifndef QX_OLAP_PARQUET_WRITER_H
#define QX_OLAP_PARQUET_WRITER_H

#include "olap/parquet_set.h"
#include "olap/snapshot.h"

typedef struct qx_parquet_writer qx_parquet_writer;

/* compression: "zstd" or "snappy". */
int qx_parquet_writer_open(const char *olap_dir, const char *compression, qx_parquet_writer **out);
void qx_parquet_writer_close(qx_parquet_writer *w);

/* Writes every buffered row of snap into new files and adds them to edit. */
int qx_parquet_write(qx_parquet_writer *w, const qx_olap_snapshot *snap, qx_parquet_edit *edit);

/* Merges n files of one table and day (in LSN order) into one, recorded in edit as the
 * removal of the inputs and the addition of the output. */
int qx_parquet_merge(qx_parquet_writer *w, qx_parquet_file *const *files, size_t n,
                     qx_parquet_edit *edit);

#endif
