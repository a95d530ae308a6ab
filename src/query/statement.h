/* A cursor over the text of a statement qaxdbd reads itself rather than handing to the SQL
 * engine (INSERT, COPY, SNAPSHOT TO, a point lookup): keywords, punctuation, identifiers,
 * 'strings' and values, and errors that say where in the text they are. */
#ifndef QX_QUERY_STATEMENT_H
#define QX_QUERY_STATEMENT_H

#include <stddef.h>

#define QX_STATEMENT_VALUE_MAX 256 /* bytes of one value's text; the widest column is narrower */

typedef struct qx_statement {
  const char *text, *at;
  const char *name; /* "INSERT", "COPY", ... for errors */
} qx_statement;

void qx_statement_start(qx_statement *s, const char *text, const char *name);

/* QX_ERR_PARSE: "<name>: <what> at character <n>". */
int qx_statement_fail(const qx_statement *s, const char *what);

void qx_statement_skip_space(qx_statement *s);
/* Each takes what it names if it comes next (after white space): 1, else 0 and nothing taken. */
int qx_statement_take_word(qx_statement *s, const char *word); /* a keyword, any case */
int qx_statement_take_char(qx_statement *s, char c);
/* An identifier, bare (folded to lower case, as SQL does) or "quoted", into out. */
int qx_statement_take_identifier(qx_statement *s, char *out, size_t cap);
/* A 'string' ('' is a quote) into out (cap bytes, with its NUL), *len its length; 0 if it does
 * not end or does not fit. */
int qx_statement_take_string(qx_statement *s, char *out, size_t cap, size_t *len);

/* A value into out (QX_STATEMENT_VALUE_MAX bytes; *len of them): a 'string', a number, or NULL
 * (*is_null). A type name before a string (TIMESTAMP '...') is taken and ignored. QX_OK, or
 * QX_ERR_PARSE saying what is wrong and where. */
int qx_statement_take_value(qx_statement *s, char *out, size_t *len, int *is_null);

/* The statement's end: an optional ';' and nothing after it; QX_OK or QX_ERR_PARSE. */
int qx_statement_take_end(qx_statement *s);

#endif
