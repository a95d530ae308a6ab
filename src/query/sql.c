/* The SQL engine (qaxdb/sql.h): a DuckDB database per qx_sql, locked down for user SQL, with
 * the table views re-pointed at each query's snapshot and a result cache keyed by query text
 * and LSN. A query is cached only if its result is a function of the LSN: SELECTs that call
 * no function DuckDB's catalog marks VOLATILE or CONSISTENT_WITHIN_QUERY (random(), now(),
 * gen_random_uuid(), ...) nor one of the clock keywords the parser turns into such calls.
 *
 * Safety is in two layers. Every statement is prepared first and only SELECT and EXPLAIN run.
 * Under that, DuckDB is configured so that a SELECT cannot reach the file system outside the
 * data folder's olap/ directory (enable_external_access off, allowed_directories), cannot load
 * extensions, and cannot change these settings (lock_configuration). */
#include "qaxdb/sql.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lsm/engine.h"
#include "olap/duck_exec.h"
#include "olap/duck_scan.h"
#include "query/catalog.h"
#include "query/current.h"
#include "query/idle_runner.h"
#include "query/lookup.h"
#include "query/pg_catalog.h"
#include "query/result.h"
#include "query/sql_lexer.h"
#include "query/udf.h"
#include "util/error.h"
#include "util/grow.h"
#include "util/require.h"

typedef struct cache_entry {
  char *text;
  qx_result_table *table;
} cache_entry;

struct qx_sql {
  qx_db *db;
  qx_olap *olap;
  qx_sql_options opt;
  duckdb_database duck;
  duckdb_connection con;
  qx_scan_registry registry;
  qx_engine_source engine_source; /* for qx_lookup and qx_current */
  qx_idle_runner *runner;         /* options.background: where DuckDB runs */
  pthread_mutex_t mu;             /* one query at a time on con */
  pthread_mutex_t interrupt_mu;   /* guards running and interrupted */
  int running;                    /* statements are running on con */
  int interrupted;                /* qx_sql_interrupt was called while they ran */
  qx_parquet_set *views_for;      /* the set the views were last defined over */
  uint64_t cache_lsn;             /* the LSN every cached result was computed at */
  cache_entry *cache;
  uint32_t cache_count, cache_next;
  char *volatile_names; /* " name name ... ": calls that make a result uncacheable */
};

struct qx_sql_result {
  qx_result_table *table;
  qx_olap_snapshot *snapshot; /* NULL for a table received from elsewhere, read at lsn */
  uint64_t lsn;
  int cached;
};

void qx_sql_options_init(qx_sql_options *o) {
  *o = (qx_sql_options){.threads = 0, .memory_limit = 0, .cache_entries = 64, .see_latest = 1};
}

/* ---- setting up DuckDB ---- */

static int exec(duckdb_connection con, const char *sql) {
  return qx_duck_exec(con, sql, sql, NULL);
}

static int configure(qx_sql *s) {
  char sql[PATH_MAX + 128];
  int rc = QX_OK;
  if (s->opt.threads > 0) {
    snprintf(sql, sizeof sql, "SET threads = %d", s->opt.threads);
    rc = exec(s->con, sql);
  }
  if (rc == QX_OK && s->opt.memory_limit) {
    snprintf(sql, sizeof sql, "SET memory_limit = '%lluB'",
             (unsigned long long)s->opt.memory_limit);
    rc = exec(s->con, sql);
  }
  const char *olap_dir = qx_db_olap_dir(s->db);
  if (strchr(olap_dir, '\''))
    return qx_fail(QX_ERR_INVALID_ARG, "data folder path contains a quote: %s", qx_db_dir(s->db));
  snprintf(sql, sizeof sql, "SET allowed_directories = ['%s/']", olap_dir);
  const char *steps[] = {
      sql,
      "SET enable_external_access = false",
      "SET autoinstall_known_extensions = false",
      "SET autoload_known_extensions = false",
      "SET allow_community_extensions = false",
      "SET parquet_metadata_cache = true",
      "SET search_path = 'main,qx_pg'", /* QX_PG_SCHEMA after main */
      "SET lock_configuration = true",
  };
  for (size_t i = 0; i < sizeof steps / sizeof *steps && rc == QX_OK; i++)
    rc = exec(s->con, steps[i]);
  return rc;
}

static int views_at(qx_sql *s, qx_olap_snapshot *snap);

/* Views and macros are bound when created, so they are created under a snapshot. */
static int create_catalog(qx_sql *s) {
  qx_olap_snapshot *snap;
  int rc = qx_olap_snapshot_acquire(s->olap, &snap);
  if (rc != QX_OK) return rc;
  rc = qx_scan_bind(&s->registry, s->con, snap);
  if (rc == QX_OK) rc = views_at(s, snap);
  if (rc == QX_OK) rc = qx_catalog_create(s->con);
  if (rc == QX_OK) rc = qx_pg_catalog_create(s->con);
  qx_scan_bind(&s->registry, s->con, NULL);
  qx_olap_snapshot_release(snap);
  return rc;
}

/* Names that read the clock but that the catalog does not list as such: keywords the parser
 * turns into calls (current_timestamp is get_current_timestamp()), and two functions DuckDB
 * 1.4 marks CONSISTENT although they read the clock. */
static const char clock_names[] =
    "current_timestamp current_time localtimestamp localtime current_localtimestamp "
    "current_localtime ";

/* Asks DuckDB which functions may return different results for the same arguments within a
 * database state: s->volatile_names, " name name ... name ". */
static int load_volatile_names(qx_sql *s) {
  duckdb_result res;
  if (duckdb_query(s->con,
                   "SELECT string_agg(DISTINCT lower(function_name), ' ') FROM duckdb_functions() "
                   "WHERE stability IN ('VOLATILE', 'CONSISTENT_WITHIN_QUERY')",
                   &res) == DuckDBError) {
    int rc = qx_fail(QX_ERR_SQL, "listing volatile functions: %s", duckdb_result_error(&res));
    duckdb_destroy_result(&res);
    return rc;
  }
  duckdb_data_chunk chunk = duckdb_fetch_chunk(res);
  duckdb_vector v =
      chunk && duckdb_data_chunk_get_size(chunk) ? duckdb_data_chunk_get_vector(chunk, 0) : NULL;
  uint64_t *valid = v ? duckdb_vector_get_validity(v) : NULL;
  duckdb_string_t *names =
      v && (!valid || duckdb_validity_row_is_valid(valid, 0)) ? duckdb_vector_get_data(v) : NULL;
  uint32_t len = names ? duckdb_string_t_length(names[0]) : 0;
  s->volatile_names = malloc((size_t)len + sizeof clock_names + 2);
  if (s->volatile_names)
    snprintf(s->volatile_names, (size_t)len + sizeof clock_names + 2, " %s%.*s ", clock_names,
             (int)len, names ? duckdb_string_t_data(&names[0]) : "");
  if (chunk) duckdb_destroy_data_chunk(&chunk);
  duckdb_destroy_result(&res);
  return s->volatile_names ? QX_OK : qx_fail(QX_ERR_NOMEM, "out of memory for function names");
}

static int start_duckdb(void *arg) {
  qx_sql *s = arg;
  if (duckdb_open(NULL, &s->duck) == DuckDBError || duckdb_connect(s->duck, &s->con) == DuckDBError)
    return qx_fail(QX_ERR_SQL, "cannot start DuckDB");
  s->engine_source = (qx_engine_source){.db = s->db, .registry = &s->registry};
  int rc = qx_scan_register(s->con, &s->registry);
  if (rc == QX_OK) rc = qx_lookup_register(s->con, &s->engine_source);
  if (rc == QX_OK) rc = qx_current_register(s->con, &s->engine_source);
  if (rc == QX_OK) rc = qx_register_udfs(s->con);
  if (rc == QX_OK) rc = create_catalog(s);
  if (rc == QX_OK && s->opt.cache_entries) rc = load_volatile_names(s);
  if (rc == QX_OK) rc = configure(s);
  return rc;
}

int qx_sql_open(qx_db *db, const qx_sql_options *options, qx_sql **out) {
  qx_olap *olap = qx_db_olap(db);
  if (!olap) return QX_ERR_INVALID_ARG;
  qx_sql *s = calloc(1, sizeof *s);
  if (!s) return qx_fail(QX_ERR_NOMEM, "out of memory for the SQL engine");
  s->db = db;
  s->olap = olap;
  if (options)
    s->opt = *options;
  else
    qx_sql_options_init(&s->opt);
  int rc = qx_scan_registry_init(&s->registry);
  if (rc == QX_OK &&
      (pthread_mutex_init(&s->mu, NULL) != 0 || pthread_mutex_init(&s->interrupt_mu, NULL) != 0))
    rc = qx_fail(QX_ERR_NOMEM, "cannot create the SQL engine's lock");
  if (rc == QX_OK && s->opt.cache_entries) {
    s->cache = calloc(s->opt.cache_entries, sizeof *s->cache);
    if (!s->cache) rc = qx_fail(QX_ERR_NOMEM, "out of memory for the result cache");
  }
  if (rc == QX_OK)
    rc = s->opt.background ? qx_idle_runner_start(start_duckdb, s, &s->runner) : start_duckdb(s);
  if (rc != QX_OK) {
    qx_sql_close(s);
    return rc;
  }
  *out = s;
  return QX_OK;
}

static void cache_clear(qx_sql *s) {
  for (uint32_t i = 0; i < s->cache_count; i++) {
    free(s->cache[i].text);
    qx_result_table_unref(s->cache[i].table);
  }
  s->cache_count = s->cache_next = 0;
}

void qx_sql_close(qx_sql *s) {
  if (!s) return;
  cache_clear(s);
  free(s->cache);
  free(s->volatile_names);
  qx_parquet_set_unref(s->views_for);
  qx_idle_runner_stop(s->runner);
  if (s->con) duckdb_disconnect(&s->con);
  if (s->duck) duckdb_close(&s->duck);
  qx_scan_registry_destroy(&s->registry);
  pthread_mutex_destroy(&s->mu);
  pthread_mutex_destroy(&s->interrupt_mu);
  free(s);
}

/* ---- the result cache ---- */

static qx_result_table *cache_find(qx_sql *s, const char *text, uint64_t lsn) {
  if (lsn != s->cache_lsn) {
    cache_clear(s);
    s->cache_lsn = lsn;
    return NULL;
  }
  for (uint32_t i = 0; i < s->cache_count; i++)
    if (strcmp(s->cache[i].text, text) == 0) return s->cache[i].table;
  return NULL;
}

static void cache_put(qx_sql *s, const char *text, qx_result_table *t) {
  if (!s->opt.cache_entries) return;
  char *copy = strdup(text);
  if (!copy) return;
  cache_entry *e = &s->cache[s->cache_next];
  if (s->cache_count == s->opt.cache_entries) {
    free(e->text);
    qx_result_table_unref(e->table);
  } else {
    s->cache_count++;
  }
  e->text = copy;
  e->table = t;
  qx_result_table_ref(t);
  s->cache_next = (s->cache_next + 1) % s->opt.cache_entries;
}

/* ---- running statements ---- */

static const char *statement_name(duckdb_statement_type t) {
  switch (t) {
  case DUCKDB_STATEMENT_TYPE_COPY:
    return "COPY";
  case DUCKDB_STATEMENT_TYPE_ATTACH:
    return "ATTACH";
  case DUCKDB_STATEMENT_TYPE_DETACH:
    return "DETACH";
  case DUCKDB_STATEMENT_TYPE_LOAD:
    return "INSTALL/LOAD";
  case DUCKDB_STATEMENT_TYPE_SET:
  case DUCKDB_STATEMENT_TYPE_VARIABLE_SET:
    return "SET";
  case DUCKDB_STATEMENT_TYPE_EXPORT:
    return "EXPORT";
  case DUCKDB_STATEMENT_TYPE_INSERT:
  case DUCKDB_STATEMENT_TYPE_UPDATE:
  case DUCKDB_STATEMENT_TYPE_DELETE:
    return "INSERT/UPDATE/DELETE";
  default:
    return "this";
  }
}

/* Prepares statement i and refuses anything but SELECT and EXPLAIN. */
static int prepare_checked(qx_sql *s, duckdb_extracted_statements st, idx_t i,
                           duckdb_prepared_statement *out) {
  if (duckdb_prepare_extracted_statement(s->con, st, i, out) == DuckDBError)
    return qx_fail(QX_ERR_SQL, "%s", duckdb_prepare_error(*out));
  duckdb_statement_type type = duckdb_prepared_statement_type(*out);
  if (type != DUCKDB_STATEMENT_TYPE_SELECT && type != DUCKDB_STATEMENT_TYPE_EXPLAIN)
    return qx_fail(QX_ERR_DENIED,
                   "Permission denied: %s statement is not allowed; qaxdb SQL is read-only "
                   "(SELECT and EXPLAIN only)",
                   statement_name(type));
  return QX_OK;
}

/* ---- interrupting ---- */

static void set_running(qx_sql *s, int running) {
  pthread_mutex_lock(&s->interrupt_mu);
  s->running = running;
  s->interrupted = 0;
  pthread_mutex_unlock(&s->interrupt_mu);
}

static int interrupted(qx_sql *s) {
  pthread_mutex_lock(&s->interrupt_mu);
  int yes = s->interrupted;
  pthread_mutex_unlock(&s->interrupt_mu);
  return yes;
}

void qx_sql_interrupt(qx_sql *s) {
  pthread_mutex_lock(&s->interrupt_mu);
  if (s->running) {
    s->interrupted = 1;
    duckdb_interrupt(s->con);
  }
  pthread_mutex_unlock(&s->interrupt_mu);
}

/* Executes p. DuckDB forgets an interrupt that comes before its query starts, so one that came
 * earlier is repeated once the query is pending (and every later one reaches it directly). */
static int execute(qx_sql *s, duckdb_prepared_statement p, duckdb_result *res) {
  duckdb_pending_result pending = NULL;
  int rc = QX_OK;
  if (duckdb_pending_prepared(p, &pending) == DuckDBError) {
    rc = qx_fail(QX_ERR_SQL, "%s", duckdb_pending_error(pending));
  } else {
    if (interrupted(s)) duckdb_interrupt(s->con);
    if (duckdb_execute_pending(pending, res) == DuckDBError) {
      rc = qx_fail(QX_ERR_SQL, "%s", duckdb_result_error(res));
      duckdb_destroy_result(res);
    }
  }
  duckdb_destroy_pending(&pending);
  return rc;
}

/* ---- statements ---- */

typedef struct table_list {
  qx_result_table **items;
  size_t count, cap;
} table_list;

static int table_list_add(table_list *l, qx_result_table *t) {
  int rc = qx_grow((void **)&l->items, &l->cap, l->count + 1, sizeof *l->items, "query results");
  if (rc != QX_OK) {
    qx_result_table_unref(t);
    return rc;
  }
  l->items[l->count++] = t;
  return QX_OK;
}

static void table_list_free(table_list *l) {
  for (size_t i = 0; i < l->count; i++)
    qx_result_table_unref(l->items[i]);
  free(l->items);
  *l = (table_list){0};
}

/* Runs statement i of st: its result goes to all if that is not NULL, else to *last if it is
 * the final statement (n of them). *all_select is cleared if it is not a SELECT (an EXPLAIN,
 * whose ANALYZE form reports timings, is no result to cache). */
static int run_statement(qx_sql *s, duckdb_extracted_statements st, idx_t i, idx_t n,
                         table_list *all, qx_result_table **last, int *all_select) {
  if (interrupted(s)) return qx_fail(QX_ERR_SQL, "INTERRUPT Error: Interrupted!");
  duckdb_prepared_statement p = NULL;
  int rc = prepare_checked(s, st, i, &p);
  if (rc == QX_OK && duckdb_prepared_statement_type(p) != DUCKDB_STATEMENT_TYPE_SELECT)
    *all_select = 0;
  duckdb_result res;
  if (rc == QX_OK) rc = execute(s, p, &res);
  duckdb_destroy_prepare(&p);
  if (rc != QX_OK) return rc;
  qx_result_table *t = NULL;
  if (all || i + 1 == n) rc = qx_result_table_build(&res, all ? &t : last);
  duckdb_destroy_result(&res);
  return rc == QX_OK && all ? table_list_add(all, t) : rc;
}

/* Runs every statement of text. Their results go to all if it is not NULL, in order (those
 * before a failing statement too); otherwise the last one's goes to *last. */
static int run_statements(qx_sql *s, const char *text, table_list *all, qx_result_table **last,
                          int *all_select) {
  duckdb_extracted_statements st = NULL;
  idx_t n = duckdb_extract_statements(s->con, text, &st);
  const char *parse_error = n == 0 ? duckdb_extract_statements_error(st) : NULL;
  int rc =
      n > 0 ? QX_OK : qx_fail(QX_ERR_SQL, "%s", parse_error ? parse_error : "no statement to run");
  set_running(s, 1);
  for (idx_t i = 0; i < n && rc == QX_OK; i++)
    rc = run_statement(s, st, i, n, all, last, all_select);
  set_running(s, 0);
  duckdb_destroy_extracted(&st);
  return rc;
}

/* Points the views at snap's Parquet files if they are not already. REQUIRES: the connection
 * bound to snap. */
static int views_at(qx_sql *s, qx_olap_snapshot *snap) {
  if (s->views_for == snap->files) return QX_OK;
  int rc = qx_catalog_define_views(s->con, snap->files);
  if (rc != QX_OK) return rc;
  /* Held so that a new set can never reuse the address of the one the views name. */
  qx_parquet_set_ref(snap->files);
  qx_parquet_set_unref(s->views_for);
  s->views_for = snap->files;
  return QX_OK;
}

/* ---- what the cache may keep ---- */

/* Whether the identifier [p, p + n) is one of the names in s->volatile_names. */
static int is_volatile_name(const qx_sql *s, const char *p, size_t n) {
  char word[66];
  if (n + 2 > sizeof word) return 0;
  word[0] = ' ';
  for (size_t i = 0; i < n; i++)
    word[i + 1] = (char)((p[i] >= 'A' && p[i] <= 'Z') ? p[i] + 32 : p[i]);
  word[n + 1] = ' ';
  word[n + 2] = '\0';
  return strstr(s->volatile_names, word) != NULL;
}

/* Whether text names a volatile function anywhere outside string literals and comments. Whole
 * words are compared, so a column called randomness or a string 'now()' does not count; a
 * column called now does, which only costs a cache miss. */
static int names_volatile(const qx_sql *s, const char *text) {
  const char *p = text;
  while (*p) {
    const char *end = qx_sql_skip_quoted(p);
    if (*p == '"' && end - p >= 2 && is_volatile_name(s, p + 1, (size_t)(end - p) - 2)) return 1;
    if (end != p) {
      p = end;
    } else if (qx_sql_ident_char((unsigned char)*p)) {
      const char *start = p;
      while (qx_sql_ident_char((unsigned char)*p))
        p++;
      if (is_volatile_name(s, start, (size_t)(p - start))) return 1;
    } else {
      p++;
    }
  }
  return 0;
}

/* Runs the statements of text with the connection bound to snap (see run_statements). */
static int run_bound(qx_sql *s, qx_olap_snapshot *snap, const char *text, table_list *all,
                     qx_result_table **last, int *all_select) {
  int rc = qx_scan_bind(&s->registry, s->con, snap);
  if (rc == QX_OK) rc = views_at(s, snap);
  if (rc == QX_OK) rc = run_statements(s, text, all, last, all_select);
  qx_scan_bind(&s->registry, s->con, NULL);
  return rc;
}

/* Runs text at snap (one reference handed over to the result). REQUIRES: mu. */
static int run_at(qx_sql *s, qx_olap_snapshot *snap, const char *text, qx_sql_result *r) {
  QX_REQUIRE_HELD(&s->mu);
  r->snapshot = snap;
  r->table = cache_find(s, text, snap->lsn);
  if (r->table) {
    qx_result_table_ref(r->table);
    r->cached = 1;
    return QX_OK;
  }
  int all_select = 1;
  int rc = run_bound(s, snap, text, NULL, &r->table, &all_select);
  if (rc == QX_OK && all_select && s->volatile_names && !names_volatile(s, text))
    cache_put(s, text, r->table);
  return rc;
}

typedef struct query_job {
  qx_sql *s;
  qx_olap_snapshot *snap;
  const char *text;
  qx_sql_result *r;
} query_job;

static int run_job(void *arg) {
  query_job *j = arg;
  return run_at(j->s, j->snap, j->text, j->r);
}

static int query(qx_sql *s, qx_olap_snapshot *snap, const char *text, qx_sql_result **out) {
  qx_sql_result *r = calloc(1, sizeof *r);
  if (!r) {
    qx_olap_snapshot_release(snap);
    return qx_fail(QX_ERR_NOMEM, "out of memory for a query result");
  }
  query_job job = {s, snap, text, r};
  pthread_mutex_lock(&s->mu);
  int rc = s->runner ? qx_idle_runner_run(s->runner, run_job, &job) : run_job(&job);
  pthread_mutex_unlock(&s->mu);
  if (rc != QX_OK) {
    qx_sql_result_destroy(r);
    return rc;
  }
  *out = r;
  return QX_OK;
}

/* The snapshot a new query runs at. */
static int query_snapshot(qx_sql *s, qx_olap_snapshot **out) {
  qx_olap_snapshot *snap;
  int rc = s->opt.see_latest ? qx_olap_sync(s->olap) : QX_OK;
  if (rc == QX_OK) rc = qx_olap_snapshot_acquire(s->olap, &snap);
  /* After a restart the converter starts below the engine's state, which the current-state
   * views and lookups read at the snapshot's LSN: wait for it rather than fail them. */
  if (rc == QX_OK && !snap->engine.snapshot && !s->opt.see_latest) {
    qx_olap_snapshot_release(snap);
    rc = qx_olap_sync(s->olap);
    if (rc == QX_OK) rc = qx_olap_snapshot_acquire(s->olap, &snap);
  }
  if (rc == QX_OK) *out = snap;
  return rc;
}

int qx_sql_query(qx_sql *s, const char *text, qx_sql_result **out) {
  if (!s || !text || !out) return qx_fail(QX_ERR_INVALID_ARG, "qx_sql_query: missing argument");
  qx_olap_snapshot *snap;
  int rc = query_snapshot(s, &snap);
  return rc == QX_OK ? query(s, snap, text, out) : rc;
}

int qx_sql_query_at(qx_sql *s, const qx_sql_result *at, const char *text, qx_sql_result **out) {
  if (!s || !at || !text || !out)
    return qx_fail(QX_ERR_INVALID_ARG, "qx_sql_query_at: missing argument");
  qx_olap_snapshot_ref(at->snapshot);
  return query(s, at->snapshot, text, out);
}

/* ---- every statement's result ---- */

typedef struct each_job {
  qx_sql *s;
  qx_olap_snapshot *snap;
  const char *text;
  table_list tables;
  int cached; /* the one statement's result came from the cache */
} each_job;

static idx_t statement_count(qx_sql *s, const char *text) {
  duckdb_extracted_statements st = NULL;
  idx_t n = duckdb_extract_statements(s->con, text, &st);
  duckdb_destroy_extracted(&st);
  return n;
}

/* REQUIRES: mu. */
static int run_each_job(void *arg) {
  each_job *j = arg;
  QX_REQUIRE_HELD(&j->s->mu);
  int all_select;
  if (statement_count(j->s, j->text) != 1)
    return run_bound(j->s, j->snap, j->text, &j->tables, NULL, &all_select);
  qx_sql_result one = {0}; /* one statement: through the result cache */
  int rc = run_at(j->s, j->snap, j->text, &one);
  j->cached = one.cached;
  return rc == QX_OK ? table_list_add(&j->tables, one.table) : rc;
}

/* Hands the tables of job out as results, in order, until each refuses one. */
static int hand_out(each_job *job, qx_sql_result_fn each, void *ctx) {
  int rc = QX_OK;
  for (size_t i = 0; i < job->tables.count && rc == QX_OK; i++) {
    qx_sql_result *r = calloc(1, sizeof *r);
    if (!r) {
      rc = qx_fail(QX_ERR_NOMEM, "out of memory for a query result");
      break;
    }
    *r = (qx_sql_result){
        .table = job->tables.items[i], .snapshot = job->snap, .cached = job->cached};
    job->tables.items[i] = NULL; /* now the result's */
    qx_olap_snapshot_ref(job->snap);
    rc = each(r, ctx);
  }
  return rc;
}

int qx_sql_query_each(qx_sql *s, const char *text, qx_sql_result_fn each, void *ctx) {
  if (!s || !text || !each)
    return qx_fail(QX_ERR_INVALID_ARG, "qx_sql_query_each: missing argument");
  each_job job = {s, NULL, text, {0}, 0};
  int rc = query_snapshot(s, &job.snap);
  if (rc != QX_OK) return rc;
  pthread_mutex_lock(&s->mu);
  rc = s->runner ? qx_idle_runner_run(s->runner, run_each_job, &job) : run_each_job(&job);
  pthread_mutex_unlock(&s->mu);
  char error[1024]; /* the statements' failure, reported after the results before it */
  snprintf(error, sizeof error, "%s", rc == QX_OK ? "" : qx_last_error());
  int handed = hand_out(&job, each, ctx);
  table_list_free(&job.tables);
  qx_olap_snapshot_release(job.snap);
  if (rc != QX_OK) return qx_fail(rc, "%s", error);
  return handed;
}

/* ---- results ---- */

qx_sql_result *qx_sql_result_of_table(qx_result_table *t, uint64_t lsn) {
  qx_sql_result *r = calloc(1, sizeof *r);
  if (!r) {
    qx_result_table_unref(t);
    qx_record_failure("out of memory for a result");
    return NULL;
  }
  r->table = t;
  r->lsn = lsn;
  return r;
}

uint64_t qx_sql_result_lsn(const qx_sql_result *r) {
  return r->snapshot ? r->snapshot->lsn : r->lsn;
}

int qx_sql_result_cached(const qx_sql_result *r) {
  return r->cached;
}

uint32_t qx_sql_result_column_count(const qx_sql_result *r) {
  return r->table->columns;
}

const char *qx_sql_result_column_name(const qx_sql_result *r, uint32_t col) {
  return col < r->table->columns ? r->table->names[col] : NULL;
}

qx_sql_value_kind qx_sql_result_column_kind(const qx_sql_result *r, uint32_t col) {
  return col < r->table->columns ? (qx_sql_value_kind)r->table->kinds[col] : QX_SQL_VALUE_TEXT;
}

qx_sql_column_type qx_sql_result_column_type(const qx_sql_result *r, uint32_t col) {
  qx_sql_column_type none = {QX_SQL_TYPE_OTHER, 0, 0};
  return col < r->table->columns ? r->table->types[col] : none;
}

int qx_sql_result_column_numeric(const qx_sql_result *r, uint32_t col) {
  return qx_sql_result_column_kind(r, col) == QX_SQL_VALUE_NUMBER;
}

uint64_t qx_sql_result_row_count(const qx_sql_result *r) {
  return r->table->rows;
}

const char *qx_sql_result_text(qx_sql_result *r, uint64_t row, uint32_t col) {
  if (row >= r->table->rows || col >= r->table->columns) return NULL;
  return r->table->cells[row * r->table->columns + col];
}

void qx_sql_result_destroy(qx_sql_result *r) {
  if (!r) return;
  qx_result_table_unref(r->table);
  qx_olap_snapshot_release(r->snapshot);
  free(r);
}
