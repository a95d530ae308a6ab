/* Read-only SQL for WebSocket clients (the console's SQL box): each statement runs on a thread
 * of its own, on one of the server's SQL engines under the statement timeout, and its answer,
 * encoded as JSON there, goes back to the service thread to be queued on its connection. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "query/sql_lexer.h"
#include "server/pg_session.h"
#include "util/error.h"
#include "util/json.h"
#include "web/web_impl.h"

#define MAX_ROWS 10000
#define MAX_JOBS 8 /* statements of WebSocket clients at once, server-wide */

struct web_sql_job {
  qx_web *web;
  uint64_t conn_id;
  pg_client client; /* what the SQL engines know a statement's owner by */
  char *id_json, *query;
  qx_buffer answer;
  web_sql_job *next;
};

/* Past whitespace and comments. */
static const char *skip_blank(const char *p) {
  for (;;) {
    while (isspace((unsigned char)*p))
      p++;
    if ((p[0] != '-' || p[1] != '-') && (p[0] != '/' || p[1] != '*')) return p;
    p = qx_sql_skip_quoted(p);
  }
}

/* NULL if query is one statement that only reads, else why it is refused. */
static const char *refusal(const char *query) {
  static const char *const reading[] = {"SELECT", "WITH",     "FROM",    "VALUES",
                                        "SHOW",   "DESCRIBE", "EXPLAIN", "SUMMARIZE"};
  const char *p = skip_blank(query);
  size_t n = 0;
  while (isalpha((unsigned char)p[n]))
    n++;
  int reads = 0;
  for (size_t i = 0; i < sizeof reading / sizeof *reading; i++)
    reads |= n == strlen(reading[i]) && strncasecmp(p, reading[i], n) == 0;
  if (!reads) return "only reading statements run here (SELECT, WITH, FROM, VALUES, SHOW, ...)";
  for (; *p; p++) {
    const char *past = qx_sql_skip_quoted(p);
    if (past != p) {
      p = past - 1;
    } else if (*p == ';') {
      if (*skip_blank(p + 1)) return "one statement at a time";
      break;
    }
  }
  return NULL;
}

static const char *type_name(qx_sql_type t) {
  static const char *const names[] = {"OTHER", "BOOLEAN",   "SMALLINT",    "INTEGER",  "BIGINT",
                                      "REAL",  "DOUBLE",    "DECIMAL",     "VARCHAR",  "DATE",
                                      "TIME",  "TIMESTAMP", "TIMESTAMPTZ", "INTERVAL", "UUID"};
  return (size_t)t < sizeof names / sizeof *names ? names[t] : "OTHER";
}

static void put_result(qx_buffer *b, const char *id_json, qx_sql_result *r) {
  uint32_t cols = qx_sql_result_column_count(r);
  uint64_t rows = qx_sql_result_row_count(r);
  qx_buffer_printf(b, "{\"type\":\"result\",\"id\":%s,\"lsn\":%llu,\"columns\":[", id_json,
                   (unsigned long long)qx_sql_result_lsn(r));
  for (uint32_t c = 0; c < cols; c++) {
    qx_buffer_puts(b, c ? ",{\"name\":" : "{\"name\":");
    qx_json_put_string(b, qx_sql_result_column_name(r, c));
    qx_buffer_printf(b, ",\"type\":\"%s\"}", type_name(qx_sql_result_column_type(r, c).type));
  }
  qx_buffer_puts(b, "],\"rows\":[");
  for (uint64_t row = 0; row < rows && row < MAX_ROWS; row++) {
    qx_buffer_puts(b, row ? ",[" : "[");
    for (uint32_t c = 0; c < cols; c++) {
      if (c) qx_buffer_put(b, ",", 1);
      qx_json_put_cell(b, qx_sql_result_text(r, row, c), qx_sql_result_column_kind(r, c));
    }
    qx_buffer_put(b, "]", 1);
  }
  qx_buffer_printf(b, "],\"truncated\":%s}", rows > MAX_ROWS ? "true" : "false");
}

static void put_error(qx_buffer *b, const char *id_json, const char *message, const char *state) {
  b->len = 0;
  b->failed = 0;
  qx_buffer_printf(b, "{\"type\":\"error\",\"id\":%s,\"message\":", id_json);
  qx_json_put_string(b, message);
  if (state) qx_buffer_printf(b, ",\"sqlstate\":\"%s\"", state);
  qx_buffer_puts(b, "}");
}

static void run(web_sql_job *job) {
  qx_server *srv = job->web->srv;
  const char *refused = refusal(job->query);
  if (refused) return put_error(&job->answer, job->id_json, refused, "25006");
  sql_engine *engine = qx_sql_pool_take(srv, &job->client);
  int stopping = atomic_load(&job->web->stopping); /* the stop interrupted those before */
  qx_sql_result *r = NULL;
  int rc = stopping ? qx_fail(QX_ERR_CLOSED, "the server is stopping")
                    : qx_sql_query(engine->sql, job->query, &r);
  int timed_out = qx_sql_pool_give(srv, engine);
  if (rc == QX_OK) put_result(&job->answer, job->id_json, r);
  if (rc != QX_OK || job->answer.failed)
    put_error(&job->answer, job->id_json,
              timed_out ? "canceling statement due to statement timeout" : qx_last_error(),
              timed_out ? "57014" : qx_pg_sqlstate_of(rc, qx_last_error()));
  qx_sql_result_destroy(r);
}

static void *job_main(void *arg) {
  web_sql_job *job = arg;
  qx_web *web = job->web;
  run(job);
  pthread_mutex_lock(&web->mu);
  job->next = web->sql_done;
  web->sql_done = job;
  pthread_cond_broadcast(&web->jobs_cv); /* a stop waits for the last job */
  pthread_mutex_unlock(&web->mu);
  lws_cancel_service(web->context);
  return NULL;
}

static void free_job(web_sql_job *job) {
  free(job->id_json);
  free(job->query);
  qx_buffer_free(&job->answer);
  free(job);
}

void qx_web_sql_submit(qx_web *web, web_conn *c, const char *request_id, const char *query) {
  web_sql_job *job = calloc(1, sizeof *job);
  if (job) {
    job->id_json = strdup(request_id);
    job->query = strdup(query);
  }
  if (!job || !job->id_json || !job->query) {
    if (job) free_job(job);
    return qx_web_conn_queuef(c, "{\"type\":\"error\",\"id\":%s,\"message\":\"out of memory\"}",
                              request_id);
  }
  job->web = web;
  job->conn_id = c->conn_id;
  job->client.fd = -1;
  pthread_mutex_lock(&web->mu);
  int busy = web->sql_running >= MAX_JOBS;
  if (!busy) web->sql_running++;
  pthread_mutex_unlock(&web->mu);
  pthread_t thread;
  pthread_attr_t detached;
  pthread_attr_init(&detached);
  pthread_attr_setdetachstate(&detached, PTHREAD_CREATE_DETACHED);
  if (busy || pthread_create(&thread, &detached, job_main, job) != 0) {
    qx_web_conn_queuef(c,
                       "{\"type\":\"error\",\"id\":%s,\"message\":\"too many statements running: "
                       "try again\",\"sqlstate\":\"53300\"}",
                       request_id);
    if (!busy) {
      pthread_mutex_lock(&web->mu);
      web->sql_running--;
      pthread_mutex_unlock(&web->mu);
    }
    free_job(job);
  }
  pthread_attr_destroy(&detached);
}

static web_conn *conn_by_id(qx_web *web, uint64_t id) {
  for (web_conn *c = web->conns; c; c = c->next_conn)
    if (c->conn_id == id) return c;
  return NULL;
}

void qx_web_sql_deliver(qx_web *web) {
  pthread_mutex_lock(&web->mu);
  web_sql_job *done = web->sql_done;
  web->sql_done = NULL;
  pthread_mutex_unlock(&web->mu);
  while (done) {
    web_sql_job *job = done;
    done = job->next;
    web_conn *c = conn_by_id(web, job->conn_id);
    if (c && !job->answer.failed)
      qx_web_conn_queue(c, (const char *)job->answer.p, job->answer.len);
    free_job(job);
    pthread_mutex_lock(&web->mu);
    web->sql_running--;
    pthread_cond_broadcast(&web->jobs_cv);
    pthread_mutex_unlock(&web->mu);
  }
}

void qx_web_sql_drain(qx_web *web) {
  pthread_mutex_lock(&web->mu);
  for (;;) {
    /* The service thread has stopped: answers are taken here, and dropped. */
    web_sql_job *done = web->sql_done;
    web->sql_done = NULL;
    while (done) {
      web_sql_job *job = done;
      done = job->next;
      free_job(job);
      web->sql_running--;
    }
    if (web->sql_running == 0) break;
    pthread_cond_wait(&web->jobs_cv, &web->mu);
  }
  pthread_mutex_unlock(&web->mu);
}
