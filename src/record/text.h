/* Text form of column values, shared by every part that shows or reads records as text
 * (wal-dump, scan, CSV import): decimals with their exact scale ("3850.2500"), timestamps as
 * ISO-8601 UTC with nanoseconds ("2026-11-24T09:30:00.000000001Z"), enums by name, CHAR
 * columns without their NUL padding. Parsing is exact: no binary floating point anywhere. */
#ifndef QX_RECORD_TEXT_H
#define QX_RECORD_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "qaxdb/key.h"
#include "qaxdb/schema.h"

/* Formats the value of col in record into buf (always NUL-terminated); returns its length. */
size_t qx_format_column(const qx_column *col, const void *record, char *buf, size_t cap);
size_t qx_format_decimal(int64_t raw, int scale, char *buf, size_t cap);
size_t qx_format_timestamp(int64_t ns, char *buf, size_t cap);

/* Parses text (len bytes, not NUL-terminated) as a value of col and stores it in record.
 * Decimals: optional sign, digits, optional point and at most col->scale fraction digits,
 * within DECIMAL(18,scale) (at most 18 digits in all).
 * Timestamps: integer nanoseconds, or ISO-8601 "YYYY-MM-DD[THH:MM:SS[.fraction]][Z]" (UTC).
 * Enums: a value name. CHAR: at most col->width bytes. On failure returns QX_ERR_PARSE with
 * the reason in qx_last_error() and leaves record unchanged. */
int qx_parse_column(const qx_column *col, const char *text, size_t len, void *record);

/* Encodes the key of table whose first count key columns have the text values given (all of
 * them: the key; fewer: the prefix of the keys that start with them) into key, *key_len its
 * length. QX_ERR_PARSE naming the column of a value that does not parse. */
int qx_parse_key(const qx_schema *table, const char *const *values, uint32_t count,
                 uint8_t key[QX_KEY_MAX], size_t *key_len);

#endif
