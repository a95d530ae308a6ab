/* Formatting column values as text (see text.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "record/text.h"

size_t qx_format_decimal(int64_t raw, int scale, char *buf, size_t cap) {
  /* Work on the magnitude as unsigned so INT64_MIN formats correctly. */
  uint64_t mag = raw < 0 ? (uint64_t)0 - (uint64_t)raw : (uint64_t)raw;
  uint64_t pow10 = 1;
  for (int i = 0; i < scale; i++)
    pow10 *= 10;
  int n;
  if (scale == 0)
    n = snprintf(buf, cap, "%s%" PRIu64, raw < 0 ? "-" : "", mag);
  else
    n = snprintf(buf, cap, "%s%" PRIu64 ".%0*" PRIu64, raw < 0 ? "-" : "", mag / pow10, scale,
                 mag % pow10);
  return n < 0 ? 0 : ((size_t)n < cap ? (size_t)n : cap - 1);
}

size_t qx_format_timestamp(int64_t ns, char *buf, size_t cap) {
  int64_t secs = ns / 1000000000;
  int64_t frac = ns % 1000000000;
  if (frac < 0) {
    frac += 1000000000;
    secs -= 1;
  }
  time_t t = (time_t)secs;
  struct tm tm;
  gmtime_r(&t, &tm);
  int n = snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%09" PRId64 "Z", tm.tm_year + 1900,
                   tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
  return n < 0 ? 0 : ((size_t)n < cap ? (size_t)n : cap - 1);
}

size_t qx_format_column(const qx_column *col, const void *record, char *buf, size_t cap) {
  const uint8_t *field = (const uint8_t *)record + col->offset;
  uint32_t u32;
  uint64_t u64;
  int64_t i64;
  int n = 0;
  switch (col->type) {
  case QX_COL_U8:
    n = snprintf(buf, cap, "%u", field[0]);
    break;
  case QX_COL_ENUM:
    if (field[0] < col->enum_count)
      n = snprintf(buf, cap, "%s", col->enum_names[field[0]]);
    else
      n = snprintf(buf, cap, "?%u", field[0]);
    break;
  case QX_COL_U32:
    memcpy(&u32, field, 4);
    n = snprintf(buf, cap, "%" PRIu32, u32);
    break;
  case QX_COL_U64:
    memcpy(&u64, field, 8);
    n = snprintf(buf, cap, "%" PRIu64, u64);
    break;
  case QX_COL_I64:
    memcpy(&i64, field, 8);
    n = snprintf(buf, cap, "%" PRId64, i64);
    break;
  case QX_COL_DECIMAL:
    memcpy(&i64, field, 8);
    return qx_format_decimal(i64, col->scale, buf, cap);
  case QX_COL_TIMESTAMP:
    memcpy(&i64, field, 8);
    return qx_format_timestamp(i64, buf, cap);
  case QX_COL_CHAR:
    n = snprintf(buf, cap, "%.*s", (int)strnlen((const char *)field, col->width),
                 (const char *)field);
    break;
  }
  return n < 0 ? 0 : ((size_t)n < cap ? (size_t)n : cap - 1);
}
