/* CSV record splitting (see csv_reader.h). A record is read line by line with getline and
 * unquoted into one growing buffer; field boundaries are kept as offsets into it. */
#include "csv/csv_reader.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

struct csv_reader {
  FILE *file;
  char path[4096];
  uint64_t next_line; /* number of the next line getline returns */
  char *line;
  size_t line_cap;
  char *text; /* unquoted fields of the current record, back to back */
  size_t text_len, text_cap;
  size_t *starts, *lengths;
  size_t field_count, starts_cap, lengths_cap;
  const char **fields;
  size_t fields_cap;
};

/* A reader over file (NULL: the open that made it failed, with errno), called name in errors. */
static int reader_on(FILE *file, const char *name, csv_reader **out) {
  int e = errno;
  csv_reader *r = file ? calloc(1, sizeof *r) : NULL;
  if (!r) {
    if (file) fclose(file);
    return file ? qx_fail(QX_ERR_NOMEM, "reading %s", name)
                : qx_fail_errno(QX_ERR_IO, e, "open %s", name);
  }
  r->file = file;
  snprintf(r->path, sizeof r->path, "%s", name);
  r->next_line = 1;
  *out = r;
  return QX_OK;
}

int qx_csv_reader_open(const char *path, csv_reader **out) {
  return reader_on(fopen(path, "r"), path, out);
}

int qx_csv_reader_open_memory(const char *name, const void *data, size_t len, csv_reader **out) {
  /* fmemopen refuses a buffer of 0 bytes: an empty text reads as an empty file all the same. */
  return reader_on(len ? fmemopen((void *)data, len, "r") : fopen("/dev/null", "r"), name, out);
}

void qx_csv_reader_close(csv_reader *r) {
  if (!r) return;
  fclose(r->file);
  free(r->line);
  free(r->text);
  free(r->starts);
  free(r->lengths);
  free(r->fields);
  free(r);
}

static int grow(void **array, size_t *cap, size_t need, size_t item) {
  if (need <= *cap) return 1;
  size_t cap2 = *cap ? *cap * 2 : 64;
  while (cap2 < need)
    cap2 *= 2;
  void *p = realloc(*array, cap2 * item);
  if (!p) return 0;
  *array = p;
  *cap = cap2;
  return 1;
}

static int push_char(csv_reader *r, char c) {
  if (!grow((void **)&r->text, &r->text_cap, r->text_len + 1, 1)) return 0;
  r->text[r->text_len++] = c;
  return 1;
}

static int start_field(csv_reader *r) {
  if (!grow((void **)&r->starts, &r->starts_cap, r->field_count + 1, sizeof(size_t)) ||
      !grow((void **)&r->lengths, &r->lengths_cap, r->field_count + 1, sizeof(size_t)))
    return 0;
  r->starts[r->field_count] = r->text_len;
  r->lengths[r->field_count++] = 0;
  return 1;
}

/* Reads one physical line without its line end; -1 at the end of the file. */
static ssize_t read_line(csv_reader *r) {
  ssize_t n = getline(&r->line, &r->line_cap, r->file);
  if (n < 0) return -1;
  /* A UTF-8 byte order mark (spreadsheets write one) is not part of the first field. */
  if (r->next_line++ == 1 && n >= 3 && memcmp(r->line, "\xEF\xBB\xBF", 3) == 0) {
    memmove(r->line, r->line + 3, (size_t)n - 3);
    n -= 3;
  }
  if (n > 0 && r->line[n - 1] == '\n') n--;
  if (n > 0 && r->line[n - 1] == '\r') n--;
  return n;
}

static int oom(csv_reader *r) {
  return qx_fail(QX_ERR_NOMEM, "%s: record at line %llu is too large", r->path,
                 (unsigned long long)(r->next_line - 1));
}

/* Splits the record starting in r->line (n bytes) into fields, reading more lines while a
 * quoted field continues past a line end. */
static int split_record(csv_reader *r, ssize_t n, uint64_t first_line) {
  r->text_len = 0;
  r->field_count = 0;
  if (!grow((void **)&r->text, &r->text_cap, 1, 1) || !start_field(r)) return oom(r);
  int quoted = 0, after_quote = 0;
  for (ssize_t i = 0;; i++) {
    if (i == n) {
      if (!quoted) break;
      if ((n = read_line(r)) < 0)
        return qx_fail(QX_ERR_PARSE, "%s:%llu: a quoted field is never closed", r->path,
                       (unsigned long long)first_line);
      if (!push_char(r, '\n')) return oom(r);
      i = -1;
      continue;
    }
    char c = r->line[i];
    if (quoted) {
      if (c != '"') {
        if (!push_char(r, c)) return oom(r);
      } else if (i + 1 < n && r->line[i + 1] == '"') {
        if (!push_char(r, '"')) return oom(r);
        i++;
      } else {
        quoted = 0;
        after_quote = 1;
      }
    } else if (c == ',') {
      if (!start_field(r)) return oom(r);
      after_quote = 0;
    } else if (after_quote) {
      return qx_fail(QX_ERR_PARSE, "%s:%llu: field %zu: text after a closing quote", r->path,
                     (unsigned long long)(r->next_line - 1), r->field_count);
    } else if (c == '"' && r->text_len == r->starts[r->field_count - 1]) {
      quoted = 1;
    } else if (!push_char(r, c)) {
      return oom(r);
    }
    r->lengths[r->field_count - 1] = r->text_len - r->starts[r->field_count - 1];
  }
  return QX_OK;
}

int qx_csv_next(csv_reader *r, csv_row *row) {
  ssize_t n;
  do {
    n = read_line(r);
    if (n < 0) {
      if (ferror(r->file)) return qx_fail_errno(QX_ERR_IO, errno, "read %s", r->path);
      return 0;
    }
  } while (n == 0);
  uint64_t line = r->next_line - 1;
  int rc = split_record(r, n, line);
  if (rc != QX_OK) return rc;
  if (!grow((void **)&r->fields, &r->fields_cap, r->field_count, sizeof(char *))) return oom(r);
  for (size_t i = 0; i < r->field_count; i++)
    r->fields[i] = r->text + r->starts[i];
  *row = (csv_row){r->field_count, r->fields, r->lengths, line};
  return 1;
}
