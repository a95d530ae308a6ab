/* Reading CSV text (RFC 4180): comma-separated fields, double-quoted fields that may hold
 * commas, doubled quotes and line breaks, LF or CRLF line ends. Records are numbered by the
 * line they start on, so errors can name the line a user sees in an editor. */
#ifndef QX_CSV_READER_H
#define QX_CSV_READER_H

#include <stddef.h>
#include <stdint.h>

typedef struct csv_reader csv_reader;

typedef struct csv_row {
  size_t count;        /* number of fields */
  const char **fields; /* field i: fields[i], lengths[i] bytes, unquoted; valid until next */
  const size_t *lengths;
  uint64_t line; /* line number (from 1) where the record starts */
} csv_row;

int qx_csv_reader_open(const char *path, csv_reader **out);
/* The same over len bytes of data in memory (which must outlive the reader); name is what
 * errors call it. */
int qx_csv_reader_open_memory(const char *name, const void *data, size_t len, csv_reader **out);
void qx_csv_reader_close(csv_reader *reader);

/* Reads the next record into row: returns 1, 0 at the end of the file, or QX_ERR_PARSE (an
 * unterminated quote, text after a closing quote) / QX_ERR_IO with the line in qx_last_error().
 * Lines that are entirely empty are skipped. */
int qx_csv_next(csv_reader *reader, csv_row *row);

#endif
