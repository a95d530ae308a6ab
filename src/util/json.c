/* JSON text into a qx_buffer (json.h). */
#include "util/json.h"

#include <string.h>

void qx_json_put_string(qx_buffer *b, const char *s) {
  static const char hex[] = "0123456789abcdef";
  qx_buffer_put(b, "\"", 1);
  const char *run = s;
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch != '"' && ch != '\\' && ch >= 0x20) continue;
    qx_buffer_put(b, run, (size_t)(s - run));
    char esc[6] = {'\\', (char)ch, '0', '0', hex[ch >> 4], hex[ch & 15]};
    size_t n = 2;
    if (ch < 0x20) {
      esc[1] = 'u';
      n = 6;
    }
    qx_buffer_put(b, esc, n);
    run = s + 1;
  }
  qx_buffer_put(b, run, (size_t)(s - run));
  qx_buffer_put(b, "\"", 1);
}

void qx_json_put_cell(qx_buffer *b, const char *text, qx_sql_value_kind kind) {
  if (!text) {
    qx_buffer_put(b, "null", 4);
    return;
  }
  int bare = kind == QX_SQL_VALUE_JSON || kind == QX_SQL_VALUE_BOOLEAN ||
             (kind == QX_SQL_VALUE_NUMBER && strcmp(text, "inf") != 0 &&
              strcmp(text, "-inf") != 0 && strcmp(text, "nan") != 0);
  if (bare)
    qx_buffer_put(b, text, strlen(text));
  else
    qx_json_put_string(b, text);
}
