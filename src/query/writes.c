/* INSERT statements (insert.h): a small recursive-descent parser over the statement's text,
 * the rows parsed into records as they are read, then one batch to the engine. */
#include "query/writes.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "csv/csv_reader.h"
#include "record/fields.h"
#include "util/error.h"

#define MAX_COLUMNS 64
#define MAX_VALUE 256 /* bytes of one value's text; the widest column is far narrower */

typedef struct parser {
  const char *text, *at;
  const char *statement; /* "INSERT" or "COPY", for errors */
} parser;

static void skip_space(parser *p) {
  while (isspace((unsigned char)*p->at))
    p->at++;
}

static int fail(const parser *p, const char *what) {
  return qx_fail(QX_ERR_PARSE, "%s: %s at character %ld", p->statement, what,
                 (long)(p->at - p->text) + 1);
}

/* Takes the keyword word (any case) if it comes next. */
static int take_word(parser *p, const char *word) {
  skip_space(p);
  size_t n = strlen(word);
  if (strncasecmp(p->at, word, n) != 0 || isalnum((unsigned char)p->at[n]) || p->at[n] == '_')
    return 0;
  p->at += n;
  return 1;
}

static int take_char(parser *p, char c) {
  skip_space(p);
  if (*p->at != c) return 0;
  p->at++;
  return 1;
}

/* An identifier, bare or "quoted", into out (lower case when bare, as SQL folds it). */
static int take_identifier(parser *p, char *out, size_t cap) {
  skip_space(p);
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

/* A 'string' ('' is a quote) into out; len is its length. */
static int take_string(parser *p, char *out, size_t *len) {
  if (*p->at != '\'') return 0;
  size_t n = 0;
  for (const char *c = p->at + 1; *c; c++) {
    if (*c == '\'' && c[1] != '\'') {
      p->at = c + 1;
      *len = n;
      return 1;
    }
    if (n + 1 >= MAX_VALUE) return 0;
    out[n++] = *c;
    if (*c == '\'') c++;
  }
  return 0;
}

/* One value into out (*len bytes); *is_null for NULL. */
static int take_value(parser *p, char *out, size_t *len, int *is_null) {
  skip_space(p);
  *is_null = 0;
  if (take_word(p, "null")) {
    *is_null = 1;
    *len = 0;
    return QX_OK;
  }
  if (take_word(p, "true") || take_word(p, "false"))
    return fail(p, "TRUE and FALSE fit no column of qaxdb's tables");
  if (isalpha((unsigned char)*p->at)) { /* a type name before a string: TIMESTAMP '...' */
    char type[64];
    if (!take_identifier(p, type, sizeof type)) return fail(p, "expected a value");
    skip_space(p);
    if (*p->at != '\'') return fail(p, "expected a value (strings are in single quotes)");
  }
  if (*p->at == '\'') return take_string(p, out, len) ? QX_OK : fail(p, "unterminated string");
  const char *start = p->at;
  if (*p->at == '-' || *p->at == '+') p->at++;
  while (isalnum((unsigned char)*p->at) || *p->at == '.')
    p->at++;
  size_t n = (size_t)(p->at - start);
  if (n == 0 || n >= MAX_VALUE) return fail(p, "expected a value");
  memcpy(out, start, n);
  *len = n;
  return QX_OK;
}

/* The statement's rows, parsed into records as they are read. */
typedef struct rows {
  const qx_schema *table;
  uint8_t *records;
  size_t count, cap;
} rows;

static uint8_t *next_record(rows *r) {
  if (r->count == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 16;
    uint8_t *grown = realloc(r->records, cap * r->table->record_size);
    if (!grown) return NULL;
    r->records = grown;
    r->cap = cap;
  }
  return r->records + r->count++ * r->table->record_size;
}

/* ( value, ... ) into a record of the table, through the field map. */
static int take_row(parser *p, const qx_field_map *map, rows *r) {
  char values[MAX_COLUMNS][MAX_VALUE];
  const char *fields[MAX_COLUMNS];
  size_t lengths[MAX_COLUMNS], n = 0;
  if (!take_char(p, '(')) return fail(p, "expected '(' before a row's values");
  do {
    int is_null;
    if (n == MAX_COLUMNS) return fail(p, "too many values");
    int rc = take_value(p, values[n], &lengths[n], &is_null);
    if (rc != QX_OK) return rc;
    fields[n] = is_null ? NULL : values[n];
    n++;
  } while (take_char(p, ','));
  if (!take_char(p, ')')) return fail(p, "expected ',' or ')' in a row's values");
  if (r->count == QX_INSERT_MAX_ROWS)
    return fail(p, "more rows than one statement takes: split it");
  uint8_t *record = next_record(r);
  if (!record) return qx_fail(QX_ERR_NOMEM, "INSERT: out of memory for row %zu", r->count + 1);
  if (qx_field_map_parse(map, fields, lengths, n, record) != QX_OK) {
    char reason[400];
    snprintf(reason, sizeof reason, "%s", qx_last_error());
    return qx_fail(QX_ERR_PARSE, "INSERT into %s, row %zu: %s", r->table->name, r->count, reason);
  }
  return QX_OK;
}

/* [( column, ... )] into the field map: the named columns (*given), or all of them. */
static int take_columns(parser *p, const qx_schema *table, qx_field_map *map, int *given) {
  *given = take_char(p, '(');
  if (!*given) return qx_field_map_all(map, table);
  char names[MAX_COLUMNS][128];
  const char *fields[MAX_COLUMNS];
  size_t lengths[MAX_COLUMNS], n = 0;
  do {
    if (n == MAX_COLUMNS || !take_identifier(p, names[n], sizeof names[n]))
      return fail(p, "expected a column name");
    fields[n] = names[n];
    lengths[n] = strlen(names[n]);
    n++;
  } while (take_char(p, ','));
  if (!take_char(p, ')')) return fail(p, "expected ',' or ')' in the column list");
  if (qx_field_map_init(map, table, fields, lengths, n) != QX_OK) {
    char reason[400];
    snprintf(reason, sizeof reason, "%s", qx_last_error());
    return qx_fail(QX_ERR_PARSE, "%s: %s", p->statement, reason);
  }
  return QX_OK;
}

/* The table the statement names. */
static int take_table(parser *p, const qx_schema **table) {
  char name[64];
  if (!take_identifier(p, name, sizeof name)) return fail(p, "expected a table name");
  *table = qx_schema_by_name(name);
  return *table ? QX_OK : qx_fail(QX_ERR_NOT_FOUND, "%s: no table named %s", p->statement, name);
}

/* The statement's end: an optional ';' and nothing after it. */
static int take_end(parser *p) {
  take_char(p, ';');
  skip_space(p);
  return *p->at ? fail(p, "unexpected text at the end") : QX_OK;
}

/* INSERT INTO table [(columns)] VALUES rows [;] into r. */
static int parse_statement(parser *p, rows *r, qx_field_map *map) {
  int given;
  if (!take_word(p, "insert") || !take_word(p, "into")) return fail(p, "expected INSERT INTO");
  int rc = take_table(p, &r->table);
  if (rc == QX_OK) rc = take_columns(p, r->table, map, &given);
  if (rc != QX_OK) return rc;
  if (!take_word(p, "values"))
    return fail(p, "expected VALUES (qaxdbd takes INSERT ... VALUES only)");
  do {
    rc = take_row(p, map, r);
  } while (rc == QX_OK && take_char(p, ','));
  return rc == QX_OK ? take_end(p) : rc;
}

int qx_insert_is_insert(const char *text) {
  parser p = {text, text, "INSERT"};
  return take_word(&p, "insert");
}

static int write_rows(qx_db *db, const rows *r, qx_durability durability) {
  if (r->count == 0) return QX_OK; /* a COPY of no rows */
  qx_wal_record *batch = calloc(r->count, sizeof *batch);
  if (!batch) return qx_fail(QX_ERR_NOMEM, "out of memory for a batch of %zu rows", r->count);
  for (size_t i = 0; i < r->count; i++)
    batch[i] = (qx_wal_record){(uint16_t)r->table->table_id, r->table->version,
                               r->table->record_size, 0, r->records + i * r->table->record_size};
  int rc = qx_db_write_records(db, batch, r->count, durability, NULL);
  free(batch);
  if (rc == QX_ERR_TOO_LARGE)
    return qx_fail(rc, "%zu rows of %s are more than one batch of the log takes: split them (%s)",
                   r->count, r->table->name, qx_last_error());
  return rc;
}

int qx_insert_run(qx_db *db, const char *text, qx_durability durability, uint64_t *count) {
  parser p = {text, text, "INSERT"};
  rows r = {0};
  qx_field_map map = {0};
  *count = 0;
  int rc = parse_statement(&p, &r, &map);
  if (rc == QX_OK) rc = write_rows(db, &r, durability);
  if (rc == QX_OK) *count = r.count;
  qx_field_map_free(&map);
  free(r.records);
  return rc;
}

/* ---- COPY ... FROM STDIN ------------------------------------------------------------------- */

int qx_copy_is_copy(const char *text) {
  parser p = {text, text, "COPY"};
  return take_word(&p, "copy");
}

/* HEADER's optional value (TRUE, ON, 1; FALSE, OFF, 0). */
static int take_header(parser *p, int *header) {
  *header = 1;
  if (take_word(p, "false") || take_word(p, "off") || take_word(p, "0")) *header = 0;
  if (!*header) return QX_OK;
  if (take_word(p, "true") || take_word(p, "on") || take_word(p, "1")) return QX_OK;
  return take_word(p, "match") ? fail(p, "HEADER MATCH is not supported: name the columns") : QX_OK;
}

/* ( FORMAT csv [, HEADER [b]] [, DELIMITER ','] ), or the older CSV [HEADER]. */
static int take_copy_options(parser *p, int *csv, int *header) {
  take_word(p, "with");
  if (take_word(p, "csv")) {
    *csv = 1;
    if (take_word(p, "header")) *header = 1;
    return QX_OK;
  }
  if (!take_char(p, '(')) return QX_OK;
  do {
    int rc = QX_OK;
    if (take_word(p, "format")) {
      *csv = take_word(p, "csv");
      if (!*csv) return fail(p, "qaxdbd takes FORMAT csv only");
    } else if (take_word(p, "header")) {
      rc = take_header(p, header);
    } else if (take_word(p, "delimiter")) {
      char d[4];
      size_t len;
      skip_space(p);
      if (!take_string(p, d, &len) || len != 1 || d[0] != ',')
        return fail(p, "qaxdbd takes DELIMITER ',' only");
    } else {
      return fail(p, "expected FORMAT, HEADER or DELIMITER");
    }
    if (rc != QX_OK) return rc;
  } while (take_char(p, ','));
  return take_char(p, ')') ? QX_OK : fail(p, "expected ',' or ')' in the options");
}

int qx_copy_parse(const char *text, qx_copy_plan *plan) {
  parser p = {text, text, "COPY"};
  *plan = (qx_copy_plan){0};
  int csv = 0;
  if (!take_word(&p, "copy")) return fail(&p, "expected COPY");
  int rc = take_table(&p, &plan->table);
  if (rc == QX_OK) rc = take_columns(&p, plan->table, &plan->map, &plan->columns_given);
  if (rc != QX_OK) return rc;
  if (!take_word(&p, "from") || !take_word(&p, "stdin"))
    return fail(&p, "expected FROM STDIN (qaxdbd reads no files)");
  rc = take_copy_options(&p, &csv, &plan->header);
  if (rc == QX_OK && !csv) rc = fail(&p, "qaxdbd takes CSV only: add WITH (FORMAT csv) or CSV");
  return rc == QX_OK ? take_end(&p) : rc;
}

void qx_copy_plan_free(qx_copy_plan *plan) {
  qx_field_map_free(&plan->map);
}

/* The header line: the columns, unless the statement named them (then it is skipped). */
static int take_csv_header(qx_copy_plan *plan, csv_reader *reader) {
  csv_row row;
  int got = qx_csv_next(reader, &row);
  if (got <= 0) return got;
  if (plan->columns_given) return QX_OK;
  qx_field_map_free(&plan->map);
  if (qx_field_map_init(&plan->map, plan->table, row.fields, row.lengths, row.count) == QX_OK)
    return QX_OK;
  char reason[400];
  snprintf(reason, sizeof reason, "%s", qx_last_error());
  return qx_fail(QX_ERR_PARSE, "COPY into %s, header: %s", plan->table->name, reason);
}

static int read_csv_rows(qx_copy_plan *plan, csv_reader *reader, rows *r) {
  int rc = plan->header ? take_csv_header(plan, reader) : QX_OK;
  csv_row row;
  while (rc == QX_OK && (rc = qx_csv_next(reader, &row)) == 1) {
    rc = QX_OK;
    uint8_t *record = next_record(r);
    if (!record)
      return qx_fail(QX_ERR_NOMEM, "COPY: out of memory at line %llu",
                     (unsigned long long)row.line);
    if (qx_field_map_parse(&plan->map, row.fields, row.lengths, row.count, record) != QX_OK) {
      char reason[400];
      snprintf(reason, sizeof reason, "%s", qx_last_error());
      return qx_fail(QX_ERR_PARSE, "COPY into %s, line %llu: %s", plan->table->name,
                     (unsigned long long)row.line, reason);
    }
  }
  return rc < 0 ? rc : QX_OK;
}

int qx_copy_apply(qx_db *db, qx_copy_plan *plan, const void *csv, size_t len,
                  qx_durability durability, uint64_t *count) {
  rows r = {.table = plan->table};
  csv_reader *reader;
  *count = 0;
  int rc = qx_csv_reader_open_memory("COPY data", csv, len, &reader);
  if (rc != QX_OK) return rc;
  rc = read_csv_rows(plan, reader, &r);
  qx_csv_reader_close(reader);
  if (rc == QX_OK) rc = write_rows(db, &r, durability);
  if (rc == QX_OK) *count = r.count;
  free(r.records);
  return rc;
}
