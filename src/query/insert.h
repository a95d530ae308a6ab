/* INSERT INTO table [(column, ...)] VALUES (value, ...)[, (...)]... as a write to the engine:
 * every row becomes a record of a built-in table through the parser `qaxdb load` uses
 * (record/fields.h), and the rows go to the log as one batch, all or nothing. Values are
 * string literals ('it''s'), numbers, TRUE/FALSE and NULL (the column default); a type name
 * before a string (TIMESTAMP '2026-11-24 09:30:00') is allowed and ignored, the column decides
 * the type. Other SQL (INSERT ... SELECT, ON CONFLICT, RETURNING) is refused. */
#ifndef QX_QUERY_INSERT_H
#define QX_QUERY_INSERT_H

#include <stdint.h>

#include "qaxdb/db.h"

#define QX_INSERT_MAX_ROWS 100000 /* rows in one statement: one batch in the log */

/* 1 if text is an INSERT statement (its first word), whether or not it is one this parser
 * takes. */
int qx_insert_is_insert(const char *text);

/* Parses and applies text; *rows is how many were written (all or none). QX_ERR_PARSE with
 * the reason and its position for a statement it cannot take; the write's status otherwise.
 * Returns once the rows are at durability. */
int qx_insert_run(qx_db *db, const char *text, qx_durability durability, uint64_t *rows);

#endif
