/* One PostgreSQL connection's state and the answers both query protocols share, for
 * pg_session.c (startup, the simple protocol, writes and settings) and pg_extended.c (the
 * extended protocol's statements and portals). */
#ifndef QX_SERVER_PG_SESSION_H
#define QX_SERVER_PG_SESSION_H

#include <stdint.h>

#include "server/pg_settings.h"
#include "server/pg_wire.h"
#include "server/server_impl.h"

typedef struct pg_prepared pg_prepared; /* pg_extended.c */
typedef struct pg_portal pg_portal;

typedef struct session {
  qx_server *srv;
  pg_client *client;
  pg_conn conn;
  pg_startup startup;
  char cell[64];      /* a cell rewritten into PostgreSQL's form */
  int in_transaction; /* between the client's BEGIN and its COMMIT or ROLLBACK */
  pg_settings settings;
  int skipping_to_sync; /* an extended-protocol message failed: the rest up to Sync is ignored */
  pg_prepared *prepared;
  pg_portal *portals;
} session;

void qx_pg_send_error(pg_conn *c, const char *severity, const char *sqlstate, const char *message);
void qx_pg_send_ready(session *s);
void qx_pg_send_complete(session *s, const char *tag);

/* A statement's result: its columns (RowDescription), and rows from row `from`, at most max (0:
 * all); returns how many were sent. */
void qx_pg_send_row_description(session *s, const qx_sql_result *r);
uint64_t qx_pg_send_rows(session *s, qx_sql_result *r, uint64_t from, uint64_t max);

/* Rows of text columns, for answers that do not come from the SQL engine (SHOW, qaxdb's own
 * commands): their RowDescription, then each DataRow (NULL cells are SQL NULL). */
void qx_pg_send_text_columns(session *s, const char *const *names, int16_t count);
void qx_pg_send_text_row(session *s, const char *const *cells, int16_t count);

/* Runs one SQL statement under the server's limits into *result, or answers it from the
 * engine if it is a point lookup (pg_point.c); on failure sends the error (with its SQLSTATE)
 * and returns its status. */
int qx_pg_run_query(session *s, const char *text, qx_sql_result **result);

/* pg_point.c: if text is `SELECT * FROM <table>_by_key(<values>)` (a key without timestamps),
 * answers it from db's engine: *out the row as the SQL engine gives it, *rc the status; returns
 * 1. Returns 0 if the SQL engine must run text. */
int qx_pg_point_lookup(qx_db *db, const char *text, qx_sql_result **out, int *rc);

/* The statements that do not go to the SQL engine, each answered with its tag or its error
 * (whose status they return). */
int qx_pg_run_insert(session *s, const char *text);
int qx_pg_run_setting(session *s, const char *text); /* SET, RESET, SHOW (with its row) */
/* The SQLSTATE of a failed statement, from its status and DuckDB's error class (message). */
const char *qx_pg_sqlstate_of(int rc, const char *message);
/* The tag of a BEGIN, COMMIT or ROLLBACK alone (and *opens: 1 for BEGIN), or NULL. */
const char *qx_pg_transaction_tag(const char *text, int *opens);
/* Answers BEGIN, COMMIT or ROLLBACK: 1; 0 if text is not one of them. */
int qx_pg_run_transaction(session *s, const char *text);

/* pg_auth.c: authenticates the client with SCRAM-SHA-256 against the users file; 0, or -1
 * once it was refused (the FATAL error sent) or left. */
int qx_pg_authenticate(session *s);

/* pg_commands.c: qaxdb's own commands for its CLI (QAXDB GET, SCAN, STATS), answered with
 * their rows or an error. */
int qx_pg_is_command(const char *text);
void qx_pg_run_command(session *s, const char *text);

/* pg_snapshot.c: 1 if text is a SNAPSHOT statement; takes it (SNAPSHOT TO '/path'). */
int qx_pg_is_snapshot(const char *text);
int qx_pg_run_snapshot(session *s, const char *text);

/* pg_extended.c: answers Parse, Bind, Describe, Execute, Close, Sync and Flush; frees a
 * session's statements and portals. */
void qx_pg_extended(session *s, uint8_t type, const uint8_t *body, uint32_t len);
void qx_pg_extended_free(session *s);

#endif
