/* SQL over the whole history of a database, through DuckDB in process.
 *
 * The tables orders, trades, accounts, positions, ticks, orderbook_snapshots and klines are
 * views over their Parquet files plus the rows not yet written to Parquet, read at one LSN:
 * a query sees every record committed up to that LSN exactly once. Latest-state tables
 * (orders, accounts, positions, klines) show the current state of each key, read from the
 * engine at the same LSN; <table>_history shows every version; <table>_by_key(...) finds one
 * record by its primary key through the engine's index. Every view has two more columns: lsn (the
 * record's log sequence number) and date (its trading day). Predefined queries, functions and the
 * safety rules are in docs/sql.md.
 *
 * User SQL is read-only: only SELECT (including PRAGMA and SUMMARIZE, which are SELECTs),
 * EXPLAIN and EXPLAIN ANALYZE run; COPY, ATTACH, INSTALL, LOAD, SET and DDL are refused, and
 * DuckDB itself is configured so that queries cannot reach files outside the data folder's
 * Parquet files or load extensions, with its configuration locked.
 *
 * Thread safety: a qx_sql may be used from any thread; queries on one qx_sql run one at a
 * time. Results are independent of the qx_sql once returned. */
#ifndef QAXDB_SQL_H
#define QAXDB_SQL_H

#include <stddef.h>
#include <stdint.h>

#include "qaxdb/db.h"
#include "qaxdb/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct qx_sql qx_sql;
typedef struct qx_sql_result qx_sql_result;

typedef struct qx_sql_options {
  int threads;            /* DuckDB worker threads; 0 (default): one per core */
  uint64_t memory_limit;  /* bytes DuckDB may use; 0 (default): DuckDB's own (80% of RAM) */
  uint32_t cache_entries; /* results kept for repeated identical queries; default 64, 0 off */
  /* 1 (default): a query first waits (about a millisecond) until every record durable when it
   * starts is converted, so it sees the writes just made; 0: it reads what is converted. */
  int see_latest;
  /* 1: queries run at idle CPU priority (Linux SCHED_IDLE, on a thread of the engine's own,
   * DuckDB's workers included), so they use only CPU that the writer and the rest of the
   * process leave free; on a saturated machine they wait. 0 (default): normal priority. */
  int background;
} qx_sql_options;

void qx_sql_options_init(qx_sql_options *options);

/* Starts an SQL engine over db (opened with analytics on), which must outlive it. */
int qx_sql_open(qx_db *db, const qx_sql_options *options, qx_sql **out);
void qx_sql_close(qx_sql *sql);

/* Runs one statement (or several separated by ';': the result is the last one's). On failure
 * returns QX_ERR_SQL (DuckDB's message, with the line and a caret under the position, in
 * qx_last_error()) or QX_ERR_DENIED for a statement user SQL may not run. */
int qx_sql_query(qx_sql *sql, const char *text, qx_sql_result **out);

/* As qx_sql_query, at the snapshot of an earlier result: the same LSN and files. */
int qx_sql_query_at(qx_sql *sql, const qx_sql_result *at, const char *text, qx_sql_result **out);

/* Receives the result of one statement, which it owns (qx_sql_result_destroy); a status other
 * than QX_OK stops qx_sql_query_each. */
typedef int (*qx_sql_result_fn)(qx_sql_result *result, void *ctx);

/* Runs every statement of text in order, at one snapshot, as DuckDB's parser splits them, and
 * hands each statement's result to each in that order once the statements have run. A
 * statement that fails stops the rest: the results of those before it are handed out, then its
 * error is returned (as qx_sql_query's). */
int qx_sql_query_each(qx_sql *sql, const char *text, qx_sql_result_fn each, void *ctx);

/* Cancels the statements running on sql now, if any: the query returns QX_ERR_SQL with
 * "Interrupted" in qx_last_error(), and sql stays usable. A call while no query runs has no
 * effect on later ones. Thread-safe (meant to be called from another thread than the query's);
 * not async-signal-safe: from a signal handler, hand it to a thread. */
void qx_sql_interrupt(qx_sql *sql);

uint64_t qx_sql_result_lsn(const qx_sql_result *r); /* every record up to here, none after */
int qx_sql_result_cached(const qx_sql_result *r);   /* 1 if served from the result cache */
uint32_t qx_sql_result_column_count(const qx_sql_result *r);
const char *qx_sql_result_column_name(const qx_sql_result *r, uint32_t col);

/* What the text of a column's cells is, for writers of typed formats such as JSON. */
typedef enum qx_sql_value_kind {
  QX_SQL_VALUE_TEXT,    /* a string: VARCHAR, dates, times, intervals, UUIDs, BLOBs, enums... */
  QX_SQL_VALUE_NUMBER,  /* a number in decimal digits; floats may also be nan, inf or -inf */
  QX_SQL_VALUE_BOOLEAN, /* true or false */
  QX_SQL_VALUE_JSON,    /* JSON: lists, arrays, structs, maps, unions, and the JSON type */
} qx_sql_value_kind;

qx_sql_value_kind qx_sql_result_column_kind(const qx_sql_result *r, uint32_t col);
/* A column's SQL type, for protocols that carry types (qaxdbd's PostgreSQL wire protocol). Types
 * without an entry here are QX_SQL_TYPE_OTHER; their kind says how their text reads. */
typedef enum qx_sql_type {
  QX_SQL_TYPE_OTHER = 0,
  QX_SQL_TYPE_BOOLEAN,
  QX_SQL_TYPE_SMALLINT, /* TINYINT, SMALLINT, UTINYINT */
  QX_SQL_TYPE_INTEGER,  /* INTEGER, USMALLINT */
  QX_SQL_TYPE_BIGINT,   /* BIGINT, UINTEGER */
  QX_SQL_TYPE_REAL,
  QX_SQL_TYPE_DOUBLE,
  QX_SQL_TYPE_DECIMAL, /* exact: width and scale in qx_sql_column_type */
  QX_SQL_TYPE_VARCHAR, /* ENUM too */
  QX_SQL_TYPE_DATE,
  QX_SQL_TYPE_TIME,
  QX_SQL_TYPE_TIMESTAMP, /* any precision */
  QX_SQL_TYPE_TIMESTAMPTZ,
  QX_SQL_TYPE_INTERVAL,
  QX_SQL_TYPE_UUID,
} qx_sql_type;

typedef struct qx_sql_column_type {
  qx_sql_type type;
  uint8_t width, scale; /* QX_SQL_TYPE_DECIMAL only */
} qx_sql_column_type;

qx_sql_column_type qx_sql_result_column_type(const qx_sql_result *r, uint32_t col);

/* 1 if the column holds numbers (printed right-aligned): its kind is QX_SQL_VALUE_NUMBER. */
int qx_sql_result_column_numeric(const qx_sql_result *r, uint32_t col);
uint64_t qx_sql_result_row_count(const qx_sql_result *r);
/* The cell as text, or NULL for SQL NULL; valid until the result is destroyed. Every type
 * prints as its value:
 *   - integers of every width and decimals exactly, with the decimal's scale ("-0.0500");
 *     floats as the shortest text that reads back as the same value ("0.1", "1e+20", "nan");
 *   - DATE "2026-11-24", TIME "09:30:00.5", TIMESTAMP (any precision) "2026-11-24
 *     09:30:00.123456789" with the stored precision and no trailing zeros, TIMESTAMPTZ in UTC
 *     "2026-11-24 01:30:00+00", TIMETZ "09:30:00+08", INTERVAL "1 year 2 days 00:00:01.5";
 *     years before 1 as "0044-03-15 (BC)", and infinity, -infinity;
 *   - BLOB with printable ASCII as itself and every other byte (quotes and backslash
 *     included) as \xHH; UUID, ENUM, BIT ("0101"), BIGNUM as DuckDB writes them;
 *   - lists and arrays as JSON arrays, structs and maps as JSON objects (a map's keys as
 *     their text), unions as their member's value, all with the scalars above inside: numbers
 *     and booleans bare, everything else as JSON strings, SQL NULL as null. */
const char *qx_sql_result_text(qx_sql_result *r, uint64_t row, uint32_t col);
/* Results may outlive their qx_sql but not the database: each holds the engine's state at its
 * LSN (the engine keeps every version overwritten since, as for any snapshot), so destroy them
 * before qx_db_close, and soon. */
void qx_sql_result_destroy(qx_sql_result *r);

#ifdef __cplusplus
}
#endif
#endif
