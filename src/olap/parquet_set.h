/* The Parquet files of the analytics path as the MANIFEST records them: which file holds which
 * table's records for which trading day and LSN range, and the LSN up to which every record
 * is in some file (olap_lsn).
 *
 * Thread-safety contract: a set is immutable once built and shared by reference count between
 * engine versions and SQL snapshots. A file removed by an edit (a compaction merged it) is
 * marked obsolete and deleted from disk when the last set naming it goes, so a query never
 * loses a file it is reading. */
#ifndef QX_OLAP_PARQUET_SET_H
#define QX_OLAP_PARQUET_SET_H

#include <limits.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "util/grow.h"

typedef struct qx_parquet_meta {
  uint16_t table_id;
  int32_t day; /* trading day, days since the epoch: the date= partition */
  uint64_t first_lsn, last_lsn;
  uint64_t rows;
  uint64_t bytes;
} qx_parquet_meta;

typedef struct qx_parquet_file {
  atomic_int refs;
  atomic_int obsolete;
  qx_parquet_meta meta;
  char path[PATH_MAX];
} qx_parquet_file;

typedef struct qx_parquet_set {
  atomic_int refs;
  uint64_t olap_lsn;       /* every committed record up to here is in exactly one file */
  qx_parquet_file **files; /* by table, day, first LSN */
  size_t count;
} qx_parquet_set;

/* The changes one MANIFEST edit makes to the set. */
typedef struct qx_parquet_edit {
  int has_olap_lsn;
  uint64_t olap_lsn;
  qx_parquet_meta *added, *removed;
  size_t added_count, removed_count;
  size_t added_cap, removed_cap;
} qx_parquet_edit;

int qx_parquet_edit_add(qx_parquet_edit *e, const qx_parquet_meta *m);
int qx_parquet_edit_remove(qx_parquet_edit *e, const qx_parquet_meta *m);
int qx_parquet_edit_empty(const qx_parquet_edit *e);
void qx_parquet_edit_free(qx_parquet_edit *e);

/* An empty set (olap_lsn 0) with one reference. */
qx_parquet_set *qx_parquet_set_create(void);
void qx_parquet_set_ref(qx_parquet_set *s);
void qx_parquet_set_unref(qx_parquet_set *s);

/* base with edit applied, files under olap_dir; base itself (one more reference) when the
 * edit does not touch Parquet. QX_ERR_CORRUPT if it removes a file base lacks. */
int qx_parquet_set_apply(qx_parquet_set *base, const qx_parquet_edit *e, const char *olap_dir,
                         qx_parquet_set **out);

/* Marks the files of base that e removes for deletion once unreferenced; called only after
 * the edit is durable in the MANIFEST. */
void qx_parquet_set_retire(const qx_parquet_set *base, const qx_parquet_edit *e);

/* <olap_dir>/<table>/date=YYYY-MM-DD/part-<first LSN>-<last LSN>.parquet */
void qx_parquet_path(const char *olap_dir, const qx_parquet_meta *m, char *out, size_t cap);
/* The partition directory of m under olap_dir. */
void qx_parquet_dir(const char *olap_dir, const qx_parquet_meta *m, char *out, size_t cap);

/* Puts "read_parquet([<paths>], <options>)" over the files of table_id among files[0..n), or
 * nothing; returns how many files it named. */
size_t qx_parquet_put_read(qx_buffer *out, qx_parquet_file *const *files, size_t n,
                           uint16_t table_id, const char *options);

#endif
