/* The Parquet writer (see parquet_writer.h): COPY statements over qx_scan or read_parquet,
 * and the temporary-file, sync and rename steps around them. */
#include "olap/parquet_writer.h"

#include <duckdb.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "olap/duck_scan.h"
#include "olap/materialized.h"
#include "util/error.h"
#include "util/fileio.h"

#define ROW_GROUP_ROWS 122880 /* DuckDB's own unit of parallel scan */

struct qx_parquet_writer {
  duckdb_database db;
  duckdb_connection con;
  qx_scan_registry registry;
  char olap_dir[PATH_MAX];
  char compression[16];
};

/* Runs sql; *count (if given) gets the first value of the result, the row count of a COPY. */
static int run_sql_count(qx_parquet_writer *w, const char *sql, uint64_t *count) {
  duckdb_result res;
  int rc = QX_OK;
  if (duckdb_query(w->con, sql, &res) == DuckDBError)
    rc = qx_fail(QX_ERR_SQL, "Parquet writer: %s", duckdb_result_error(&res));
  else if (count)
    *count = (uint64_t)duckdb_value_int64(&res, 0, 0);
  duckdb_destroy_result(&res);
  return rc;
}

static int run_sql(qx_parquet_writer *w, const char *sql) {
  return run_sql_count(w, sql, NULL);
}

int qx_parquet_writer_open(const char *olap_dir, const char *compression, qx_parquet_writer **out) {
  if (strcmp(compression, "zstd") != 0 && strcmp(compression, "snappy") != 0)
    return qx_fail(QX_ERR_INVALID_ARG, "Parquet compression must be zstd or snappy, not %s",
                   compression);
  qx_parquet_writer *w = calloc(1, sizeof *w);
  if (!w) return qx_fail(QX_ERR_NOMEM, "out of memory for the Parquet writer");
  snprintf(w->olap_dir, sizeof w->olap_dir, "%s", olap_dir);
  snprintf(w->compression, sizeof w->compression, "%s", compression);
  int rc = qx_scan_registry_init(&w->registry);
  if (rc == QX_OK &&
      (duckdb_open(NULL, &w->db) == DuckDBError || duckdb_connect(w->db, &w->con) == DuckDBError))
    rc = qx_fail(QX_ERR_SQL, "cannot start DuckDB for the Parquet writer");
  /* One thread: the converter must not take the writer's cores. */
  if (rc == QX_OK) rc = run_sql(w, "SET threads = 1");
  if (rc == QX_OK) rc = run_sql(w, "SET preserve_insertion_order = true");
  if (rc == QX_OK) rc = qx_scan_register(w->con, &w->registry);
  if (rc == QX_OK) rc = qx_mkdir_p(olap_dir);
  if (rc != QX_OK) {
    qx_parquet_writer_close(w);
    return rc;
  }
  *out = w;
  return QX_OK;
}

void qx_parquet_writer_close(qx_parquet_writer *w) {
  if (!w) return;
  if (w->con) duckdb_disconnect(&w->con);
  if (w->db) duckdb_close(&w->db);
  qx_scan_registry_destroy(&w->registry);
  free(w);
}

/* Appends s to out as a SQL string literal. */
static void append_quoted(char *out, size_t cap, const char *s) {
  size_t n = strlen(out);
  if (n + 1 < cap) out[n++] = '\'';
  for (; *s && n + 2 < cap; s++) {
    if (*s == '\'') out[n++] = '\'';
    out[n++] = *s;
  }
  if (n + 1 < cap) out[n++] = '\'';
  out[n < cap ? n : cap - 1] = 0;
}

static int sync_file(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return qx_fail_errno(QX_ERR_IO, errno, "open %s", path);
  int rc = fsync(fd) == 0 ? QX_OK : qx_fail_errno(QX_ERR_IO, errno, "fsync %s", path);
  close(fd);
  return rc;
}

/* Runs "COPY (<query>) TO <tmp>" and moves the result into place as m's file; m->rows becomes
 * the rows written. */
static int copy_to_file(qx_parquet_writer *w, const char *query, qx_parquet_meta *m) {
  char dir[PATH_MAX], path[PATH_MAX], tmp[PATH_MAX + 8];
  qx_parquet_dir(w->olap_dir, m, dir, sizeof dir);
  qx_parquet_path(w->olap_dir, m, path, sizeof path);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  int rc = qx_mkdir_p(dir);
  size_t cap = strlen(query) + 2 * sizeof tmp + 128;
  char *sql = malloc(cap);
  if (rc == QX_OK && !sql) rc = qx_fail(QX_ERR_NOMEM, "out of memory for a COPY");
  if (rc == QX_OK) {
    snprintf(sql, cap, "COPY (%s) TO ", query);
    append_quoted(sql, cap, tmp);
    size_t n = strlen(sql);
    snprintf(sql + n, cap - n, " (FORMAT parquet, COMPRESSION %s, ROW_GROUP_SIZE %d)",
             w->compression, ROW_GROUP_ROWS);
    rc = run_sql_count(w, sql, &m->rows);
  }
  free(sql);
  struct stat st;
  if (rc == QX_OK) rc = sync_file(tmp);
  if (rc == QX_OK && stat(tmp, &st) != 0) rc = qx_fail_errno(QX_ERR_IO, errno, "stat %s", tmp);
  if (rc == QX_OK && rename(tmp, path) != 0) rc = qx_fail_errno(QX_ERR_IO, errno, "rename %s", tmp);
  if (rc == QX_OK) rc = qx_fsync_dir(dir);
  if (rc != QX_OK) {
    unlink(tmp);
    return rc;
  }
  m->bytes = (uint64_t)st.st_size;
  return QX_OK;
}

/* The distinct trading days of a table's rows, with each day's LSN range and row count. */
typedef struct day_files {
  qx_parquet_meta *metas;
  size_t count, cap;
} day_files;

static qx_parquet_meta *day_entry(day_files *d, uint16_t table_id, int32_t day) {
  for (size_t i = 0; i < d->count; i++)
    if (d->metas[i].day == day) return &d->metas[i];
  if (d->count == d->cap) {
    size_t n = d->cap ? d->cap * 2 : 4;
    qx_parquet_meta *grown = realloc(d->metas, n * sizeof *grown);
    if (!grown) return NULL;
    d->metas = grown;
    d->cap = n;
  }
  d->metas[d->count] = (qx_parquet_meta){.table_id = table_id, .day = day};
  return &d->metas[d->count++];
}

static int collect_days(const qx_olap_rows *rows, uint16_t table_id, day_files *d) {
  for (uint32_t i = 0; i < rows->count; i++) {
    const qx_col_chunk *c = rows->chunks[i];
    for (uint32_t r = rows->begin[i]; r < rows->end[i]; r++) {
      qx_parquet_meta *m = day_entry(d, table_id, c->day[r]);
      if (!m) return qx_fail(QX_ERR_NOMEM, "out of memory grouping rows by day");
      if (m->rows++ == 0) m->first_lsn = c->lsn[r];
      m->last_lsn = c->lsn[r];
    }
  }
  return QX_OK;
}

/* Writes the file of one view for the rows of a day that source selects, covering the same
 * LSN range as the table's file of that day (table_day). */
static int write_view(qx_parquet_writer *w, const qx_mv *v, const char *source,
                      const qx_parquet_meta *table_day, qx_parquet_edit *edit) {
  char *partial = qx_mv_sql(v->partial, source);
  char *query = partial ? qx_mv_sql("SELECT * EXCLUDE (date) FROM (%s)", partial) : NULL;
  qx_parquet_meta m = *table_day;
  m.table_id = v->id;
  int rc = query ? copy_to_file(w, query, &m)
                 : qx_fail(QX_ERR_NOMEM, "out of memory for view %s", v->name);
  if (rc == QX_OK) rc = qx_parquet_edit_add(edit, &m);
  free(query);
  free(partial);
  return rc;
}

/* A day's file of the table, then of each materialized view of the table. */
static int write_day(qx_parquet_writer *w, const qx_schema *s, qx_parquet_meta *day,
                     qx_parquet_edit *edit) {
  char source[256];
  snprintf(source, sizeof source, "SELECT * FROM qx_scan('%s', day := %d)", s->name, (int)day->day);
  char *query = qx_mv_sql("SELECT * EXCLUDE (date) FROM (%s)", source);
  if (!query) return qx_fail(QX_ERR_NOMEM, "out of memory for a COPY");
  int rc = copy_to_file(w, query, day);
  free(query);
  if (rc == QX_OK) rc = qx_parquet_edit_add(edit, day);
  int views;
  const qx_mv *v = qx_mv_all(&views);
  for (int i = 0; i < views && rc == QX_OK; i++)
    if (v[i].source_table == (int)s->table_id) rc = write_view(w, &v[i], source, day, edit);
  return rc;
}

static int write_table(qx_parquet_writer *w, const qx_olap_rows *rows, const qx_schema *s,
                       qx_parquet_edit *edit) {
  day_files days = {0};
  int rc = collect_days(rows, (uint16_t)s->table_id, &days);
  for (size_t i = 0; i < days.count && rc == QX_OK; i++)
    rc = write_day(w, s, &days.metas[i], edit);
  free(days.metas);
  return rc;
}

int qx_parquet_write(qx_parquet_writer *w, const qx_olap_snapshot *snap, qx_parquet_edit *edit) {
  int rc = qx_scan_bind(&w->registry, w->con, snap);
  for (int t = QX_TABLE_MIN; t <= QX_TABLE_MAX && rc == QX_OK; t++)
    if (snap->tables[t].rows > 0) rc = write_table(w, &snap->tables[t], qx_schema_by_id(t), edit);
  qx_scan_bind(&w->registry, w->con, NULL);
  return rc;
}

/* "[path, path, ...]" of files, malloc'd. */
static char *file_list(qx_parquet_file *const *files, size_t n) {
  size_t cap = 8;
  for (size_t i = 0; i < n; i++)
    cap += 2 * strlen(files[i]->path) + 4;
  char *list = malloc(cap);
  if (!list) return NULL;
  snprintf(list, cap, "[");
  for (size_t i = 0; i < n; i++) {
    if (i) strncat(list, ", ", cap - strlen(list) - 1);
    append_quoted(list, cap, files[i]->path);
  }
  strncat(list, "]", cap - strlen(list) - 1);
  return list;
}

/* Table files are concatenated; a view's partial rows are combined into one per view key. */
static char *merge_query(const char *list, uint16_t table_id) {
  const qx_mv *v = qx_mv_by_id(table_id);
  char *source = qx_mv_sql(v ? "SELECT * FROM read_parquet(%s, hive_partitioning = true, "
                               "hive_types = {'date': DATE}, union_by_name = true)"
                             : "SELECT * FROM read_parquet(%s, hive_partitioning = false, "
                               "union_by_name = true)",
                           list);
  if (!v || !source) return source;
  char *combined = qx_mv_sql(v->combine, source);
  free(source);
  char *query = combined ? qx_mv_sql("SELECT * EXCLUDE (date) FROM (%s)", combined) : NULL;
  free(combined);
  return query;
}

int qx_parquet_merge(qx_parquet_writer *w, qx_parquet_file *const *files, size_t n,
                     qx_parquet_edit *edit) {
  qx_parquet_meta out = files[0]->meta;
  for (size_t i = 0; i < n; i++) {
    if (files[i]->meta.first_lsn < out.first_lsn) out.first_lsn = files[i]->meta.first_lsn;
    if (files[i]->meta.last_lsn > out.last_lsn) out.last_lsn = files[i]->meta.last_lsn;
  }
  char *list = file_list(files, n);
  char *query = list ? merge_query(list, out.table_id) : NULL;
  int rc = query ? copy_to_file(w, query, &out)
                 : qx_fail(QX_ERR_NOMEM, "out of memory for a merge of %zu files", n);
  free(query);
  free(list);
  for (size_t i = 0; i < n && rc == QX_OK; i++)
    rc = qx_parquet_edit_remove(edit, &files[i]->meta);
  return rc == QX_OK ? qx_parquet_edit_add(edit, &out) : rc;
}
