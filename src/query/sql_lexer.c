/* The ends of literals, quoted identifiers and comments in SQL text (sql_lexer.h). */
#include "query/sql_lexer.h"

#include <string.h>

int qx_sql_ident_char(unsigned char c) {
  return c == '_' || c >= 0x80 || (c >= '0' && c <= '9') ||
         ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

/* The end of the text quoted by q starting at p, doubled quotes inside; with backslash escapes
 * if escapes. */
static const char *skip_between(const char *p, char q, int escapes) {
  for (p++; *p; p++) {
    if (escapes && *p == '\\' && p[1]) {
      p++;
    } else if (*p == q) {
      if (p[1] != q) return p + 1;
      p++;
    }
  }
  return p;
}

/* The end of a dollar-quoted string ($$...$$ or $tag$...$tag$) starting at p, or p if p is not
 * one (a parameter such as $1). */
static const char *skip_dollar_quoted(const char *p) {
  const char *t = p + 1;
  if (*t >= '0' && *t <= '9') return p;
  while (*t != '$' && qx_sql_ident_char((unsigned char)*t))
    t++;
  if (*t != '$') return p;
  size_t tag = (size_t)(t - p) + 1; /* "$tag$" */
  for (const char *q = t + 1; *q; q++)
    if (strncmp(q, p, tag) == 0) return q + tag;
  return p + strlen(p);
}

const char *qx_sql_skip_quoted(const char *p) {
  if (p[0] == '-' && p[1] == '-') return p + strcspn(p, "\n");
  if (p[0] == '/' && p[1] == '*') {
    const char *end = strstr(p + 2, "*/");
    return end ? end + 2 : p + strlen(p);
  }
  if (*p == '\'' || *p == '"') return skip_between(p, *p, 0);
  if ((*p | 0x20) == 'e' && p[1] == '\'') return skip_between(p + 1, '\'', 1);
  if (*p == '$') return skip_dollar_quoted(p);
  return p;
}
