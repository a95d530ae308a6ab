/* The folder or the server holding it, as get, scan, stats and sql read them (source.h). */
#include "source.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qaxdb/key.h"
#include "query/result.h"
#include "util/error.h"
#include "util/hex.h"

#define SERVER_FILE "SERVER" /* src/server/server_file.c writes it */

/* ---- finding and reaching the server ---- */

typedef struct server_address {
  char host[64], port[8];
} server_address;

/* Reads the address and port the folder's SERVER file names; 0 if there is none. */
static int read_server_file(const char *data, server_address *a) {
  char path[PATH_MAX], line[128];
  snprintf(path, sizeof path, "%s/" SERVER_FILE, data);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  a->host[0] = a->port[0] = '\0';
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    if (strncmp(line, "address=", 8) == 0) snprintf(a->host, sizeof a->host, "%.63s", line + 8);
    if (strncmp(line, "pg_port=", 8) == 0) snprintf(a->port, sizeof a->port, "%.7s", line + 8);
  }
  fclose(f);
  return a->host[0] && a->port[0];
}

/* Connects as the user PostgreSQL clients would (PGUSER or the login name; PGPASSWORD or
 * ~/.pgpass when the server asks for a password). */
static PGconn *connect_server(const char *cmd, const server_address *a) {
  char application[64];
  snprintf(application, sizeof application, "qaxdb %s", cmd);
  const char *keys[] = {"host", "port", "dbname", "application_name", "connect_timeout", NULL};
  const char *values[] = {a->host, a->port, "qaxdb", application, "10", NULL};
  return PQconnectdbParams(keys, values, 0);
}

int cli_source_open(const char *cmd, const char *data, int with_sql, cli_source *src) {
  *src = (cli_source){0};
  qx_db_options o;
  qx_db_options_init(&o);
  o.read_only = 1;
  o.olap = with_sql;
  int rc = cli_try_open_db(cmd, data, &o, &src->db);
  if (rc == QX_OK) return CLI_EXIT_OK;
  char why[512];
  snprintf(why, sizeof why, "%s", qx_last_error());
  server_address a;
  if (rc != QX_ERR_LOCKED || !read_server_file(data, &a)) {
    fprintf(stderr, "qaxdb %s: cannot open the database: %s: %s\n", cmd, qx_strerror(rc), why);
    return CLI_EXIT_FAILURE;
  }
  src->server = connect_server(cmd, &a);
  if (PQstatus(src->server) == CONNECTION_OK) return CLI_EXIT_OK;
  fprintf(stderr,
          "qaxdb %s: cannot open the database: %s: %s; its SERVER file names qaxdbd at %s:%s, "
          "which could not be asked: %s",
          cmd, qx_strerror(rc), why, a.host, a.port, PQerrorMessage(src->server));
  PQfinish(src->server);
  src->server = NULL;
  return CLI_EXIT_FAILURE;
}

int cli_source_close(const char *cmd, cli_source *src) {
  if (src->server) PQfinish(src->server);
  int rc = src->db ? qx_db_close(src->db) : QX_OK;
  *src = (cli_source){0};
  return rc == QX_OK ? CLI_EXIT_OK : cli_fail(cmd, "closing", rc);
}

/* The server's error for a result that is not rows, as the status to return. */
static int server_failure(const PGresult *r, PGconn *c) {
  const char *message = r ? PQresultErrorMessage(r) : PQerrorMessage(c);
  return qx_fail(QX_ERR_IO, "server: %.*s", (int)strcspn(message, "\n"), message);
}

/* ---- records ---- */

/* A record from a row of (lsn, record as hex). */
static int record_of_row(const PGresult *r, int row, cli_record *out) {
  const char *hex = PQgetvalue(r, row, 1);
  size_t size = strlen(hex) / 2;
  *out = (cli_record){.copy = malloc(size + 1)};
  if (!out->copy) return qx_fail(QX_ERR_NOMEM, "out of memory for a record");
  if (qx_hex_decode(hex, out->copy, size) != (long)size) {
    cli_record_release(out);
    return qx_fail(QX_ERR_CORRUPT, "server: a record that is not hex");
  }
  out->data = out->copy;
  out->size = size;
  out->lsn = strtoull(PQgetvalue(r, row, 0), NULL, 10);
  return QX_OK;
}

int cli_source_get(const cli_source *src, const uint8_t *key, size_t key_len, cli_record *out) {
  *out = (cli_record){0};
  if (src->db) {
    int rc = qx_db_get(src->db, NULL, key, key_len, &out->held);
    *out = (cli_record){out->held.data, out->held.size, out->held.lsn, out->held, NULL};
    return rc;
  }
  char command[16 + 2 * QX_KEY_MAX + 1] = "QAXDB GET ";
  qx_hex_encode(key, key_len, command + strlen(command));
  PGresult *r = PQexec(src->server, command);
  int rc = PQresultStatus(r) != PGRES_TUPLES_OK ? server_failure(r, src->server)
           : PQntuples(r) == 0                  ? QX_ERR_NOT_FOUND
                                                : record_of_row(r, 0, out);
  PQclear(r);
  return rc;
}

void cli_record_release(cli_record *r) {
  if (r->held.data) qx_db_value_release(&r->held);
  free(r->copy);
  *r = (cli_record){0};
}

/* A raw put between a table's keys is not one of its records. */
static int is_record_of(const qx_schema *table, size_t size) {
  return size <= UINT32_MAX && qx_schema_version_of_size(table, (uint32_t)size);
}

static int scan_folder(qx_db *db, const qx_schema *table, const cli_key_range *range,
                       uint64_t limit, int unlimited, cli_record_fn each, void *ctx, int *more) {
  qx_db_iter *it;
  int rc = qx_db_iter_create(db, NULL, range->from, range->from_len, range->to, range->to_len, &it);
  if (rc != QX_OK) return rc;
  uint64_t done = 0;
  for (; qx_db_iter_valid(it); qx_db_iter_next(it)) {
    cli_record r = {.lsn = qx_db_iter_lsn(it)};
    r.data = qx_db_iter_value(it, &r.size);
    if (!is_record_of(table, r.size)) continue;
    if (!unlimited && done == limit) {
      *more = 1;
      break;
    }
    each(&r, ctx);
    done++;
  }
  rc = qx_db_iter_status(it);
  qx_db_iter_destroy(it);
  return rc;
}

/* The server filters, and sends one record more than the limit to tell whether more exist;
 * rows come one at a time (libpq's single-row mode), so a whole table is never held. */
static int scan_server(PGconn *c, const qx_schema *table, const cli_key_range *range,
                       uint64_t limit, int unlimited, cli_record_fn each, void *ctx, int *more) {
  char command[64 + 4 * QX_KEY_MAX], *p = command;
  p += sprintf(p, "QAXDB SCAN %d ", table->table_id);
  qx_hex_encode(range->from, range->from_len, p);
  p += strlen(p);
  *p++ = ' ';
  qx_hex_encode(range->to, range->to_len, p);
  p += strlen(p);
  sprintf(p, " %" PRIu64, unlimited ? UINT64_MAX : limit + 1);
  if (!PQsendQuery(c, command) || !PQsetSingleRowMode(c)) return server_failure(NULL, c);
  int rc = QX_OK;
  uint64_t done = 0;
  for (PGresult *r; (r = PQgetResult(c)) != NULL; PQclear(r)) {
    ExecStatusType status = PQresultStatus(r);
    if (status != PGRES_SINGLE_TUPLE && status != PGRES_TUPLES_OK && rc == QX_OK)
      rc = server_failure(r, c);
    if (status != PGRES_SINGLE_TUPLE || rc != QX_OK) continue;
    if (!unlimited && done == limit) {
      *more = 1;
      continue;
    }
    cli_record record;
    rc = record_of_row(r, 0, &record);
    if (rc == QX_OK) {
      each(&record, ctx);
      cli_record_release(&record);
    }
    done++;
  }
  return rc;
}

int cli_source_scan(const cli_source *src, const qx_schema *table, const cli_key_range *range,
                    uint64_t limit, int unlimited, cli_record_fn each, void *ctx, int *more) {
  *more = 0;
  return src->db ? scan_folder(src->db, table, range, limit, unlimited, each, ctx, more)
                 : scan_server(src->server, table, range, limit, unlimited, each, ctx, more);
}

/* ---- counters ---- */

int cli_source_stats(const cli_source *src, qx_db_stats *out) {
  if (src->db) return qx_db_stats_get(src->db, out);
  PGresult *r = PQexec(src->server, "QAXDB STATS");
  int rc = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1
               ? QX_OK
               : server_failure(r, src->server);
  if (rc == QX_OK && (strcmp(PQgetvalue(r, 0, 0), QAXDB_VERSION) != 0 ||
                      strtoull(PQgetvalue(r, 0, 1), NULL, 10) != sizeof *out))
    rc = qx_fail(QX_ERR_FORMAT, "the server runs qaxdb %s, this is %s: their counters differ",
                 PQgetvalue(r, 0, 0), QAXDB_VERSION);
  if (rc == QX_OK &&
      qx_hex_decode(PQgetvalue(r, 0, 2), (uint8_t *)out, sizeof *out) != (long)sizeof *out)
    rc = qx_fail(QX_ERR_CORRUPT, "server: counters that are not hex");
  PQclear(r);
  return rc;
}

/* ---- snapshots ---- */

/* The server resolves paths from its own folder: dest as an absolute path. */
static int absolute_path(const char *dest, char out[PATH_MAX]) {
  char cwd[PATH_MAX];
  if (dest[0] == '/')
    return snprintf(out, PATH_MAX, "%s", dest) < PATH_MAX ? QX_OK : QX_ERR_INVALID_ARG;
  if (!getcwd(cwd, sizeof cwd)) return qx_fail_errno(QX_ERR_IO, errno, "getcwd");
  if (snprintf(out, PATH_MAX, "%s/%s", cwd, dest) >= PATH_MAX)
    return qx_fail(QX_ERR_INVALID_ARG, "%s/%s: path too long", cwd, dest);
  return QX_OK;
}

int cli_source_snapshot(const cli_source *src, const char *dest, uint64_t *lsn) {
  if (src->db) return qx_db_snapshot(src->db, dest, lsn);
  char path[PATH_MAX];
  int rc = absolute_path(dest, path);
  if (rc != QX_OK) return rc;
  char *quoted = PQescapeLiteral(src->server, path, strlen(path));
  if (!quoted) return server_failure(NULL, src->server);
  char command[PATH_MAX * 2 + 32];
  snprintf(command, sizeof command, "SNAPSHOT TO %s", quoted);
  PQfreemem(quoted);
  PGresult *r = PQexec(src->server, command);
  const char *tag = PQcmdStatus(r);
  rc = PQresultStatus(r) == PGRES_COMMAND_OK && strncmp(tag, "SNAPSHOT ", 9) == 0
           ? QX_OK
           : server_failure(r, src->server);
  if (rc == QX_OK) *lsn = strtoull(tag + 9, NULL, 10);
  PQclear(r);
  return rc;
}

/* ---- SQL ---- */

/* How qaxdb sql prints a column of this PostgreSQL type. */
static qx_sql_value_kind kind_of_type(Oid type) {
  switch (type) {
  case 16:
    return QX_SQL_VALUE_BOOLEAN;
  case 20:
  case 21:
  case 23:
  case 700:
  case 701:
  case 1700:
    return QX_SQL_VALUE_NUMBER;
  case 114:
    return QX_SQL_VALUE_JSON;
  default:
    return QX_SQL_VALUE_TEXT;
  }
}

/* A cell as qaxdb sql writes it: booleans as true and false, not PostgreSQL's t and f. */
static const char *cell_text(const PGresult *r, int row, int col) {
  if (PQgetisnull(r, row, col)) return NULL;
  const char *v = PQgetvalue(r, row, col);
  if (PQftype(r, col) != 16) return v;
  return v[0] == 't' ? "true" : "false";
}

/* The server's rows as a result the output formats take. */
static qx_sql_result *result_of_rows(PGconn *c, const PGresult *r) {
  uint32_t cols = (uint32_t)PQnfields(r);
  uint64_t rows = (uint64_t)PQntuples(r);
  const char **names = calloc(cols + 1, sizeof *names);
  qx_sql_value_kind *kinds = calloc(cols + 1, sizeof *kinds);
  const char **cells = calloc(rows * cols + 1, sizeof *cells);
  qx_result_table *t = NULL;
  if (names && kinds && cells) {
    for (uint32_t col = 0; col < cols; col++) {
      names[col] = PQfname(r, (int)col);
      kinds[col] = kind_of_type(PQftype(r, (int)col));
    }
    for (uint64_t row = 0; row < rows; row++)
      for (uint32_t col = 0; col < cols; col++)
        cells[row * cols + col] = cell_text(r, (int)row, (int)col);
    if (qx_result_table_from_text(cols, rows, names, kinds, NULL, cells, &t) != QX_OK) t = NULL;
  }
  free(names);
  free(kinds);
  free(cells);
  const char *lsn = PQparameterStatus(c, "qaxdb.result_lsn");
  return t ? qx_sql_result_of_table(t, lsn ? strtoull(lsn, NULL, 10) : 0) : NULL;
}

int cli_server_sql(PGconn *server, const char *query, cli_format format) {
  if (!PQsendQuery(server, query)) {
    fprintf(stderr, "%s", PQerrorMessage(server));
    return CLI_EXIT_FAILURE;
  }
  int result = CLI_EXIT_OK;
  for (PGresult *r; (r = PQgetResult(server)) != NULL; PQclear(r)) {
    ExecStatusType status = PQresultStatus(r);
    qx_sql_result *rows = status == PGRES_TUPLES_OK ? result_of_rows(server, r) : NULL;
    if (rows) {
      cli_print_result(rows, format);
      qx_sql_result_destroy(rows);
    } else if (status == PGRES_COMMAND_OK) {
      printf("%s\n", PQcmdStatus(r));
    } else {
      fprintf(stderr, "%s",
              status == PGRES_TUPLES_OK ? "qaxdb sql: out of memory\n" : PQresultErrorMessage(r));
      result = CLI_EXIT_FAILURE;
    }
  }
  fflush(stdout);
  return result;
}
