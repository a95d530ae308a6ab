/* Parameters of the extended query protocol ($1, $2, ... in a statement) put into its text as
 * SQL literals, since the SQL engine takes statement text: NULL, a number as itself when its
 * type is numeric and it reads as a number, anything else as a quoted string (quotes doubled),
 * which DuckDB casts where the statement needs another type. Parameters inside string
 * literals, quoted identifiers and comments (query/sql_lexer.h) are left alone. */
#ifndef QX_SERVER_PG_PARAMS_H
#define QX_SERVER_PG_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "util/grow.h"

/* The highest $n the statement uses (0 for none). */
int qx_pg_param_count(const char *query);

/* Writes query with each $n replaced by the literal of value n - 1 (values[i] of lengths[i]
 * bytes, NULL for SQL NULL; types[i] its type OID, 0 if unknown) into out. QX_ERR_INVALID_ARG
 * naming $n if the query uses more parameters than given. */
int qx_pg_bind_params(const char *query, size_t count, const char *const *values,
                      const int32_t *lengths, const int32_t *types, qx_buffer *out);

#endif
