/* The statement cursor (statement.h). */
#include "query/statement.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "util/error.h"

void qx_statement_start(qx_statement *s, const char *text, const char *name) {
  *s = (qx_statement){text, text, name};
}

void qx_statement_skip_space(qx_statement *p) {
  while (isspace((unsigned char)*p->at))
    p->at++;
}

int qx_statement_fail(const qx_statement *p, const char *what) {
  return qx_fail(QX_ERR_PARSE, "%s: %s at character %ld", p->name, what,
                 (long)(p->at - p->text) + 1);
}

/* Takes the keyword word (any case) if it comes next. */
int qx_statement_take_word(qx_statement *p, const char *word) {
  qx_statement_skip_space(p);
  size_t n = strlen(word);
  if (strncasecmp(p->at, word, n) != 0 || isalnum((unsigned char)p->at[n]) || p->at[n] == '_')
    return 0;
  p->at += n;
  return 1;
}

int qx_statement_take_char(qx_statement *p, char c) {
  qx_statement_skip_space(p);
  if (*p->at != c) return 0;
  p->at++;
  return 1;
}

/* An identifier, bare or "quoted", into out (lower case when bare, as SQL folds it). */
int qx_statement_take_identifier(qx_statement *p, char *out, size_t cap) {
  qx_statement_skip_space(p);
  size_t n = 0;
  if (*p->at == '"') {
    const char *end = strchr(p->at + 1, '"');
    if (!end || (size_t)(end - p->at - 1) >= cap) return 0;
    n = (size_t)(end - p->at - 1);
    memcpy(out, p->at + 1, n);
    p->at = end + 1;
  } else {
    while ((isalnum((unsigned char)p->at[n]) || p->at[n] == '_') && n + 1 < cap) {
      out[n] = (char)tolower((unsigned char)p->at[n]);
      n++;
    }
    if (n == 0 || isalnum((unsigned char)p->at[n])) return 0;
    p->at += n;
  }
  out[n] = '\0';
  return 1;
}

int qx_statement_take_string(qx_statement *p, char *out, size_t cap, size_t *len) {
  qx_statement_skip_space(p);
  if (*p->at != '\'') return 0;
  size_t n = 0;
  for (const char *c = p->at + 1; *c; c++) {
    if (*c == '\'' && c[1] != '\'') {
      p->at = c + 1;
      out[n] = '\0';
      *len = n;
      return 1;
    }
    if (n + 1 >= cap) return 0;
    out[n++] = *c;
    if (*c == '\'') c++;
  }
  return 0;
}

/* One value into out (*len bytes); *is_null for NULL. */
int qx_statement_take_value(qx_statement *p, char *out, size_t *len, int *is_null) {
  qx_statement_skip_space(p);
  *is_null = 0;
  if (qx_statement_take_word(p, "null")) {
    *is_null = 1;
    *len = 0;
    return QX_OK;
  }
  if (qx_statement_take_word(p, "true") || qx_statement_take_word(p, "false"))
    return qx_statement_fail(p, "TRUE and FALSE fit no column of qaxdb's tables");
  if (isalpha((unsigned char)*p->at)) { /* a type name before a string: TIMESTAMP '...' */
    char type[64];
    if (!qx_statement_take_identifier(p, type, sizeof type))
      return qx_statement_fail(p, "expected a value");
    qx_statement_skip_space(p);
    if (*p->at != '\'')
      return qx_statement_fail(p, "expected a value (strings are in single quotes)");
  }
  if (*p->at == '\'')
    return qx_statement_take_string(p, out, QX_STATEMENT_VALUE_MAX, len)
               ? QX_OK
               : qx_statement_fail(p, "unterminated string");
  const char *start = p->at;
  if (*p->at == '-' || *p->at == '+') p->at++;
  while (isalnum((unsigned char)*p->at) || *p->at == '.')
    p->at++;
  size_t n = (size_t)(p->at - start);
  if (n == 0 || n >= QX_STATEMENT_VALUE_MAX) return qx_statement_fail(p, "expected a value");
  memcpy(out, start, n);
  *len = n;
  return QX_OK;
}

int qx_statement_take_end(qx_statement *p) {
  qx_statement_take_char(p, ';');
  qx_statement_skip_space(p);
  return *p->at ? qx_statement_fail(p, "unexpected text at the end") : QX_OK;
}
