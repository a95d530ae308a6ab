/* qx_lookup (see lookup.h): builds the record key from the arguments, reads the record through
 * the engine snapshot pinned with the query's Parquet snapshot when the query is bound, and
 * emits it with the columns and types of the table's view (qx_scan_put_record). */
#include "query/lookup.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "olap/trading_day.h"
#include "qaxdb/key.h"
#include "record/text.h"
#include "util/error.h"

/* The argument of parameter i as text (NULL if SQL NULL); the caller frees it. */
static char *argument(duckdb_bind_info info, idx_t i) {
  duckdb_value v = duckdb_bind_get_parameter(info, i);
  char *text = duckdb_is_null_value(v) ? NULL : duckdb_get_varchar(v);
  duckdb_destroy_value(&v);
  return text;
}

/* Encodes the key whose parts are given after the table name; returns NULL or an error. */
static const char *key_from_arguments(duckdb_bind_info info, const qx_schema *s, uint8_t *key,
                                      size_t *key_len, char *why, size_t why_size) {
  char *texts[QX_LOOKUP_KEY_PARTS];
  const char *error = NULL;
  for (uint32_t k = 0; k < QX_LOOKUP_KEY_PARTS; k++)
    texts[k] = argument(info, 1 + k);
  for (uint32_t k = 0; k < QX_LOOKUP_KEY_PARTS && !error; k++) {
    if (k < s->key_column_count && !texts[k])
      snprintf(why, why_size, "qx_lookup: %s key %s is NULL", s->name,
               s->columns[s->key_columns[k]].name);
    else if (k >= s->key_column_count && texts[k])
      snprintf(why, why_size, "qx_lookup: %s has a key of %u column(s), more were given", s->name,
               s->key_column_count);
    else
      continue;
    error = why;
  }
  if (!error &&
      qx_parse_key(s, (const char *const *)texts, s->key_column_count, key, key_len) != QX_OK) {
    snprintf(why, why_size, "qx_lookup: %s key: %s", s->name, qx_last_error());
    error = why;
  }
  for (uint32_t k = 0; k < QX_LOOKUP_KEY_PARTS; k++)
    duckdb_free(texts[k]);
  return error;
}

/* What bind found: r.record is a copy of the record, or NULL if the key does not exist. */
typedef struct lookup_bind {
  qx_scan_record r;
} lookup_bind;

typedef struct lookup_state {
  qx_scan_projection projection;
  int emitted;
} lookup_state;

static void free_bind(void *p) {
  lookup_bind *b = p;
  free((void *)b->r.record);
  free(b);
}

/* Reads the record with key at snap into a new bind result (no row if it is absent). */
static const char *find(duckdb_bind_info info, qx_db *db, const qx_snapshot *snap,
                        const qx_schema *s, const uint8_t *key, size_t key_len, char *why,
                        size_t why_size) {
  lookup_bind *b = calloc(1, sizeof *b);
  if (!b) return "qx_lookup: out of memory";
  b->r.schema = s;
  b->r.time_column = qx_time_column(s);
  duckdb_bind_set_bind_data(info, b, free_bind);
  qx_scan_declare_columns(info, s);
  qx_db_value v;
  int rc = qx_db_get(db, snap, key, key_len, &v);
  if (rc == QX_ERR_NOT_FOUND) return NULL;
  if (rc != QX_OK) {
    snprintf(why, why_size, "qx_lookup: %s", qx_last_error());
    return why;
  }
  unsigned version = qx_schema_version_of_size(s, (uint32_t)v.size);
  uint8_t *copy = NULL;
  const char *error = NULL;
  if (version == 0) {
    snprintf(why, why_size,
             "qx_lookup: the %s record at LSN %" PRIu64 " has %zu bytes, no version's size",
             s->name, v.lsn, v.size);
    error = why;
  } else if (!(copy = malloc(v.size))) {
    error = "qx_lookup: out of memory";
  } else {
    memcpy(copy, v.data, v.size);
    b->r.record = copy;
    b->r.columns = qx_schema_column_count(s, version);
    b->r.lsn = v.lsn;
  }
  qx_db_value_release(&v);
  return error;
}

static const char *bind_lookup(duckdb_bind_info info, const qx_engine_source *src, char *why,
                               size_t why_size) {
  const qx_olap_snapshot *snap = qx_scan_bound_snapshot(src->registry, info);
  char *name = argument(info, 0);
  const qx_schema *s = name ? qx_schema_by_name(name) : NULL;
  if (!s) snprintf(why, why_size, "qx_lookup: no table named '%s'", name ? name : "NULL");
  duckdb_free(name);
  if (!s) return why;
  if (!snap) return "qx_lookup: this connection reads no snapshot";
  if (!snap->engine.snapshot) {
    snprintf(why, why_size,
             "qx_lookup: the engine no longer holds the state at LSN %" PRIu64
             " (analytics were catching up after a restart); run the query again",
             snap->lsn);
    return why;
  }
  uint8_t key[QX_KEY_MAX];
  size_t key_len = 0;
  const char *error = key_from_arguments(info, s, key, &key_len, why, why_size);
  return error ? error : find(info, src->db, snap->engine.snapshot, s, key, key_len, why, why_size);
}

static void lookup_bind_fn(duckdb_bind_info info) {
  char why[512];
  const char *error = bind_lookup(info, duckdb_bind_get_extra_info(info), why, sizeof why);
  if (error) duckdb_bind_set_error(info, error);
}

static void free_state(void *p) {
  lookup_state *s = p;
  free(s->projection.columns);
  free(s);
}

static void lookup_init_fn(duckdb_init_info info) {
  lookup_state *s = calloc(1, sizeof *s);
  if (!s || qx_scan_projection_init(info, &s->projection) != QX_OK) {
    free(s);
    duckdb_init_set_error(info, "qx_lookup: out of memory");
    return;
  }
  duckdb_init_set_init_data(info, s, free_state);
}

static void lookup_fn(duckdb_function_info info, duckdb_data_chunk output) {
  const lookup_bind *b = duckdb_function_get_bind_data(info);
  lookup_state *s = duckdb_function_get_init_data(info);
  idx_t rows = b->r.record && !s->emitted ? 1 : 0;
  if (rows) qx_scan_put_record(&s->projection, output, 0, &b->r);
  s->emitted = 1;
  duckdb_data_chunk_set_size(output, rows);
}

int qx_lookup_register(duckdb_connection con, qx_engine_source *source) {
  duckdb_table_function f = qx_table_function_create("qx_lookup", 1 + QX_LOOKUP_KEY_PARTS);
  return qx_table_function_register(con, f, source, lookup_bind_fn, lookup_init_fn, lookup_fn);
}
