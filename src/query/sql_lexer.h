/* Where the parts of SQL text that are not code end: string literals ('...', E'...' with
 * backslash escapes, $tag$...$tag$), quoted identifiers and comments. Shared by whatever reads
 * statement text (the result cache's volatile-name check, parameter binding, the PostgreSQL
 * catalog rewrite) so that none of them mistakes a quoted word for a name. */
#ifndef QX_QUERY_SQL_LEXER_H
#define QX_QUERY_SQL_LEXER_H

int qx_sql_ident_char(unsigned char c); /* a letter, digit, '_' or any byte of UTF-8 */

/* The end (just past it) of the literal, quoted identifier or comment that starts at p, or p
 * if none starts there. An unterminated one ends at the end of the text. */
const char *qx_sql_skip_quoted(const char *p);

#endif
