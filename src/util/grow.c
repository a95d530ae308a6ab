/* Growable arrays and the byte buffer (see grow.h). */
#include "util/grow.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

int qx_grow(void **p, size_t *cap, size_t need, size_t elem, const char *what) {
  if (need <= *cap) return QX_OK;
  size_t n = *cap ? *cap * 2 : 8;
  while (n < need)
    n *= 2;
  void *q = realloc(*p, n * elem);
  if (!q) return qx_fail(QX_ERR_NOMEM, "out of memory for %s", what);
  *p = q;
  *cap = n;
  return QX_OK;
}

void qx_buffer_put(qx_buffer *b, const void *data, size_t n) {
  if (b->failed) return;
  if (qx_grow((void **)&b->p, &b->cap, b->len + n + 1, 1, "a buffer") != QX_OK) {
    b->failed = 1;
    return;
  }
  if (n) memcpy(b->p + b->len, data, n);
  b->len += n;
  b->p[b->len] = 0;
}

void qx_buffer_puts(qx_buffer *b, const char *s) {
  if (!s)
    b->failed = 1;
  else
    qx_buffer_put(b, s, strlen(s));
}

void qx_buffer_printf(qx_buffer *b, const char *fmt, ...) {
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof line)
    b->failed = 1; /* a text longer than a line is not what this is for */
  else
    qx_buffer_put(b, line, (size_t)n);
}

void qx_buffer_put_sql_string(qx_buffer *b, const char *s) {
  qx_buffer_puts(b, "'");
  for (const char *q; (q = strchr(s, '\'')) != NULL; s = q + 1) {
    qx_buffer_put(b, s, (size_t)(q - s));
    qx_buffer_puts(b, "''");
  }
  qx_buffer_puts(b, s);
  qx_buffer_puts(b, "'");
}

void qx_buffer_put_template(qx_buffer *b, const char *template_text, const char *inner) {
  const char *hole = strstr(template_text, "%s");
  qx_buffer_put(b, template_text, (size_t)(hole - template_text));
  qx_buffer_puts(b, inner);
  qx_buffer_puts(b, hole + 2);
}

const char *qx_buffer_text(const qx_buffer *b) {
  if (b->failed) return NULL;
  return b->p ? (const char *)b->p : "";
}

void qx_buffer_free(qx_buffer *b) {
  free(b->p);
  *b = (qx_buffer){0};
}
