/* Growable memory: arrays whose capacity doubles as they fill, and a byte buffer whose failure
 * is sticky, so that a run of appends (an encoded MANIFEST edit, a generated SQL text) is
 * checked once at the end. */
#ifndef QX_UTIL_GROW_H
#define QX_UTIL_GROW_H

#include <stddef.h>
#include <stdint.h>

/* Makes *p (an array of *cap elements of elem bytes) hold at least need elements. Returns
 * QX_OK, or QX_ERR_NOMEM naming what ("out of memory for <what>") with *p unchanged. */
int qx_grow(void **p, size_t *cap, size_t need, size_t elem, const char *what);

typedef struct qx_buffer {
  uint8_t *p; /* len bytes, then a NUL, once anything was put */
  size_t len, cap;
  int failed; /* an allocation failed: later puts do nothing */
} qx_buffer;

void qx_buffer_put(qx_buffer *b, const void *data, size_t n);
/* s as text; a NULL s (a text that could not be built) fails the buffer. */
void qx_buffer_puts(qx_buffer *b, const char *s);
/* printf into the buffer, for lines under 512 bytes (a longer one fails the buffer). */
void qx_buffer_printf(qx_buffer *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s as an SQL string literal: quoted, inner quotes doubled. */
void qx_buffer_put_sql_string(qx_buffer *b, const char *s);
/* Puts template_text with its one "%s" replaced by inner (SQL around a subquery; a NULL inner
 * fails the buffer). */
void qx_buffer_put_template(qx_buffer *b, const char *template_text, const char *inner);
/* The text put so far ("" if none), or NULL if an allocation failed. */
const char *qx_buffer_text(const qx_buffer *b);
void qx_buffer_free(qx_buffer *b);

#endif
