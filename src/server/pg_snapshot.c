/* The SNAPSHOT TO '/absolute/path' statement: a snapshot of the served folder on demand
 * (qx_db_snapshot), answered with the tag "SNAPSHOT <lsn>". It is not SQL, so it is recognized
 * before the SQL engine, as INSERT and COPY are; docs/server.md. */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "query/statement.h"
#include "server/pg_session.h"
#include "util/error.h"
#include "util/log.h"

int qx_pg_is_snapshot(const char *text) {
  qx_statement s;
  qx_statement_start(&s, text, "SNAPSHOT");
  return qx_statement_take_word(&s, "snapshot");
}

/* SNAPSHOT TO '<path>' [;] into path; QX_ERR_PARSE or QX_ERR_INVALID_ARG (not absolute). */
static int parse(const char *text, char *path, size_t cap) {
  qx_statement s;
  size_t len;
  qx_statement_start(&s, text, "SNAPSHOT");
  if (!qx_statement_take_word(&s, "snapshot") || !qx_statement_take_word(&s, "to") ||
      !qx_statement_take_string(&s, path, cap, &len) || qx_statement_take_end(&s) != QX_OK)
    return qx_fail(QX_ERR_PARSE, "syntax error: the statement is SNAPSHOT TO '/absolute/path'");
  if (path[0] != '/')
    return qx_fail(QX_ERR_INVALID_ARG, "SNAPSHOT TO needs an absolute path, not '%s'", path);
  return QX_OK;
}

static const char *sqlstate_of(int rc) {
  switch (rc) {
  case QX_ERR_PARSE:
    return "42601"; /* syntax_error */
  case QX_ERR_INVALID_ARG:
    return "22023"; /* invalid_parameter_value: not absolute, not empty */
  case QX_ERR_IO:
    return "58030"; /* io_error */
  case QX_ERR_CLOSED:
    return "55000"; /* object_not_in_prerequisite_state */
  default:
    return "XX000"; /* internal_error */
  }
}

int qx_pg_run_snapshot(session *s, const char *text) {
  char path[PATH_MAX];
  uint64_t lsn = 0;
  int rc = parse(text, path, sizeof path);
  if (rc == QX_OK) rc = qx_db_snapshot(s->srv->db, path, &lsn);
  if (rc != QX_OK) {
    qx_pg_send_error(&s->conn, "ERROR", sqlstate_of(rc), qx_last_error());
    return rc;
  }
  qx_log(QX_LOG_INFO, "snapshot", "lsn=%" PRIu64 " path=\"%s\" by=\"SNAPSHOT TO\"", lsn, path);
  char tag[40];
  snprintf(tag, sizeof tag, "SNAPSHOT %" PRIu64, lsn);
  qx_pg_send_complete(s, tag);
  return QX_OK;
}
