/* The server's SQL engines (qx_server_options.sql_engines, each its own DuckDB): a statement
 * takes a free one and waits while all are busy, so that a long query holds up others only
 * when every engine is taken; the watchdog and CancelRequest find the engine a statement runs
 * on. Everything here but opening and closing runs under srv->mu. */
#include <stdlib.h>

#include "server/server_impl.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"

int qx_sql_pool_open(qx_server *srv) {
  int n = srv->opt.sql_engines > 0 ? srv->opt.sql_engines : QX_SERVER_DEFAULT_SQL_ENGINES;
  srv->engines = calloc((size_t)n, sizeof *srv->engines);
  if (!srv->engines) return qx_fail(QX_ERR_NOMEM, "server: SQL engines");
  qx_sql_options options;
  qx_sql_options_init(&options);
  options.memory_limit = srv->opt.query_memory_limit;
  for (; srv->engine_count < n; srv->engine_count++) {
    int rc = qx_sql_open(srv->db, &options, &srv->engines[srv->engine_count].sql);
    if (rc != QX_OK) return rc;
  }
  return QX_OK;
}

void qx_sql_pool_close(qx_server *srv) {
  for (int i = 0; i < srv->engine_count; i++)
    qx_sql_close(srv->engines[i].sql);
  free(srv->engines);
  srv->engines = NULL;
  srv->engine_count = 0;
}

sql_engine *qx_sql_pool_take(qx_server *srv, const pg_client *client) {
  pthread_mutex_lock(&srv->mu);
  for (;;) {
    for (int i = 0; i < srv->engine_count; i++) {
      sql_engine *e = &srv->engines[i];
      if (e->running) continue;
      *e = (sql_engine){e->sql, client, qx_monotonic_ns(), 0};
      pthread_mutex_unlock(&srv->mu);
      return e;
    }
    pthread_cond_wait(&srv->engine_cv, &srv->mu);
  }
}

int qx_sql_pool_give(qx_server *srv, sql_engine *e) {
  pthread_mutex_lock(&srv->mu);
  int timed_out = e->timed_out;
  e->running = NULL;
  pthread_cond_signal(&srv->engine_cv);
  pthread_mutex_unlock(&srv->mu);
  return timed_out;
}

void qx_sql_pool_interrupt_overdue(qx_server *srv, int64_t now) {
  int64_t limit = (int64_t)srv->opt.statement_timeout_ms * 1000000;
  for (int i = 0; i < srv->engine_count && limit; i++) {
    sql_engine *e = &srv->engines[i];
    if (!e->running || e->timed_out || now - e->running_since <= limit) continue;
    e->timed_out = 1;
    qx_log(QX_LOG_WARN, "statement cancelled: it ran past the statement timeout",
           "process=%u timeout_ms=%u", e->running->key[0], srv->opt.statement_timeout_ms);
    qx_sql_interrupt(e->sql);
  }
}

void qx_sql_pool_cancel(qx_server *srv, const uint32_t key[2]) {
  for (int i = 0; i < srv->engine_count; i++) {
    const pg_client *c = srv->engines[i].running;
    if (c && c->key[0] == key[0] && c->key[1] == key[1]) qx_sql_interrupt(srv->engines[i].sql);
  }
}

void qx_sql_pool_interrupt_all(qx_server *srv) {
  for (int i = 0; i < srv->engine_count; i++)
    if (srv->engines[i].running) qx_sql_interrupt(srv->engines[i].sql);
}
