/* Point lookups answered from the engine: `SELECT * FROM <table>_by_key(<key values>)`, the
 * documented way to read one record by its key, is what order entry and risk checks send most.
 * Through DuckDB it costs about 0.4 ms and waits for the one SQL engine; the engine's own get
 * takes microseconds and runs beside other statements. The row is the one the SQL engine gives
 * (query/record_cells.h: same columns, types and text). Tables with a timestamp in their key,
 * and any text that is not exactly this shape, go to the SQL engine. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "qaxdb/key.h"
#include "query/lookup.h"
#include "query/record_cells.h"
#include "query/result.h"
#include "record/text.h"
#include "server/pg_session.h"
#include "util/error.h"

#define KEY_TEXT_MAX 128 /* the longest key value taken here */
#define COLUMNS_MAX 64   /* the most columns of SELECT * FROM a table */

static const char *skip_space(const char *p) {
  while (isspace((unsigned char)*p))
    p++;
  return p;
}

/* p past the word, if it is at p (any case, followed by a non-name character), else NULL. */
static const char *word(const char *p, const char *w) {
  size_t n = strlen(w);
  p = skip_space(p);
  if (strncasecmp(p, w, n) != 0 || isalnum((unsigned char)p[n]) || p[n] == '_') return NULL;
  return p + n;
}

/* One argument: a number, a 'string' (quotes doubled inside), or NULL (*is_null); p past it,
 * or NULL if it is none of these or too long. */
static const char *argument(const char *p, char out[KEY_TEXT_MAX], int *is_null) {
  size_t n = 0;
  p = skip_space(p);
  const char *after_null = word(p, "null");
  *is_null = after_null != NULL;
  if (after_null) return after_null;
  if (*p == '\'') {
    for (p++; *p && n + 1 < KEY_TEXT_MAX; p++) {
      if (*p == '\'' && p[1] != '\'') break;
      if (*p == '\'') p++;
      out[n++] = *p;
    }
    out[n] = '\0';
    return *p == '\'' ? p + 1 : NULL;
  }
  while (*p && strchr("+-.0123456789eE", *p) && n + 1 < KEY_TEXT_MAX)
    out[n++] = *p++;
  out[n] = '\0';
  return n ? p : NULL;
}

typedef struct point {
  const qx_schema *table;
  uint8_t key[QX_KEY_MAX];
  size_t key_len;
  int null_key; /* a key value is NULL: no record has it */
} point;

/* The table of "<table>_by_key" at p and p past the name, or NULL. */
static const qx_schema *lookup_table(const char **p) {
  const char *name = skip_space(*p), *end = name;
  while (isalnum((unsigned char)*end) || *end == '_')
    end++;
  size_t n = (size_t)(end - name);
  char table[64];
  if (n <= 7 || n - 7 >= sizeof table || strncasecmp(end - 7, "_by_key", 7) != 0) return NULL;
  memcpy(table, name, n - 7);
  table[n - 7] = '\0';
  *p = end;
  return qx_schema_by_name(table);
}

/* Parses the key values of the call at p (just past its "(") into pt; 0 if they are not a
 * whole key of text this path takes. */
static int parse_key(const char *p, point *pt) {
  const qx_schema *t = pt->table;
  char text[QX_LOOKUP_KEY_PARTS][KEY_TEXT_MAX];
  const char *values[QX_LOOKUP_KEY_PARTS];
  if (t->key_column_count > QX_LOOKUP_KEY_PARTS) return 0;
  for (uint32_t k = 0; k < t->key_column_count; k++) {
    int is_null;
    if (k && *(p = skip_space(p)) != ',') return 0;
    if (t->columns[t->key_columns[k]].type == QX_COL_TIMESTAMP ||
        !(p = argument(p + (k ? 1 : 0), text[k], &is_null)))
      return 0;
    pt->null_key |= is_null;
    values[k] = text[k];
  }
  p = skip_space(p);
  if (*p != ')') return 0;
  p = skip_space(p + 1);
  while (*p == ';' || isspace((unsigned char)*p))
    p++;
  /* a NULL key finds nothing: it needs no encoding */
  return !*p && (pt->null_key ||
                 qx_parse_key(t, values, t->key_column_count, pt->key, &pt->key_len) == QX_OK);
}

/* Whether text is `SELECT * FROM <table>_by_key(<values>)`, filling pt. */
static int is_point_lookup(const char *text, point *pt) {
  const char *p = word(text, "select");
  if (p && *(p = skip_space(p)) == '*')
    p = word(p + 1, "from");
  else
    p = NULL;
  if (!p || !(pt->table = lookup_table(&p)) || *(p = skip_space(p)) != '(') return 0;
  if (qx_record_sql_column_count(pt->table) > COLUMNS_MAX) return 0;
  return parse_key(p + 1, pt);
}

/* The cells of the record pt names into text and cells; *rows 1, or 0 if there is none. */
static int read_row(qx_db *db, const point *pt, char (*text)[QX_RECORD_CELL_MAX],
                    const char **cells, uint64_t *rows) {
  qx_db_value v = {0};
  int rc = pt->null_key ? QX_ERR_NOT_FOUND : qx_db_get(db, NULL, pt->key, pt->key_len, &v);
  *rows = 0;
  if (rc == QX_ERR_NOT_FOUND) return QX_OK;
  if (rc != QX_OK) return rc;
  *rows = qx_record_sql_cells(pt->table, v.data, v.size, v.lsn, text, cells);
  qx_db_value_release(&v);
  return QX_OK;
}

/* The record's row (or none) as a result. */
static int point_result(qx_db *db, const point *pt, qx_sql_result **out) {
  const char *names[COLUMNS_MAX], *cells[COLUMNS_MAX];
  qx_sql_value_kind kinds[COLUMNS_MAX];
  qx_sql_column_type types[COLUMNS_MAX];
  char text[COLUMNS_MAX][QX_RECORD_CELL_MAX];
  uint64_t lsn = qx_db_last_lsn(db), rows;
  qx_record_sql_columns(pt->table, names, kinds, types);
  int rc = read_row(db, pt, text, cells, &rows);
  qx_result_table *table;
  if (rc == QX_OK)
    rc = qx_result_table_from_text(qx_record_sql_column_count(pt->table), rows, names, kinds, types,
                                   cells, &table);
  if (rc != QX_OK) return rc;
  *out = qx_sql_result_of_table(table, lsn);
  return *out ? QX_OK : QX_ERR_NOMEM;
}

int qx_pg_point_lookup(qx_db *db, const char *text, qx_sql_result **out, int *rc) {
  point pt = {0};
  if (!is_point_lookup(text, &pt)) return 0;
  *out = NULL;
  *rc = point_result(db, &pt, out);
  return 1;
}
