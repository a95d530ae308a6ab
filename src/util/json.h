/* JSON text into a qx_buffer: strings escaped, and SQL cells as JSON values by their kind, for
 * whatever writes JSON without a JSON library in its path (the WebSocket record encoder, whose
 * cost counts per record). */
#ifndef QX_UTIL_JSON_H
#define QX_UTIL_JSON_H

#include "qaxdb/sql.h"
#include "util/grow.h"

/* s as a JSON string: quoted, with '"', '\\' and control characters escaped. */
void qx_json_put_string(qx_buffer *b, const char *s);

/* A cell's text as a JSON value: numbers, booleans and JSON bare; NULL as null; a float's nan
 * and inf (which JSON has no number for) and all other text as strings. */
void qx_json_put_cell(qx_buffer *b, const char *text, qx_sql_value_kind kind);

#endif
