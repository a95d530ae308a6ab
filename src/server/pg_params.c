/* $n parameters into statement text (pg_params.h). */
#include "server/pg_params.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "qaxdb/status.h"
#include "query/sql_lexer.h"
#include "util/error.h"

/* Where the name, number or other single character at p ends. */
static const char *skip_word(const char *p) {
  if (!qx_sql_ident_char((unsigned char)*p)) return p + 1;
  while (qx_sql_ident_char((unsigned char)*p))
    p++;
  return p;
}

/* A parameter reference $n at p: n (>= 1) and *end, or 0. */
static long param_at(const char *p, const char **end) {
  if (*p != '$' || !isdigit((unsigned char)p[1])) return 0;
  char *e;
  long n = strtol(p + 1, &e, 10);
  *end = e;
  return n;
}

int qx_pg_param_count(const char *query) {
  long highest = 0;
  for (const char *p = query; *p;) {
    const char *after = qx_sql_skip_quoted(p), *end;
    long n;
    if (after != p) {
      p = after;
    } else if ((n = param_at(p, &end)) > 0) {
      highest = n > highest ? n : highest;
      p = end;
    } else {
      p = skip_word(p);
    }
  }
  return highest > 65535 ? 65535 : (int)highest;
}

static int numeric_type(int32_t oid) {
  return oid == 20 || oid == 21 || oid == 23 || oid == 700 || oid == 701 || oid == 1700;
}

/* A plain decimal number: sign, digits, at most one point, an optional exponent. */
static int reads_as_number(const char *v, int32_t len) {
  int32_t i = 0, digits = 0, points = 0;
  if (i < len && (v[i] == '-' || v[i] == '+')) i++;
  for (; i < len && (isdigit((unsigned char)v[i]) || v[i] == '.'); i++)
    v[i] == '.' ? points++ : digits++;
  if (i < len && (v[i] == 'e' || v[i] == 'E')) {
    i++;
    if (i < len && (v[i] == '-' || v[i] == '+')) i++;
    if (i == len || !isdigit((unsigned char)v[i])) return 0;
    while (i < len && isdigit((unsigned char)v[i]))
      i++;
  }
  return i == len && digits > 0 && points <= 1;
}

static void put_literal(qx_buffer *out, const char *value, int32_t len, int32_t type) {
  if (!value) {
    qx_buffer_puts(out, "NULL");
    return;
  }
  if (numeric_type(type) && reads_as_number(value, len)) {
    qx_buffer_put(out, value, (size_t)len);
    return;
  }
  qx_buffer_put(out, "'", 1);
  for (int32_t i = 0; i < len; i++) {
    qx_buffer_put(out, &value[i], 1);
    if (value[i] == '\'') qx_buffer_put(out, "'", 1);
  }
  qx_buffer_put(out, "'", 1);
}

int qx_pg_bind_params(const char *query, size_t count, const char *const *values,
                      const int32_t *lengths, const int32_t *types, qx_buffer *out) {
  for (const char *p = query; *p;) {
    const char *after = qx_sql_skip_quoted(p), *end;
    long n;
    if (after != p) {
      qx_buffer_put(out, p, (size_t)(after - p));
      p = after;
    } else if ((n = param_at(p, &end)) > 0) {
      if ((size_t)n > count)
        return qx_fail(QX_ERR_INVALID_ARG, "the statement uses $%ld, but %zu parameters were bound",
                       n, count);
      put_literal(out, values[n - 1], lengths[n - 1], types[n - 1]);
      p = end;
    } else {
      after = skip_word(p);
      qx_buffer_put(out, p, (size_t)(after - p));
      p = after;
    }
  }
  return out->failed ? qx_fail(QX_ERR_NOMEM, "out of memory for a bound statement") : QX_OK;
}
