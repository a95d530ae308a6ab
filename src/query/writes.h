/* The write statements qaxdbd takes, as writes to the engine.
 * INSERT INTO table [(column, ...)] VALUES (value, ...)[, (...)]...:
 * every row becomes a record of a built-in table through the parser `qaxdb load` uses
 * (record/fields.h), and the rows go to the log as one batch, all or nothing. Values are
 * string literals ('it''s'), numbers and NULL (the column default); a type name
 * before a string (TIMESTAMP '2026-11-24 09:30:00') is allowed and ignored, the column decides
 * the type. Other SQL (INSERT ... SELECT, ON CONFLICT, RETURNING) is refused. */
#ifndef QX_QUERY_WRITES_H
#define QX_QUERY_WRITES_H

#include <stdint.h>

#include "qaxdb/db.h"
#include "record/fields.h"

#define QX_INSERT_MAX_ROWS 100000 /* rows in one statement: one batch in the log */

/* 1 if text is an INSERT statement (its first word), whether or not it is one this parser
 * takes. */
int qx_insert_is_insert(const char *text);

/* Parses and applies text; *rows is how many were written (all or none). QX_ERR_PARSE with
 * the reason and its position for a statement it cannot take; the write's status otherwise.
 * Returns once the rows are at durability. */
/* *lsn: the last LSN written (unchanged if no row was). */
int qx_insert_run(qx_db *db, const char *text, qx_durability durability, uint64_t *rows,
                  uint64_t *lsn);

/* COPY table [(columns)] FROM STDIN WITH (FORMAT csv[, HEADER [bool]][, DELIMITER ',']), or the
 * older WITH CSV [HEADER]: the rows come afterwards as CSV text (the wire protocol's CopyData)
 * and are parsed like a file of `qaxdb load`. With HEADER and no column list, the header names
 * the columns; with a list, it is skipped; with neither, the fields are all the table's columns
 * in order. All rows go to the log as one batch, as an INSERT's. */
typedef struct qx_copy_plan {
  const qx_schema *table;
  qx_field_map map;
  int columns_given, header;
} qx_copy_plan;

int qx_copy_is_copy(const char *text);
/* QX_ERR_PARSE (with the position) for a COPY it does not take, QX_ERR_NOT_FOUND for an unknown
 * table; free the plan with qx_copy_plan_free either way. */
int qx_copy_parse(const char *text, qx_copy_plan *plan);
/* Parses len bytes of CSV and writes every row; *rows as qx_insert_run's. */
int qx_copy_apply(qx_db *db, qx_copy_plan *plan, const void *csv, size_t len,
                  qx_durability durability, uint64_t *rows, uint64_t *lsn);
void qx_copy_plan_free(qx_copy_plan *plan);

#endif
