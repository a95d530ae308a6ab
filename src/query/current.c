/* qx_current (see current.h): an engine iterator over the table's key range at the snapshot's
 * engine pin, each record's projected fields written straight into DuckDB's vectors, with the
 * columns and types of the history views (qx_scan's). */
#include "query/current.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "olap/trading_day.h"
#include "util/error.h"

typedef struct current_bind {
  const qx_schema *schema;
  int time_column;
  qx_db *db;
  const qx_olap_snapshot *snapshot;
} current_bind;

typedef struct current_state {
  qx_scan_projection projection;
  qx_db_iter *it;
} current_state;

/* The rows of the table's history at snap: at least as many as it has keys, which is what
 * DuckDB needs to put the smaller side of a join into its hash table. */
static uint64_t history_rows(const qx_olap_snapshot *snap, uint16_t table_id) {
  uint64_t rows = snap->tables[table_id].rows;
  for (size_t i = 0; i < snap->files->count; i++)
    if (snap->files->files[i]->meta.table_id == table_id) rows += snap->files->files[i]->meta.rows;
  return rows;
}

/* A view over qx_current is bound when it is created, under whatever snapshot: the engine pin is
 * needed only when a query runs it (init). */
static void current_bind_fn(duckdb_bind_info info) {
  const qx_engine_source *src = duckdb_bind_get_extra_info(info);
  duckdb_value v = duckdb_bind_get_parameter(info, 0);
  char *name = duckdb_get_varchar(v);
  duckdb_destroy_value(&v);
  const qx_schema *schema = name ? qx_schema_by_name(name) : NULL;
  char why[128];
  snprintf(why, sizeof why, "qx_current: no table named '%s'", name ? name : "NULL");
  duckdb_free(name);
  current_bind *b = schema ? calloc(1, sizeof *b) : NULL;
  if (!b) {
    duckdb_bind_set_error(info, schema ? "qx_current: out of memory" : why);
    return;
  }
  *b = (current_bind){schema, qx_time_column(schema), src->db,
                      qx_scan_bound_snapshot(src->registry, info)};
  duckdb_bind_set_bind_data(info, b, free);
  qx_scan_declare_columns(info, schema);
  if (b->snapshot)
    duckdb_bind_set_cardinality(info, history_rows(b->snapshot, (uint16_t)schema->table_id), false);
}

static void free_state(void *p) {
  current_state *s = p;
  free(s->projection.columns);
  qx_db_iter_destroy(s->it);
  free(s);
}

static int start_iterator(const current_bind *b, current_state *s) {
  if (!b->snapshot) return qx_fail(QX_ERR_INVALID_ARG, "this connection reads no snapshot");
  if (!b->snapshot->engine.snapshot)
    return qx_fail(QX_ERR_INVALID_ARG,
                   "the engine no longer holds the state at LSN %" PRIu64
                   " (analytics were catching up after a restart); run the query again",
                   b->snapshot->lsn);
  uint8_t prefix[2] = {(uint8_t)(b->schema->table_id >> 8), (uint8_t)b->schema->table_id};
  return qx_db_iter_create_prefix(b->db, b->snapshot->engine.snapshot, prefix, sizeof prefix,
                                  &s->it);
}

static void current_init_fn(duckdb_init_info info) {
  const current_bind *b = duckdb_init_get_bind_data(info);
  current_state *s = calloc(1, sizeof *s);
  int rc = s ? qx_scan_projection_init(info, &s->projection)
             : qx_fail(QX_ERR_NOMEM, "out of memory for a scan");
  if (rc == QX_OK) rc = start_iterator(b, s);
  if (rc != QX_OK) {
    char why[512];
    snprintf(why, sizeof why, "qx_current('%s'): %s", b->schema->name, qx_last_error());
    if (s) free_state(s);
    duckdb_init_set_error(info, why);
    return;
  }
  duckdb_init_set_max_threads(info, 1);
  duckdb_init_set_init_data(info, s, free_state);
}

/* Writes the next records into output; returns QX_OK or why not. */
static int fill(const current_bind *b, current_state *s, duckdb_data_chunk output) {
  idx_t n = 0, cap = duckdb_vector_size();
  for (; n < cap && qx_db_iter_valid(s->it); n++, qx_db_iter_next(s->it)) {
    size_t size;
    const uint8_t *record = qx_db_iter_value(s->it, &size);
    unsigned version = qx_schema_version_of_size(b->schema, (uint32_t)size);
    if (version == 0)
      return qx_fail(QX_ERR_CORRUPT, "the record at LSN %" PRIu64 " has %zu bytes, no version's",
                     qx_db_iter_lsn(s->it), size);
    qx_scan_record r = {b->schema, b->time_column, record,
                        qx_schema_column_count(b->schema, version), qx_db_iter_lsn(s->it)};
    qx_scan_put_record(&s->projection, output, n, &r);
  }
  duckdb_data_chunk_set_size(output, n);
  return qx_db_iter_status(s->it);
}

static void current_fn(duckdb_function_info info, duckdb_data_chunk output) {
  const current_bind *b = duckdb_function_get_bind_data(info);
  current_state *s = duckdb_function_get_init_data(info);
  if (fill(b, s, output) != QX_OK) {
    char why[512];
    snprintf(why, sizeof why, "qx_current('%s'): %s", b->schema->name, qx_last_error());
    duckdb_function_set_error(info, why);
  }
}

int qx_current_register(duckdb_connection con, qx_engine_source *source) {
  duckdb_table_function f = qx_table_function_create("qx_current", 1);
  return qx_table_function_register(con, f, source, current_bind_fn, current_init_fn, current_fn);
}
