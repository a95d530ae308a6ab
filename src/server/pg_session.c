/* One PostgreSQL connection's conversation: startup (authentication against the users file in
 * pg_auth.c, or loopback trusted for any user name without one), then simple queries (each
 * statement's rows as text with PostgreSQL's type OIDs, errors with an SQLSTATE), INSERT, COPY and
 * SNAPSHOT, settings and transaction statements; the extended protocol's messages go to
 * pg_extended.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "query/pg_catalog.h"
#include "query/writes.h"
#include "server/pg_session.h"
#include "util/clock.h"
#include "util/error.h"

#define FLUSH_AT (1u << 20)         /* bytes of rows built before they go out */
#define MAX_COPY_BYTES (256u << 20) /* of one COPY's data, held in memory until it is all in */
/* A client that says nothing for this long during its startup and authentication is dropped,
 * so that strangers cannot hold connection slots by keeping quiet (as PostgreSQL's
 * authentication_timeout does for the whole of it). */
#define STARTUP_TIMEOUT_S 60

/* Type OIDs (PostgreSQL's pg_type). */
#define OID_BOOL 16
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_TEXT 25
#define OID_JSON 114
#define OID_FLOAT4 700
#define OID_FLOAT8 701
#define OID_DATE 1082
#define OID_TIME 1083
#define OID_TIMESTAMP 1114
#define OID_TIMESTAMPTZ 1184
#define OID_INTERVAL 1186
#define OID_NUMERIC 1700
#define OID_UUID 2950
#define PG_FRACTION_DIGITS 6 /* PostgreSQL's times have microseconds */

void qx_pg_send_error(pg_conn *c, const char *severity, const char *sqlstate, const char *message) {
  qx_pg_begin(c, 'E');
  qx_pg_put_u8(c, 'S');
  qx_pg_put_str(c, severity);
  qx_pg_put_u8(c, 'V');
  qx_pg_put_str(c, severity);
  qx_pg_put_u8(c, 'C');
  qx_pg_put_str(c, sqlstate);
  qx_pg_put_u8(c, 'M');
  qx_pg_put_str(c, message);
  qx_pg_put_u8(c, 0);
  qx_pg_end(c);
}

void qx_pg_send_ready(session *s) {
  qx_pg_begin(&s->conn, 'Z');
  qx_pg_put_u8(&s->conn, s->in_transaction ? 'T' : 'I');
  qx_pg_end(&s->conn);
}

static void send_parameter(pg_conn *c, const char *name, const char *value) {
  qx_pg_begin(c, 'S');
  qx_pg_put_str(c, name);
  qx_pg_put_str(c, value);
  qx_pg_end(c);
}

/* The SQLSTATE of a failed statement, from its status and DuckDB's error class. */
const char *qx_pg_sqlstate_of(int rc, const char *message) {
  static const struct {
    const char *prefix, *sqlstate;
  } classes[] = {
      {"Parser Error", "42601"},     /* syntax_error */
      {"Catalog Error", "42P01"},    /* undefined_table (or function, schema) */
      {"Binder Error", "42703"},     /* undefined_column, mostly */
      {"Conversion Error", "22P02"}, /* invalid_text_representation */
      {"Invalid Input Error", "22P02"},
      {"Out of Range Error", "22003"}, /* numeric_value_out_of_range */
      {"Out of Memory Error", "53200"},
      {"INTERRUPT Error", "57014"}, /* query_canceled */
  };
  if (rc == QX_ERR_DENIED) return "42501"; /* insufficient_privilege */
  if (strstr(message, "Interrupted")) return "57014";
  for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
    if (strncmp(message, classes[i].prefix, strlen(classes[i].prefix)) == 0)
      return classes[i].sqlstate;
  return "XX000"; /* internal_error */
}

/* The type OID of a type with no entry in qx_sql_type, by what its text is. */
static int32_t oid_of_kind(qx_sql_value_kind kind) {
  switch (kind) {
  case QX_SQL_VALUE_NUMBER:
    return OID_NUMERIC;
  case QX_SQL_VALUE_BOOLEAN:
    return OID_BOOL;
  case QX_SQL_VALUE_JSON:
    return OID_JSON;
  default:
    return OID_TEXT;
  }
}

static int32_t type_oid(const qx_sql_result *r, uint32_t col) {
  static const int32_t oids[] = {
      [QX_SQL_TYPE_BOOLEAN] = OID_BOOL,        [QX_SQL_TYPE_SMALLINT] = OID_INT2,
      [QX_SQL_TYPE_INTEGER] = OID_INT4,        [QX_SQL_TYPE_BIGINT] = OID_INT8,
      [QX_SQL_TYPE_REAL] = OID_FLOAT4,         [QX_SQL_TYPE_DOUBLE] = OID_FLOAT8,
      [QX_SQL_TYPE_DECIMAL] = OID_NUMERIC,     [QX_SQL_TYPE_VARCHAR] = OID_TEXT,
      [QX_SQL_TYPE_DATE] = OID_DATE,           [QX_SQL_TYPE_TIME] = OID_TIME,
      [QX_SQL_TYPE_TIMESTAMP] = OID_TIMESTAMP, [QX_SQL_TYPE_TIMESTAMPTZ] = OID_TIMESTAMPTZ,
      [QX_SQL_TYPE_INTERVAL] = OID_INTERVAL,   [QX_SQL_TYPE_UUID] = OID_UUID,
  };
  qx_sql_type t = qx_sql_result_column_type(r, col).type;
  return t == QX_SQL_TYPE_OTHER ? oid_of_kind(qx_sql_result_column_kind(r, col)) : oids[t];
}

/* numeric(p,s) carries (p << 16 | s) + 4, as PostgreSQL's typmod does; others none. */
static int32_t type_modifier(const qx_sql_result *r, uint32_t col) {
  qx_sql_column_type t = qx_sql_result_column_type(r, col);
  return t.type == QX_SQL_TYPE_DECIMAL ? ((int32_t)t.width << 16 | t.scale) + 4 : -1;
}

void qx_pg_send_row_description(session *s, const qx_sql_result *r) {
  pg_conn *c = &s->conn;
  uint32_t cols = qx_sql_result_column_count(r);
  qx_pg_begin(c, 'T');
  qx_pg_put_i16(c, (int16_t)cols);
  for (uint32_t col = 0; col < cols; col++) {
    qx_pg_put_str(c, qx_sql_result_column_name(r, col));
    qx_pg_put_i32(c, 0); /* no table */
    qx_pg_put_i16(c, 0); /* no column number */
    qx_pg_put_i32(c, type_oid(r, col));
    qx_pg_put_i16(c, -1); /* variable length */
    qx_pg_put_i32(c, type_modifier(r, col));
    qx_pg_put_i16(c, 0); /* text format */
  }
  qx_pg_end(c);
}

void qx_pg_send_text_columns(session *s, const char *const *names, int16_t count) {
  pg_conn *c = &s->conn;
  qx_pg_begin(c, 'T');
  qx_pg_put_i16(c, count);
  for (int16_t i = 0; i < count; i++) {
    qx_pg_put_str(c, names[i]);
    qx_pg_put_i32(c, 0);
    qx_pg_put_i16(c, 0);
    qx_pg_put_i32(c, OID_TEXT);
    qx_pg_put_i16(c, -1);
    qx_pg_put_i32(c, -1);
    qx_pg_put_i16(c, 0);
  }
  qx_pg_end(c);
}

void qx_pg_send_text_row(session *s, const char *const *cells, int16_t count) {
  pg_conn *c = &s->conn;
  qx_pg_begin(c, 'D');
  qx_pg_put_i16(c, count);
  for (int16_t i = 0; i < count; i++) {
    qx_pg_put_i32(c, cells[i] ? (int32_t)strlen(cells[i]) : -1);
    if (cells[i]) qx_pg_put_bytes(c, cells[i], strlen(cells[i]));
  }
  qx_pg_end(c);
  if (c->out.len >= FLUSH_AT) qx_pg_flush(c);
}

/* A time of day with more fractional digits than PostgreSQL's microseconds, cut to them, with
 * what follows (a time zone) kept: clients parse at most six. */
static const char *cut_fraction(char out[64], const char *text) {
  const char *dot = strrchr(text, '.');
  size_t digits = dot ? strspn(dot + 1, "0123456789") : 0;
  if (digits <= PG_FRACTION_DIGITS || strlen(text) >= 64) return text;
  snprintf(out, 64, "%.*s%s", (int)(dot + 1 + PG_FRACTION_DIGITS - text), text, dot + 1 + digits);
  return out;
}

/* A cell as PostgreSQL's text format writes it: booleans as t and f, times to microseconds. */
static const char *pg_text(session *s, qx_sql_result *r, uint64_t row, uint32_t col) {
  const char *text = qx_sql_result_text(r, row, col);
  if (!text) return NULL;
  switch (qx_sql_result_column_type(r, col).type) {
  case QX_SQL_TYPE_BOOLEAN:
    return text[0] == 't' ? "t" : "f";
  case QX_SQL_TYPE_TIME:
  case QX_SQL_TYPE_TIMESTAMP:
  case QX_SQL_TYPE_TIMESTAMPTZ:
    return cut_fraction(s->cell, text);
  default:
    return text;
  }
}

void qx_pg_send_complete(session *s, const char *tag) {
  qx_pg_begin(&s->conn, 'C');
  qx_pg_put_str(&s->conn, tag);
  qx_pg_end(&s->conn);
}

uint64_t qx_pg_send_rows(session *s, qx_sql_result *r, uint64_t from, uint64_t max) {
  pg_conn *c = &s->conn;
  uint32_t cols = qx_sql_result_column_count(r);
  uint64_t rows = qx_sql_result_row_count(r), end = max && from + max < rows ? from + max : rows;
  for (uint64_t row = from; row < end && !c->failed; row++) {
    qx_pg_begin(c, 'D');
    qx_pg_put_i16(c, (int16_t)cols);
    for (uint32_t col = 0; col < cols; col++) {
      const char *text = pg_text(s, r, row, col);
      qx_pg_put_i32(c, text ? (int32_t)strlen(text) : -1);
      if (text) qx_pg_put_bytes(c, text, strlen(text));
    }
    qx_pg_end(c);
    if (c->out.len >= FLUSH_AT) qx_pg_flush(c);
  }
  return end > from ? end - from : 0;
}

/* Sends one statement's result: its columns, its rows, and "SELECT n". */
static int send_result(qx_sql_result *r, void *ctx) {
  session *s = ctx;
  char tag[32];
  qx_pg_send_row_description(s, r);
  snprintf(tag, sizeof tag, "SELECT %llu", (unsigned long long)qx_pg_send_rows(s, r, 0, 0));
  char lsn[24]; /* which records the rows hold, as the qaxdb CLI prints it */
  snprintf(lsn, sizeof lsn, "%llu", (unsigned long long)qx_sql_result_lsn(r));
  send_parameter(&s->conn, "qaxdb.result_lsn", lsn);
  qx_pg_send_complete(s, tag);
  qx_sql_result_destroy(r);
  return s->conn.failed ? QX_ERR_IO : QX_OK;
}

static int blank(const char *text) {
  for (; *text; text++)
    if (!strchr(" \t\r\n;", *text)) return 0;
  return 1;
}

/* Runs text's statements on the SQL engine, in the dialect PostgreSQL clients use for the
 * catalog (query/pg_catalog.h), under the statement timeout, one at a time with
 * other sessions', counted for /metrics; on failure sends the error. */
typedef int (*sql_run_fn)(session *s, qx_sql *sql, const char *text, void *out);

static int run_sql(session *s, const char *text, sql_run_fn run, void *out) {
  qx_server *srv = s->srv;
  int64_t start = qx_monotonic_ns();
  qx_buffer rewritten = {0};
  if (qx_pg_catalog_rewrite(text, &rewritten) && qx_buffer_text(&rewritten))
    text = qx_buffer_text(&rewritten);
  sql_engine *engine = qx_sql_pool_take(srv, s->client);
  int rc = run(s, engine->sql, text, out);
  int timed_out = qx_sql_pool_give(srv, engine);
  qx_buffer_free(&rewritten);
  pthread_mutex_lock(&srv->mu);
  qx_latency_record(&srv->queries, qx_monotonic_ns() - start, rc == QX_OK);
  uint32_t timeout_ms = srv->opt.statement_timeout_ms; /* a reload may change it */
  pthread_mutex_unlock(&srv->mu);
  if (rc == QX_OK || s->conn.failed) return rc;
  if (timed_out) {
    char message[128];
    snprintf(message, sizeof message, "canceling statement due to statement timeout (%u ms)",
             timeout_ms);
    qx_pg_send_error(&s->conn, "ERROR", "57014", message);
    return rc;
  }
  const char *message = qx_last_error();
  qx_pg_send_error(&s->conn, "ERROR", qx_pg_sqlstate_of(rc, message), message);
  return rc;
}

static int query_each(session *s, qx_sql *sql, const char *text, void *out) {
  (void)out;
  return qx_sql_query_each(sql, text, send_result, s);
}

static int query_one(session *s, qx_sql *sql, const char *text, void *out) {
  (void)s;
  return qx_sql_query(sql, text, (qx_sql_result **)out);
}

/* A point lookup from the engine, beside other statements: 1 if text was one (answered with
 * its status in *rc, the error sent), 0 if not. */
static int run_point(session *s, const char *text, qx_sql_result **result, int *rc) {
  qx_server *srv = s->srv;
  int64_t start = qx_monotonic_ns();
  if (!qx_pg_point_lookup(srv->db, text, result, rc)) return 0;
  pthread_mutex_lock(&srv->mu);
  qx_latency_record(&srv->queries, qx_monotonic_ns() - start, *rc == QX_OK);
  pthread_mutex_unlock(&srv->mu);
  if (*rc != QX_OK)
    qx_pg_send_error(&s->conn, "ERROR", qx_pg_sqlstate_of(*rc, ""), qx_last_error());
  return 1;
}

int qx_pg_run_query(session *s, const char *text, qx_sql_result **result) {
  int rc;
  *result = NULL;
  return run_point(s, text, result, &rc) ? rc : run_sql(s, text, query_one, result);
}

/* Each statement of a simple query, its rows sent as they come. */
static void run_simple_sql(session *s, const char *text) {
  qx_sql_result *r;
  int rc;
  if (!run_point(s, text, &r, &rc))
    run_sql(s, text, query_each, NULL);
  else if (rc == QX_OK)
    send_result(r, s);
}

/* Answers a write statement that failed with rc: its SQLSTATE, from the status and reason. */
static void send_write_error(session *s, int rc) {
  const char *message = qx_last_error();
  const char *sqlstate = rc == QX_ERR_NOT_FOUND            ? "42P01"
                         : rc == QX_ERR_TOO_LARGE          ? "54000" /* program_limit_exceeded */
                         : rc == QX_ERR_DENIED             ? "25006" /* read_only_sql_transaction */
                         : rc != QX_ERR_PARSE              ? "58030" /* io_error */
                         : strstr(message, "at character") ? "42601"
                         : strstr(message, "has no column") ? "42703"
                                                            : "22P02";
  qx_pg_send_error(&s->conn, "ERROR", sqlstate, message);
}

/* What a write was acknowledged at, for clients that check it: the LSN of its last row and
 * the epoch of the primary that took it (docs/replication.md). */
static void send_write_position(session *s, uint64_t lsn) {
  char text[24];
  snprintf(text, sizeof text, "%llu", (unsigned long long)lsn);
  send_parameter(&s->conn, "qaxdb.write_lsn", text);
  if (!s->srv->opt.repl) return;
  qx_repl_status st;
  qx_repl_status_get(s->srv->opt.repl, &st);
  snprintf(text, sizeof text, "%llu", (unsigned long long)st.epoch);
  send_parameter(&s->conn, "qaxdb.epoch", text);
}

/* Counts a write statement for /metrics and acknowledges it with its command tag. */
static int finish_write(session *s, int64_t start, int rc, uint64_t rows, uint64_t lsn,
                        const char *tag) {
  qx_server *srv = s->srv;
  pthread_mutex_lock(&srv->mu);
  qx_latency_record(&srv->inserts, qx_monotonic_ns() - start, rc == QX_OK);
  srv->inserted_rows += rows;
  pthread_mutex_unlock(&srv->mu);
  if (rc != QX_OK) {
    send_write_error(s, rc);
    return rc;
  }
  if (rows > 0) send_write_position(s, lsn);
  char text[48];
  snprintf(text, sizeof text, "%s%llu", tag, (unsigned long long)rows);
  qx_pg_send_complete(s, text);
  return QX_OK;
}

/* An INSERT goes to the engine, not the SQL engine; it is acknowledged once durable at the
 * session's durability (`group`: the rows are synced to the WAL). */
int qx_pg_run_insert(session *s, const char *text) {
  uint64_t rows, lsn = 0;
  int64_t start = qx_monotonic_ns();
  int rc = qx_insert_run(s->srv->db, text, s->settings.durability, &rows, &lsn);
  return finish_write(s, start, rc, rows, lsn, "INSERT 0 ");
}

/* Takes the CopyData messages up to CopyDone into data; -1 if the connection failed, else 0
 * and *copy_status: QX_OK, or the error already recorded (the client's CopyFail, too much). */
static int take_copy_data(session *s, qx_buffer *data, int *copy_status) {
  *copy_status = QX_OK;
  for (;;) {
    uint8_t type;
    const uint8_t *body;
    uint32_t len;
    if (qx_pg_read_message(&s->conn, &type, &body, &len) != 0) return -1;
    if (type == 'c') return 0; /* CopyDone */
    if (type == 'f') {         /* CopyFail */
      *copy_status = qx_fail(QX_ERR_PARSE, "COPY from stdin failed: %s", (const char *)body);
      return 0;
    }
    if (type == 'd' && *copy_status == QX_OK && data->len + len > MAX_COPY_BYTES)
      *copy_status = qx_fail(QX_ERR_TOO_LARGE, "COPY: more than %u MiB of data: split it",
                             MAX_COPY_BYTES >> 20);
    if (type == 'd' && *copy_status == QX_OK) qx_buffer_put(data, body, len);
    if (type != 'd' && type != 'H' && type != 'S') return -1; /* not allowed during a copy */
  }
}

/* COPY ... FROM STDIN: the plan, CopyInResponse, the client's data, then one batch. */
static void run_copy(session *s, const char *text) {
  qx_copy_plan plan;
  int64_t start = qx_monotonic_ns();
  int rc = qx_copy_parse(text, &plan);
  if (rc != QX_OK) {
    qx_copy_plan_free(&plan);
    send_write_error(s, rc);
    return;
  }
  qx_pg_begin(&s->conn, 'G'); /* CopyInResponse: text, every column as text */
  qx_pg_put_u8(&s->conn, 0);
  qx_pg_put_i16(&s->conn, (int16_t)plan.map.count);
  for (size_t i = 0; i < plan.map.count; i++)
    qx_pg_put_i16(&s->conn, 0);
  qx_pg_end(&s->conn);
  qx_pg_flush(&s->conn);
  qx_buffer data = {0};
  if (take_copy_data(s, &data, &rc) != 0) {
    s->conn.failed = 1;
  } else {
    uint64_t rows = 0, lsn = 0;
    if (rc == QX_OK && data.failed) rc = qx_fail(QX_ERR_NOMEM, "COPY: out of memory for its data");
    if (rc == QX_OK)
      rc = qx_copy_apply(s->srv->db, &plan, qx_buffer_text(&data), data.len, s->settings.durability,
                         &rows, &lsn);
    finish_write(s, start, rc, rows, lsn, "COPY ");
  }
  qx_buffer_free(&data);
  qx_copy_plan_free(&plan);
}

/* SET, RESET, SHOW: a tag, or SHOW's one row. */
int qx_pg_run_setting(session *s, const char *text) {
  pg_setting_reply reply;
  int rc = qx_pg_setting(&s->settings, text, &reply);
  if (rc != QX_OK) {
    const char *sqlstate = rc == QX_ERR_NOT_FOUND     ? "42704" /* undefined_object */
                           : rc == QX_ERR_INVALID_ARG ? "22023" /* invalid_parameter_value */
                                                      : "42601";
    qx_pg_send_error(&s->conn, "ERROR", sqlstate, qx_last_error());
    return rc;
  }
  if (strcmp(reply.tag, "SHOW") == 0) {
    const char *name = reply.name, *value = reply.value;
    qx_pg_send_text_columns(s, &name, 1);
    qx_pg_send_text_row(s, &value, 1);
  }
  qx_pg_send_complete(s, reply.tag);
  return QX_OK;
}

/* The command tag of a transaction statement (BEGIN, COMMIT, ROLLBACK and their synonyms), or
 * NULL. A query reads one snapshot and an INSERT is one batch, acknowledged on its own: a
 * transaction spanning statements does not exist here, but clients such as psycopg2 open one
 * before their first statement all the same. */
const char *qx_pg_transaction_tag(const char *text, int *opens) {
  static const struct {
    const char *word, *tag;
    int opens;
  } words[] = {{"begin", "BEGIN", 1}, {"start", "START TRANSACTION", 1}, {"commit", "COMMIT", 0},
               {"end", "COMMIT", 0},  {"rollback", "ROLLBACK", 0},       {"abort", "ROLLBACK", 0}};
  const char *semicolon = strchr(text, ';');
  if (semicolon && !blank(semicolon)) return NULL; /* more statements follow: not alone */
  text += strspn(text, " \t\r\n");
  size_t len = strcspn(text, " \t\r\n;");
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
    if (len == strlen(words[i].word) && strncasecmp(text, words[i].word, len) == 0) {
      *opens = words[i].opens;
      return words[i].tag;
    }
  return NULL;
}

int qx_pg_run_transaction(session *s, const char *text) {
  const char *tag = qx_pg_transaction_tag(text, &s->in_transaction);
  if (tag) qx_pg_send_complete(s, tag);
  return tag != NULL;
}

static void simple_query(session *s, const char *text) {
  if (blank(text)) {
    qx_pg_begin(&s->conn, 'I'); /* EmptyQueryResponse */
    qx_pg_end(&s->conn);
  } else if (qx_insert_is_insert(text)) {
    qx_pg_run_insert(s, text);
  } else if (qx_copy_is_copy(text)) {
    run_copy(s, text);
  } else if (qx_pg_is_setting(text)) {
    qx_pg_run_setting(s, text);
  } else if (qx_pg_is_command(text)) {
    qx_pg_run_command(s, text);
  } else if (qx_pg_is_snapshot(text)) {
    qx_pg_run_snapshot(s, text);
  } else if (!qx_pg_run_transaction(s, text)) {
    run_simple_sql(s, text);
  }
  qx_pg_send_ready(s);
  qx_pg_flush(&s->conn);
}

static void greet(session *s) {
  pg_conn *c = &s->conn;
  qx_pg_begin(c, 'R');
  qx_pg_put_i32(c, 0); /* AuthenticationOk: SCRAM succeeded, or no users file trusts loopback */
  qx_pg_end(c);
  send_parameter(c, "server_version", "15.0 (qaxdb " QAXDB_VERSION ")");
  send_parameter(c, "server_encoding", "UTF8");
  send_parameter(c, "client_encoding", "UTF8");
  send_parameter(c, "DateStyle", "ISO, YMD");
  send_parameter(c, "TimeZone", "UTC");
  send_parameter(c, "integer_datetimes", "on");
  send_parameter(c, "standard_conforming_strings", "on");
  send_parameter(c, "is_superuser", "off");
  send_parameter(c, "session_authorization", s->startup.user);
  send_parameter(c, "application_name", s->startup.application_name);
  qx_pg_begin(c, 'K');
  qx_pg_put_i32(c, (int32_t)s->client->key[0]);
  qx_pg_put_i32(c, (int32_t)s->client->key[1]);
  qx_pg_end(c);
  qx_pg_send_ready(s);
  qx_pg_flush(c);
}

/* Answers one message; 0 to go on, -1 to end the session. */
static int answer(session *s, uint8_t type, const uint8_t *body, uint32_t len) {
  if (type == 'X') return -1; /* Terminate */
  if (type == 'Q') {
    simple_query(s, (const char *)body);
    return 0;
  }
  if (type && strchr("PBDECHS", type)) {
    qx_pg_extended(s, type, body, len);
    return 0;
  }
  char message[96];
  snprintf(message, sizeof message, "unexpected message type '%c' (0x%02x)",
           type >= 32 && type < 127 ? type : '?', type);
  qx_pg_send_error(&s->conn, "FATAL", "08P01", message); /* protocol_violation */
  qx_pg_flush(&s->conn);
  return -1;
}

/* Bounds each read of the socket (0: no bound). */
static void receive_timeout(int fd, int seconds) {
  struct timeval timeout = {seconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
}

void qx_pg_session(qx_server *srv, pg_client *client) {
  session s = {.srv = srv, .client = client};
  qx_pg_conn_init(&s.conn, client->fd, srv->tls);
  receive_timeout(client->fd, STARTUP_TIMEOUT_S);
  pg_startup_kind kind;
  uint32_t key[2];
  const char *why;
  if (qx_pg_read_startup(&s.conn, &kind, &s.startup, key, &why) != 0) {
    qx_pg_send_error(&s.conn, "FATAL", "08P01", why);
    qx_pg_flush(&s.conn);
  } else if (kind == PG_STARTUP_CANCEL) {
    qx_server_cancel(srv, key);
  } else if (client->key[0] == 0) { /* over max_connections: see server.c */
    qx_pg_send_error(&s.conn, "FATAL", "53300", "sorry, too many clients already");
    qx_pg_flush(&s.conn);
  } else if (!srv->authenticate || qx_pg_authenticate(&s) == 0) {
    receive_timeout(client->fd, 0); /* a session may idle between statements */
    qx_pg_settings_init(&s.settings, srv->opt.durability, s.startup.application_name);
    greet(&s);
    uint8_t type;
    const uint8_t *body;
    uint32_t len;
    while (!s.conn.failed && qx_pg_read_message(&s.conn, &type, &body, &len) == 0 &&
           answer(&s, type, body, len) == 0) {
    }
  }
  qx_pg_extended_free(&s);
  qx_pg_conn_free(&s.conn);
}
