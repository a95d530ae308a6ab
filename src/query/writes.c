/* INSERT and COPY statements (writes.h): a small recursive-descent parser over the statement's
 * text, the rows parsed into records as they are read, then one batch to the engine. */
#include "query/writes.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "csv/csv_reader.h"
#include "query/statement.h"
#include "record/fields.h"
#include "util/error.h"

#define MAX_COLUMNS 64

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
static int take_row(qx_statement *p, const qx_field_map *map, rows *r) {
  char values[MAX_COLUMNS][QX_STATEMENT_VALUE_MAX];
  const char *fields[MAX_COLUMNS];
  size_t lengths[MAX_COLUMNS], n = 0;
  if (!qx_statement_take_char(p, '('))
    return qx_statement_fail(p, "expected '(' before a row's values");
  do {
    int is_null;
    if (n == MAX_COLUMNS) return qx_statement_fail(p, "too many values");
    int rc = qx_statement_take_value(p, values[n], &lengths[n], &is_null);
    if (rc != QX_OK) return rc;
    fields[n] = is_null ? NULL : values[n];
    n++;
  } while (qx_statement_take_char(p, ','));
  if (!qx_statement_take_char(p, ')'))
    return qx_statement_fail(p, "expected ',' or ')' in a row's values");
  if (r->count == QX_INSERT_MAX_ROWS)
    return qx_statement_fail(p, "more rows than one statement takes: split it");
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
static int take_columns(qx_statement *p, const qx_schema *table, qx_field_map *map, int *given) {
  *given = qx_statement_take_char(p, '(');
  if (!*given) return qx_field_map_all(map, table);
  char names[MAX_COLUMNS][128];
  const char *fields[MAX_COLUMNS];
  size_t lengths[MAX_COLUMNS], n = 0;
  do {
    if (n == MAX_COLUMNS || !qx_statement_take_identifier(p, names[n], sizeof names[n]))
      return qx_statement_fail(p, "expected a column name");
    fields[n] = names[n];
    lengths[n] = strlen(names[n]);
    n++;
  } while (qx_statement_take_char(p, ','));
  if (!qx_statement_take_char(p, ')'))
    return qx_statement_fail(p, "expected ',' or ')' in the column list");
  if (qx_field_map_init(map, table, fields, lengths, n) != QX_OK) {
    char reason[400];
    snprintf(reason, sizeof reason, "%s", qx_last_error());
    return qx_fail(QX_ERR_PARSE, "%s: %s", p->name, reason);
  }
  return QX_OK;
}

/* The table the statement names. */
static int take_table(qx_statement *p, const qx_schema **table) {
  char name[64];
  if (!qx_statement_take_identifier(p, name, sizeof name))
    return qx_statement_fail(p, "expected a table name");
  *table = qx_schema_by_name(name);
  return *table ? QX_OK : qx_fail(QX_ERR_NOT_FOUND, "%s: no table named %s", p->name, name);
}

/* INSERT INTO table [(columns)] VALUES rows [;] into r. */
static int parse_statement(qx_statement *p, rows *r, qx_field_map *map) {
  int given;
  if (!qx_statement_take_word(p, "insert") || !qx_statement_take_word(p, "into"))
    return qx_statement_fail(p, "expected INSERT INTO");
  int rc = take_table(p, &r->table);
  if (rc == QX_OK) rc = take_columns(p, r->table, map, &given);
  if (rc != QX_OK) return rc;
  if (!qx_statement_take_word(p, "values"))
    return qx_statement_fail(p, "expected VALUES (qaxdbd takes INSERT ... VALUES only)");
  do {
    rc = take_row(p, map, r);
  } while (rc == QX_OK && qx_statement_take_char(p, ','));
  return rc == QX_OK ? qx_statement_take_end(p) : rc;
}

int qx_insert_is_insert(const char *text) {
  qx_statement p;
  qx_statement_start(&p, text, "INSERT");
  return qx_statement_take_word(&p, "insert");
}

static int write_rows(qx_db *db, const rows *r, qx_durability durability, uint64_t *lsn) {
  if (r->count == 0) return QX_OK; /* a COPY of no rows */
  qx_wal_record *batch = calloc(r->count, sizeof *batch);
  if (!batch) return qx_fail(QX_ERR_NOMEM, "out of memory for a batch of %zu rows", r->count);
  for (size_t i = 0; i < r->count; i++)
    batch[i] = (qx_wal_record){(uint16_t)r->table->table_id, r->table->version,
                               r->table->record_size, 0, r->records + i * r->table->record_size};
  int rc = qx_db_write_records(db, batch, r->count, durability, lsn);
  free(batch);
  if (rc == QX_ERR_TOO_LARGE)
    return qx_fail(rc, "%zu rows of %s are more than one batch of the log takes: split them (%s)",
                   r->count, r->table->name, qx_last_error());
  return rc;
}

int qx_insert_run(qx_db *db, const char *text, qx_durability durability, uint64_t *count,
                  uint64_t *lsn) {
  qx_statement p;
  qx_statement_start(&p, text, "INSERT");
  rows r = {0};
  qx_field_map map = {0};
  *count = 0;
  int rc = parse_statement(&p, &r, &map);
  if (rc == QX_OK) rc = write_rows(db, &r, durability, lsn);
  if (rc == QX_OK) *count = r.count;
  qx_field_map_free(&map);
  free(r.records);
  return rc;
}

/* ---- COPY ... FROM STDIN ------------------------------------------------------------------- */

int qx_copy_is_copy(const char *text) {
  qx_statement p;
  qx_statement_start(&p, text, "COPY");
  return qx_statement_take_word(&p, "copy");
}

/* HEADER's optional value (TRUE, ON, 1; FALSE, OFF, 0). */
static int take_header(qx_statement *p, int *header) {
  *header = 1;
  if (qx_statement_take_word(p, "false") || qx_statement_take_word(p, "off") ||
      qx_statement_take_word(p, "0"))
    *header = 0;
  if (!*header) return QX_OK;
  if (qx_statement_take_word(p, "true") || qx_statement_take_word(p, "on") ||
      qx_statement_take_word(p, "1"))
    return QX_OK;
  return qx_statement_take_word(p, "match")
             ? qx_statement_fail(p, "HEADER MATCH is not supported: name the columns")
             : QX_OK;
}

/* ( FORMAT csv [, HEADER [b]] [, DELIMITER ','] ), or the older CSV [HEADER]. */
static int take_copy_options(qx_statement *p, int *csv, int *header) {
  qx_statement_take_word(p, "with");
  if (qx_statement_take_word(p, "csv")) {
    *csv = 1;
    if (qx_statement_take_word(p, "header")) *header = 1;
    return QX_OK;
  }
  if (!qx_statement_take_char(p, '(')) return QX_OK;
  do {
    int rc = QX_OK;
    if (qx_statement_take_word(p, "format")) {
      *csv = qx_statement_take_word(p, "csv");
      if (!*csv) return qx_statement_fail(p, "qaxdbd takes FORMAT csv only");
    } else if (qx_statement_take_word(p, "header")) {
      rc = take_header(p, header);
    } else if (qx_statement_take_word(p, "delimiter")) {
      char d[4];
      size_t len;
      if (!qx_statement_take_string(p, d, sizeof d, &len) || len != 1 || d[0] != ',')
        return qx_statement_fail(p, "qaxdbd takes DELIMITER ',' only");
    } else {
      return qx_statement_fail(p, "expected FORMAT, HEADER or DELIMITER");
    }
    if (rc != QX_OK) return rc;
  } while (qx_statement_take_char(p, ','));
  return qx_statement_take_char(p, ')')
             ? QX_OK
             : qx_statement_fail(p, "expected ',' or ')' in the options");
}

int qx_copy_parse(const char *text, qx_copy_plan *plan) {
  qx_statement p;
  qx_statement_start(&p, text, "COPY");
  *plan = (qx_copy_plan){0};
  int csv = 0;
  if (!qx_statement_take_word(&p, "copy")) return qx_statement_fail(&p, "expected COPY");
  int rc = take_table(&p, &plan->table);
  if (rc == QX_OK) rc = take_columns(&p, plan->table, &plan->map, &plan->columns_given);
  if (rc != QX_OK) return rc;
  if (!qx_statement_take_word(&p, "from") || !qx_statement_take_word(&p, "stdin"))
    return qx_statement_fail(&p, "expected FROM STDIN (qaxdbd reads no files)");
  rc = take_copy_options(&p, &csv, &plan->header);
  if (rc == QX_OK && !csv)
    rc = qx_statement_fail(&p, "qaxdbd takes CSV only: add WITH (FORMAT csv) or CSV");
  return rc == QX_OK ? qx_statement_take_end(&p) : rc;
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
                  qx_durability durability, uint64_t *count, uint64_t *lsn) {
  rows r = {.table = plan->table};
  csv_reader *reader;
  *count = 0;
  int rc = qx_csv_reader_open_memory("COPY data", csv, len, &reader);
  if (rc != QX_OK) return rc;
  rc = read_csv_rows(plan, reader, &r);
  qx_csv_reader_close(reader);
  if (rc == QX_OK) rc = write_rows(db, &r, durability, lsn);
  if (rc == QX_OK) *count = r.count;
  free(r.records);
  return rc;
}
