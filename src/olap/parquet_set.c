/* Building Parquet sets from edits, and the file reference counts that decide when a merged
 * file may be deleted (see parquet_set.h). */
#include "olap/parquet_set.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "olap/materialized.h"
#include "olap/trading_day.h"
#include "util/error.h"
#include "util/grow.h"
#include "util/io.h"
#include "util/require.h"

static int push(qx_parquet_meta **arr, size_t *count, size_t *cap, const qx_parquet_meta *m) {
  int rc = qx_grow((void **)arr, cap, *count + 1, sizeof **arr, "a Parquet edit");
  if (rc != QX_OK) return rc;
  (*arr)[(*count)++] = *m;
  return QX_OK;
}

int qx_parquet_edit_add(qx_parquet_edit *e, const qx_parquet_meta *m) {
  return push(&e->added, &e->added_count, &e->added_cap, m);
}

int qx_parquet_edit_remove(qx_parquet_edit *e, const qx_parquet_meta *m) {
  return push(&e->removed, &e->removed_count, &e->removed_cap, m);
}

int qx_parquet_edit_empty(const qx_parquet_edit *e) {
  return !e->has_olap_lsn && e->added_count == 0 && e->removed_count == 0;
}

void qx_parquet_edit_free(qx_parquet_edit *e) {
  free(e->added);
  free(e->removed);
  *e = (qx_parquet_edit){0};
}

void qx_parquet_dir(const char *olap_dir, const qx_parquet_meta *m, char *out, size_t cap) {
  const char *name = qx_olap_table_name(m->table_id);
  char day[16];
  qx_format_day(m->day, day);
  snprintf(out, cap, "%s/%s/date=%s", olap_dir, name ? name : "unknown", day);
}

void qx_parquet_path(const char *olap_dir, const qx_parquet_meta *m, char *out, size_t cap) {
  qx_parquet_dir(olap_dir, m, out, cap);
  size_t len = strlen(out);
  int n = snprintf(out + len, cap - len, "/part-%llu-%llu.parquet",
                   (unsigned long long)m->first_lsn, (unsigned long long)m->last_lsn);
  QX_REQUIRE(n > 0 && len + (size_t)n < cap); /* qx_vset_init refuses folders without room */
}

static int same_file(const qx_parquet_meta *a, const qx_parquet_meta *b) {
  return a->table_id == b->table_id && a->day == b->day && a->first_lsn == b->first_lsn &&
         a->last_lsn == b->last_lsn;
}

static int cmp_files(const void *pa, const void *pb) {
  const qx_parquet_meta *a = &(*(qx_parquet_file *const *)pa)->meta;
  const qx_parquet_meta *b = &(*(qx_parquet_file *const *)pb)->meta;
  if (a->table_id != b->table_id) return a->table_id < b->table_id ? -1 : 1;
  if (a->day != b->day) return a->day < b->day ? -1 : 1;
  return a->first_lsn < b->first_lsn ? -1 : a->first_lsn > b->first_lsn;
}

qx_parquet_set *qx_parquet_set_create(void) {
  qx_parquet_set *s = calloc(1, sizeof *s);
  if (s) atomic_init(&s->refs, 1);
  return s;
}

void qx_parquet_set_ref(qx_parquet_set *s) {
  atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}

static void file_unref(qx_parquet_file *f) {
  if (atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) != 1) return;
  if (atomic_load(&f->obsolete)) qx_io_unlink(f->path);
  free(f);
}

void qx_parquet_set_unref(qx_parquet_set *s) {
  if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1) return;
  for (size_t i = 0; i < s->count; i++)
    file_unref(s->files[i]);
  free(s->files);
  free(s);
}

static int is_removed(const qx_parquet_edit *e, const qx_parquet_meta *m) {
  for (size_t i = 0; i < e->removed_count; i++)
    if (same_file(&e->removed[i], m)) return 1;
  return 0;
}

static int add_new_files(const qx_parquet_edit *e, const char *olap_dir, qx_parquet_set *s) {
  for (size_t i = 0; i < e->added_count; i++) {
    qx_parquet_file *f = calloc(1, sizeof *f);
    if (!f) return qx_fail(QX_ERR_NOMEM, "out of memory for a Parquet file");
    atomic_init(&f->refs, 1);
    f->meta = e->added[i];
    qx_parquet_path(olap_dir, &f->meta, f->path, sizeof f->path);
    s->files[s->count++] = f;
  }
  return QX_OK;
}

int qx_parquet_set_apply(qx_parquet_set *base, const qx_parquet_edit *e, const char *olap_dir,
                         qx_parquet_set **out) {
  if (qx_parquet_edit_empty(e)) {
    qx_parquet_set_ref(base);
    *out = base;
    return QX_OK;
  }
  qx_parquet_set *s = qx_parquet_set_create();
  if (s) s->files = malloc((base->count + e->added_count + 1) * sizeof *s->files);
  if (!s || !s->files) {
    qx_parquet_set_unref(s);
    return qx_fail(QX_ERR_NOMEM, "out of memory for a Parquet set");
  }
  s->olap_lsn = e->has_olap_lsn ? e->olap_lsn : base->olap_lsn;
  size_t removed = 0;
  for (size_t i = 0; i < base->count; i++) {
    qx_parquet_file *f = base->files[i];
    if (is_removed(e, &f->meta)) {
      removed++;
      continue;
    }
    atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
    s->files[s->count++] = f;
  }
  int rc = removed == e->removed_count
               ? add_new_files(e, olap_dir, s)
               : qx_fail(QX_ERR_CORRUPT, "edit removes a Parquet file the MANIFEST does not hold");
  if (rc != QX_OK) {
    qx_parquet_set_unref(s);
    return rc;
  }
  qsort(s->files, s->count, sizeof *s->files, cmp_files);
  *out = s;
  return QX_OK;
}

void qx_parquet_set_retire(const qx_parquet_set *base, const qx_parquet_edit *e) {
  for (size_t i = 0; i < base->count; i++)
    if (is_removed(e, &base->files[i]->meta)) atomic_store(&base->files[i]->obsolete, 1);
}

size_t qx_parquet_put_read(qx_buffer *out, qx_parquet_file *const *files, size_t n,
                           uint16_t table_id, const char *options) {
  size_t named = 0;
  for (size_t i = 0; i < n; i++) {
    if (files[i]->meta.table_id != table_id) continue;
    qx_buffer_puts(out, named++ ? ", " : "read_parquet([");
    qx_buffer_put_sql_string(out, files[i]->path);
  }
  if (named) {
    qx_buffer_puts(out, "], ");
    qx_buffer_puts(out, options);
    qx_buffer_puts(out, ")");
  }
  return named;
}
