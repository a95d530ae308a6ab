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

#include "olap/duck_exec.h"
#include "olap/duck_scan.h"
#include "olap/materialized.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/grow.h"
#include "util/io.h"

#define ROW_GROUP_ROWS 122880 /* DuckDB's own unit of parallel scan */

struct qx_parquet_writer {
  duckdb_database db;
  duckdb_connection con;
  qx_scan_registry registry;
  char olap_dir[PATH_MAX];
  char compression[16];
};

static int run_sql(qx_parquet_writer *w, const char *sql) {
  return qx_duck_exec(w->con, sql, "Parquet writer", NULL);
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

static int sync_file(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return qx_fail_errno(QX_ERR_IO, errno, "open %s", path);
  int rc = qx_io_fsync(fd) == 0 ? QX_OK : qx_fail_errno(QX_ERR_IO, errno, "fsync %s", path);
  close(fd);
  return rc;
}

/* Runs "COPY (<query>) TO <tmp>" and moves the result into place as m's file; m->rows becomes
 * the rows written. query is NULL if it could not be built. */
static int copy_to_file(qx_parquet_writer *w, const char *query, qx_parquet_meta *m) {
  char dir[PATH_MAX], path[PATH_MAX], tmp[PATH_MAX + 8];
  qx_parquet_dir(w->olap_dir, m, dir, sizeof dir);
  qx_parquet_path(w->olap_dir, m, path, sizeof path);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  int rc = qx_mkdir_p(dir);
  char options[128];
  snprintf(options, sizeof options, " (FORMAT parquet, COMPRESSION %s, ROW_GROUP_SIZE %d)",
           w->compression, ROW_GROUP_ROWS);
  qx_buffer sql = {0};
  qx_buffer_put_template(&sql, "COPY (%s) TO ", query);
  qx_buffer_put_sql_string(&sql, tmp);
  qx_buffer_puts(&sql, options);
  const char *text = qx_buffer_text(&sql);
  if (rc == QX_OK && !text) rc = qx_fail(QX_ERR_NOMEM, "out of memory for a COPY");
  if (rc == QX_OK) rc = qx_duck_exec(w->con, text, "Parquet writer", &m->rows);
  qx_buffer_free(&sql);
  struct stat st;
  if (rc == QX_OK) rc = sync_file(tmp);
  if (rc == QX_OK && stat(tmp, &st) != 0) rc = qx_fail_errno(QX_ERR_IO, errno, "stat %s", tmp);
  if (rc == QX_OK && qx_io_rename(tmp, path) != 0)
    rc = qx_fail_errno(QX_ERR_IO, errno, "rename %s", tmp);
  if (rc == QX_OK) rc = qx_fsync_dir(dir);
  if (rc != QX_OK) {
    qx_io_unlink(tmp);
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
  if (qx_grow((void **)&d->metas, &d->cap, d->count + 1, sizeof *d->metas, "rows by day") != QX_OK)
    return NULL;
  d->metas[d->count] = (qx_parquet_meta){.table_id = table_id, .day = day};
  return &d->metas[d->count++];
}

static int collect_days(const qx_olap_rows *rows, uint16_t table_id, day_files *d) {
  for (uint32_t i = 0; i < rows->count; i++) {
    const qx_col_chunk *c = rows->chunks[i];
    for (uint32_t r = rows->begin[i]; r < rows->end[i]; r++) {
      qx_parquet_meta *m = day_entry(d, table_id, c->day[r]);
      if (!m) return QX_ERR_NOMEM;
      if (m->rows++ == 0) m->first_lsn = c->lsn[r];
      m->last_lsn = c->lsn[r];
    }
  }
  return QX_OK;
}

/* SELECT * EXCLUDE (date) FROM (<rows>): the rows of a file, whose folder holds the date. */
static void put_file_rows(qx_buffer *out, const char *rows) {
  qx_buffer_put_template(out, "SELECT * EXCLUDE (date) FROM (%s)", rows);
}

/* Writes the file of one view for the rows of a day that source selects, covering the same
 * LSN range as the table's file of that day (table_day). */
static int write_view(qx_parquet_writer *w, const qx_mv *v, const char *source,
                      const qx_parquet_meta *table_day, qx_parquet_edit *edit) {
  qx_buffer partial = {0}, query = {0};
  qx_buffer_put_template(&partial, v->partial, source);
  put_file_rows(&query, qx_buffer_text(&partial));
  qx_parquet_meta m = *table_day;
  m.table_id = v->id;
  int rc = copy_to_file(w, qx_buffer_text(&query), &m);
  if (rc == QX_OK) rc = qx_parquet_edit_add(edit, &m);
  qx_buffer_free(&query);
  qx_buffer_free(&partial);
  return rc;
}

/* A day's file of the table, then of each materialized view of the table. */
static int write_day(qx_parquet_writer *w, const qx_schema *s, qx_parquet_meta *day,
                     qx_parquet_edit *edit) {
  char source[256];
  snprintf(source, sizeof source, "SELECT * FROM qx_scan('%s', day := %d)", s->name, (int)day->day);
  qx_buffer query = {0};
  put_file_rows(&query, source);
  int rc = copy_to_file(w, qx_buffer_text(&query), day);
  qx_buffer_free(&query);
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

/* The query that merges files: read_parquet over them, and for a view, its partial rows
 * combined into one per view key. */
static void put_merge_query(qx_buffer *out, qx_parquet_file *const *files, size_t n,
                            uint16_t table_id) {
  const qx_mv *v = qx_mv_by_id(table_id);
  qx_buffer source = {0};
  qx_buffer_puts(&source, "SELECT * FROM ");
  /* A view's partials are grouped by their date, which only the folder holds. */
  qx_parquet_put_read(&source, files, n, table_id,
                      v ? "hive_partitioning = true, hive_types = {'date': DATE}, "
                          "union_by_name = true"
                        : "hive_partitioning = false, union_by_name = true");
  if (v) {
    qx_buffer combined = {0};
    qx_buffer_put_template(&combined, v->combine, qx_buffer_text(&source));
    put_file_rows(out, qx_buffer_text(&combined));
    qx_buffer_free(&combined);
  } else {
    qx_buffer_puts(out, qx_buffer_text(&source));
  }
  qx_buffer_free(&source);
}

int qx_parquet_merge(qx_parquet_writer *w, qx_parquet_file *const *files, size_t n,
                     qx_parquet_edit *edit) {
  qx_parquet_meta out = files[0]->meta;
  for (size_t i = 0; i < n; i++) {
    if (files[i]->meta.first_lsn < out.first_lsn) out.first_lsn = files[i]->meta.first_lsn;
    if (files[i]->meta.last_lsn > out.last_lsn) out.last_lsn = files[i]->meta.last_lsn;
  }
  qx_buffer query = {0};
  put_merge_query(&query, files, n, out.table_id);
  int rc = copy_to_file(w, qx_buffer_text(&query), &out);
  qx_buffer_free(&query);
  for (size_t i = 0; i < n && rc == QX_OK; i++)
    rc = qx_parquet_edit_remove(edit, &files[i]->meta);
  return rc == QX_OK ? qx_parquet_edit_add(edit, &out) : rc;
}
