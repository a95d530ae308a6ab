/* qaxdbd through libpq's extended query protocol, as a C application (or a driver built on
 * libpq) uses it: parameters bound as text and as binary integers, a prepared statement
 * described (parameter and column types) and executed, an INSERT with parameters, a $1 inside
 * a string left alone, and an error's SQLSTATE followed by a working statement. Run by
 * server_test.sh, also against a server with a users file and TLS, with the password and
 * sslmode in CONNINFO. Usage: server_libpq PORT EXPECTED_TRADES [CONNINFO] */
#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

static void check(int ok, const char *what, const char *detail) {
  if (ok) return;
  fprintf(stderr, "FAIL: %s: %s\n", what, detail ? detail : "");
  failures++;
}

/* Runs text with params (all text) and returns the result, which must have status. */
static PGresult *exec(PGconn *c, const char *text, int n, const char *const *params,
                      ExecStatusType status) {
  PGresult *r = PQexecParams(c, text, n, NULL, params, NULL, NULL, 0);
  check(PQresultStatus(r) == status, text, PQresultErrorMessage(r));
  return r;
}

static void test_params(PGconn *c, const char *expected_trades) {
  const char *p[2] = {"0", "none"};
  PGresult *r = exec(c, "SELECT count(*) FROM trades WHERE volume > $1 AND instrument_id <> $2", 2,
                     p, PGRES_TUPLES_OK);
  check(PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), expected_trades) == 0, "count",
        PQntuples(r) ? PQgetvalue(r, 0, 0) : "no row");
  check(PQftype(r, 0) == 20, "count(*) is int8", NULL);
  PQclear(r);
  const char *x[1] = {"it's"};
  r = exec(c, "SELECT '$1' AS a, $1 AS b -- $1 in a comment", 1, x, PGRES_TUPLES_OK);
  check(PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "$1") == 0 &&
            strcmp(PQgetvalue(r, 0, 1), "it's") == 0,
        "a $1 inside quotes", PQgetvalue(r, 0, 0));
  PQclear(r);
  /* A binary int8 parameter: 42 in network order. */
  uint64_t be = 0;
  unsigned char *b = (unsigned char *)&be;
  b[7] = 42;
  const char *bin[1] = {(const char *)&be};
  int lengths[1] = {8}, formats[1] = {1};
  Oid types[1] = {20};
  r = PQexecParams(c, "SELECT $1 + 1 AS n", 1, types, bin, lengths, formats, 0);
  check(PQresultStatus(r) == PGRES_TUPLES_OK && strcmp(PQgetvalue(r, 0, 0), "43") == 0,
        "a binary parameter", PQresultErrorMessage(r));
  PQclear(r);
}

static void test_prepared(PGconn *c) {
  PGresult *r = PQprepare(c, "by_id",
                          "SELECT instrument_id, price_tick FROM instruments "
                          "WHERE instrument_id = $1",
                          1, NULL);
  check(PQresultStatus(r) == PGRES_COMMAND_OK, "prepare", PQresultErrorMessage(r));
  PQclear(r);
  r = PQdescribePrepared(c, "by_id");
  check(PQresultStatus(r) == PGRES_COMMAND_OK && PQnparams(r) == 1 && PQnfields(r) == 2 &&
            PQftype(r, 1) == 1700 && PQfmod(r, 1) == ((18 << 16) | 4) + 4,
        "describe", PQresultErrorMessage(r));
  PQclear(r);
  const char *id[1] = {"zz2612"};
  r = PQexecPrepared(c, "by_id", 1, id, NULL, NULL, 0);
  check(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
            strcmp(PQgetvalue(r, 0, 1), "0.5000") == 0,
        "execute prepared", PQresultErrorMessage(r));
  PQclear(r);
}

static void test_insert_and_error(PGconn *c) {
  const char *p[2] = {"lp01", "O'Hare"};
  PGresult *r = exec(c, "INSERT INTO instruments (instrument_id, exchange) VALUES ($1, $2)", 2, p,
                     PGRES_COMMAND_OK);
  check(strcmp(PQcmdTuples(r), "1") == 0, "INSERT row count", PQcmdTuples(r));
  PQclear(r);
  const char *q[1] = {"lp01"};
  r = exec(c, "SELECT exchange FROM instruments WHERE instrument_id = $1", 1, q, PGRES_TUPLES_OK);
  check(PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "O'Hare") == 0, "inserted row", NULL);
  PQclear(r);
  r = exec(c, "SELECT * FROM no_such_table", 0, NULL, PGRES_FATAL_ERROR);
  const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
  check(state && strcmp(state, "42P01") == 0, "SQLSTATE", state);
  PQclear(r);
  r = exec(c, "SELECT 5", 0, NULL, PGRES_TUPLES_OK);
  check(strcmp(PQgetvalue(r, 0, 0), "5") == 0, "a statement after an error", NULL);
  PQclear(r);
}

int main(int argc, char **argv) {
  if (argc != 3 && argc != 4) {
    fprintf(stderr, "usage: server_libpq PORT EXPECTED_TRADES [CONNINFO]\n");
    return 2;
  }
  char info[512]; /* a keyword given twice takes its last value: CONNINFO's */
  snprintf(info, sizeof info, "host=127.0.0.1 port=%s user=app dbname=qaxdb %s", argv[1],
           argc == 4 ? argv[3] : "");
  PGconn *c = PQconnectdb(info);
  if (PQstatus(c) != CONNECTION_OK) {
    fprintf(stderr, "FAIL: connect: %s", PQerrorMessage(c));
    return 1;
  }
  check(!strstr(info, "sslmode=require") || PQsslInUse(c), "TLS asked for but not in use", NULL);
  test_params(c, argv[2]);
  test_prepared(c);
  test_insert_and_error(c);
  PQfinish(c);
  return failures ? 1 : 0;
}
