/* qx_current (see current.h): engine iterators over the table's key range at the snapshot's
 * engine pin, each record's projected fields written straight into DuckDB's vectors, with the
 * columns and types of the history views (qx_scan's). The range is cut where the engine's
 * files are, and DuckDB's threads take the pieces in turn. */
#include "query/current.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "lsm/engine.h"
#include "olap/trading_day.h"
#include "qaxdb/key.h"
#include "util/error.h"

typedef struct current_bind {
  const qx_schema *schema;
  int time_column;
  qx_db *db;
  const qx_olap_snapshot *snapshot;
} current_bind;

#define CURRENT_PARTS 8 /* key ranges a scan is cut into, taken by DuckDB's threads in turn */

/* The scan: range i is the keys in [bounds[i], bounds[i + 1]). */
typedef struct current_scan {
  qx_scan_projection projection;
  qx_split_key bounds[CURRENT_PARTS + 1];
  size_t ranges;
  atomic_size_t next_range;
} current_scan;

/* One thread's place in it. */
typedef struct current_cursor {
  qx_db_iter *it; /* NULL: take the next range */
} current_cursor;

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

static void free_scan(void *p) {
  current_scan *s = p;
  free(s->projection.columns);
  free(s);
}

static void free_cursor(void *p) {
  current_cursor *c = p;
  qx_db_iter_destroy(c->it);
  free(c);
}

static qx_split_key table_prefix(uint16_t table_id) {
  qx_split_key k;
  k.len = (uint32_t)qx_key_table_prefix(table_id, k.key);
  return k;
}

/* Cuts the table's key range where the engine's files do. */
static int plan_scan(const current_bind *b, current_scan *s) {
  if (!b->snapshot) return qx_fail(QX_ERR_INVALID_ARG, "this connection reads no snapshot");
  if (!b->snapshot->engine.snapshot)
    return qx_fail(QX_ERR_INVALID_ARG,
                   "the engine no longer holds the state at LSN %" PRIu64
                   " (analytics were catching up after a restart); run the query again",
                   b->snapshot->lsn);
  uint16_t id = (uint16_t)b->schema->table_id;
  s->bounds[0] = table_prefix(id);
  size_t cuts =
      qx_db_split_keys(b->db, s->bounds[0].key, s->bounds[0].len, CURRENT_PARTS - 1, s->bounds + 1);
  s->ranges = cuts + 1;
  s->bounds[s->ranges] = table_prefix((uint16_t)(id + 1));
  atomic_init(&s->next_range, 0);
  return QX_OK;
}

static void current_init_fn(duckdb_init_info info) {
  const current_bind *b = duckdb_init_get_bind_data(info);
  current_scan *s = calloc(1, sizeof *s);
  int rc = s ? qx_scan_projection_init(info, &s->projection)
             : qx_fail(QX_ERR_NOMEM, "out of memory for a scan");
  if (rc == QX_OK) rc = plan_scan(b, s);
  if (rc != QX_OK) {
    char why[512];
    snprintf(why, sizeof why, "qx_current('%s'): %s", b->schema->name, qx_last_error());
    if (s) free_scan(s);
    duckdb_init_set_error(info, why);
    return;
  }
  duckdb_init_set_max_threads(info, s->ranges);
  duckdb_init_set_init_data(info, s, free_scan);
}

static void current_local_init_fn(duckdb_init_info info) {
  current_cursor *c = calloc(1, sizeof *c);
  if (!c) {
    duckdb_init_set_error(info, "qx_current: out of memory");
    return;
  }
  duckdb_init_set_init_data(info, c, free_cursor);
}

/* Moves c to the next range nobody has taken (c->it stays NULL when none is left). */
static int take_range(const current_bind *b, current_scan *s, current_cursor *c) {
  qx_db_iter_destroy(c->it);
  c->it = NULL;
  size_t r = atomic_fetch_add(&s->next_range, 1);
  if (r >= s->ranges) return QX_OK;
  const qx_split_key *from = &s->bounds[r], *to = &s->bounds[r + 1];
  return qx_db_iter_create(b->db, b->snapshot->engine.snapshot, from->key, from->len, to->key,
                           to->len, &c->it);
}

/* Writes the next records of c's ranges into output; returns QX_OK or why not. */
static int fill(const current_bind *b, current_scan *s, current_cursor *c,
                duckdb_data_chunk output) {
  idx_t n = 0, cap = duckdb_vector_size();
  int rc = c->it ? QX_OK : take_range(b, s, c);
  while (rc == QX_OK && n < cap && c->it) {
    if (!qx_db_iter_valid(c->it)) {
      rc = qx_db_iter_status(c->it);
      if (rc == QX_OK) rc = take_range(b, s, c);
      continue;
    }
    size_t size;
    const uint8_t *record = qx_db_iter_value(c->it, &size);
    unsigned version = qx_schema_version_of_size(b->schema, (uint32_t)size);
    if (version == 0) {
      rc = qx_fail(QX_ERR_CORRUPT, "the record at LSN %" PRIu64 " has %zu bytes, no version's",
                   qx_db_iter_lsn(c->it), size);
      break;
    }
    qx_scan_record r = {b->schema, b->time_column, record,
                        qx_schema_column_count(b->schema, version), qx_db_iter_lsn(c->it)};
    qx_scan_put_record(&s->projection, output, n++, &r);
    qx_db_iter_next(c->it);
  }
  duckdb_data_chunk_set_size(output, rc == QX_OK ? n : 0);
  return rc;
}

static void current_fn(duckdb_function_info info, duckdb_data_chunk output) {
  const current_bind *b = duckdb_function_get_bind_data(info);
  if (fill(b, duckdb_function_get_init_data(info), duckdb_function_get_local_init_data(info),
           output) != QX_OK) {
    char why[512];
    snprintf(why, sizeof why, "qx_current('%s'): %s", b->schema->name, qx_last_error());
    duckdb_function_set_error(info, why);
  }
}

int qx_current_register(duckdb_connection con, qx_engine_source *source) {
  duckdb_table_function f = qx_table_function_create("qx_current", 1);
  duckdb_table_function_set_local_init(f, current_local_init_fn);
  return qx_table_function_register(con, f, source, current_bind_fn, current_init_fn, current_fn);
}
