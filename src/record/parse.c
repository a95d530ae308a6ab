/* Parsing column values from text (see text.h): exact decimal and integer parsing with range
 * checks, ISO-8601 UTC or integer-nanosecond timestamps, enums by name, fixed-width strings.
 * No binary floating point: "3850.25" becomes exactly 38502500 at scale 4. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "record/text.h"
#include "util/error.h"

#define DECIMAL18_MAX 999999999999999999ull /* the largest raw value of an 18-digit decimal */

typedef struct span {
  const char *p;
  size_t n;
} span;

static int bad(const qx_column *col, span s, const char *why) {
  return qx_fail(QX_ERR_PARSE, "column %s: '%.*s' %s", col->name, (int)(s.n > 64 ? 64 : s.n), s.p,
                 why);
}

/* Digits of s as an unsigned magnitude; 0 if empty, not all digits, or above limit. */
static int parse_digits(span s, uint64_t limit, uint64_t *out) {
  if (s.n == 0) return 0;
  uint64_t v = 0;
  for (size_t i = 0; i < s.n; i++) {
    if (s.p[i] < '0' || s.p[i] > '9') return 0;
    unsigned d = (unsigned)(s.p[i] - '0');
    if (v > (limit - d) / 10) return 0;
    v = v * 10 + d;
  }
  *out = v;
  return 1;
}

/* Optional sign, then a magnitude up to INT64_MAX (INT64_MIN's magnitude when negative). */
static int parse_signed(span s, int *negative, span *rest) {
  *negative = s.n > 0 && s.p[0] == '-';
  int skip = s.n > 0 && (s.p[0] == '-' || s.p[0] == '+');
  *rest = (span){s.p + skip, s.n - (size_t)skip};
  return rest->n > 0;
}

static int parse_i64(const qx_column *col, span s, int64_t *out) {
  int negative;
  span digits;
  uint64_t mag;
  if (!parse_signed(s, &negative, &digits)) return bad(col, s, "is not an integer");
  if (!parse_digits(digits, negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, &mag))
    return bad(col, s, "is not an integer in the 64-bit signed range");
  *out = negative ? (int64_t)(0 - mag) : (int64_t)mag;
  return QX_OK;
}

static int parse_unsigned(const qx_column *col, span s, uint64_t limit, uint64_t *out) {
  if (!parse_digits(s, limit, out)) return bad(col, s, "is not an unsigned integer in range");
  return QX_OK;
}

static int parse_decimal(const qx_column *col, span s, int64_t *out) {
  int negative;
  span body;
  if (!parse_signed(s, &negative, &body)) return bad(col, s, "is not a decimal number");
  const char *point = memchr(body.p, '.', body.n);
  span whole = {body.p, point ? (size_t)(point - body.p) : body.n};
  span frac = point ? (span){point + 1, body.n - whole.n - 1} : (span){"", 0};
  if (frac.n > col->scale) {
    return qx_fail(QX_ERR_PARSE,
                   "column %s: '%.*s' has %zu digits after the point, the column keeps %u",
                   col->name, (int)s.n, s.p, frac.n, col->scale);
  }
  uint64_t w = 0, f = 0, pow10 = 1;
  for (unsigned i = 0; i < col->scale; i++)
    pow10 *= 10;
  if ((whole.n == 0 && frac.n == 0) || (whole.n && !parse_digits(whole, UINT64_MAX, &w)) ||
      (frac.n && !parse_digits(frac, UINT64_MAX, &f)))
    return bad(col, s, "is not a decimal number");
  for (size_t i = frac.n; i < col->scale; i++)
    f *= 10;
  /* SQL reads the column as DECIMAL(18,scale): 18 digits in all, not the whole int64 range. */
  if (w > (DECIMAL18_MAX - f) / pow10) {
    return qx_fail(QX_ERR_PARSE, "column %s: '%.*s' is out of range for DECIMAL(18,%u)", col->name,
                   (int)(s.n > 64 ? 64 : s.n), s.p, col->scale);
  }
  uint64_t mag = w * pow10 + f;
  *out = negative ? (int64_t)(0 - mag) : (int64_t)mag;
  return QX_OK;
}

static int is_leap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/* A fixed-width field of n digits at s.p[at]; -1 if not all digits or out of text. */
static int64_t field(span s, size_t at, size_t n) {
  uint64_t v;
  if (at + n > s.n || !parse_digits((span){s.p + at, n}, UINT64_MAX, &v)) return -1;
  return (int64_t)v;
}

static int parse_iso8601(const qx_column *col, span s, int64_t *out) {
  int64_t y = field(s, 0, 4), mo = field(s, 5, 2), d = field(s, 8, 2);
  if (y < 0 || mo < 0 || d < 0 || s.p[4] != '-' || s.p[7] != '-')
    return bad(col, s, "is not a timestamp (integer ns or YYYY-MM-DD[THH:MM:SS[.fff]][Z])");
  if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, (int)mo))
    return bad(col, s, "is not a valid calendar date");
  int64_t h = 0, mi = 0, sec = 0, frac_ns = 0;
  size_t at = 10;
  if (at < s.n && (s.p[at] == 'T' || s.p[at] == ' ')) {
    h = field(s, 11, 2), mi = field(s, 14, 2), sec = field(s, 17, 2);
    if (h < 0 || mi < 0 || sec < 0 || s.p[13] != ':' || s.p[16] != ':')
      return bad(col, s, "has a malformed time of day (HH:MM:SS)");
    if (h > 23 || mi > 59 || sec > 59) return bad(col, s, "has a time of day out of range");
    at = 19;
    if (at < s.n && s.p[at] == '.') {
      size_t digits = 0;
      for (at++; at < s.n && s.p[at] >= '0' && s.p[at] <= '9'; at++, digits++) {
        if (digits == 9) return bad(col, s, "has more than 9 fraction digits (nanoseconds)");
        frac_ns = frac_ns * 10 + (s.p[at] - '0');
      }
      if (digits == 0) return bad(col, s, "has no digits after the decimal point");
      for (; digits < 9; digits++)
        frac_ns *= 10;
    }
  }
  if (at < s.n && s.p[at] == 'Z') at++;
  if (at != s.n) return bad(col, s, "has unexpected text after the timestamp (only UTC 'Z')");
  /* int64 nanoseconds reach from 1677-09-21T00:12:43.145224192 to 2262-04-11T23:47:16.854775807.
   * The seconds of a 4-digit year fit easily; a negative time is built from the next second
   * down, so that the earliest instant does not overflow on the way. */
  int64_t secs = days_from_civil(y, (int)mo, (int)d) * 86400 + h * 3600 + mi * 60 + sec, ns;
  if (secs < 0 && frac_ns > 0) {
    secs += 1;
    frac_ns -= 1000000000;
  }
  if (__builtin_mul_overflow(secs, 1000000000, &ns) || __builtin_add_overflow(ns, frac_ns, &ns))
    return bad(col, s, "is outside 1677..2262");
  *out = ns;
  return QX_OK;
}

static int parse_timestamp(const qx_column *col, span s, int64_t *out) {
  int is_integer = s.n > 0;
  for (size_t i = 0; i < s.n; i++)
    if (!((s.p[i] >= '0' && s.p[i] <= '9') || (i == 0 && s.p[i] == '-'))) is_integer = 0;
  return is_integer ? parse_i64(col, s, out) : parse_iso8601(col, s, out);
}

static int parse_enum(const qx_column *col, span s, uint8_t *out) {
  for (int i = 0; i < col->enum_count; i++) {
    const char *name = col->enum_names[i];
    if (strlen(name) == s.n && memcmp(name, s.p, s.n) == 0) {
      *out = (uint8_t)i;
      return QX_OK;
    }
  }
  char names[256] = "";
  for (int i = 0; i < col->enum_count; i++) {
    size_t used = strlen(names);
    snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "", col->enum_names[i]);
  }
  return qx_fail(QX_ERR_PARSE, "column %s: '%.*s' is not one of: %s", col->name,
                 (int)(s.n > 64 ? 64 : s.n), s.p, names);
}

int qx_parse_column(const qx_column *col, const char *text, size_t len, void *record) {
  span s = {text, len};
  uint8_t *field_at = (uint8_t *)record + col->offset;
  int64_t i64 = 0;
  uint64_t u64 = 0;
  uint8_t u8 = 0;
  int rc;
  switch (col->type) {
  case QX_COL_U8:
    if ((rc = parse_unsigned(col, s, UINT8_MAX, &u64)) == QX_OK) *field_at = (uint8_t)u64;
    return rc;
  case QX_COL_U32:
    if ((rc = parse_unsigned(col, s, UINT32_MAX, &u64)) != QX_OK) return rc;
    uint32_t u32 = (uint32_t)u64;
    memcpy(field_at, &u32, 4);
    return QX_OK;
  case QX_COL_U64:
    if ((rc = parse_unsigned(col, s, UINT64_MAX, &u64)) == QX_OK) memcpy(field_at, &u64, 8);
    return rc;
  case QX_COL_I64:
    rc = parse_i64(col, s, &i64);
    break;
  case QX_COL_DECIMAL:
    rc = parse_decimal(col, s, &i64);
    break;
  case QX_COL_TIMESTAMP:
    rc = parse_timestamp(col, s, &i64);
    break;
  case QX_COL_ENUM:
    if ((rc = parse_enum(col, s, &u8)) == QX_OK) *field_at = u8;
    return rc;
  case QX_COL_CHAR:
    if (len > col->width) {
      return qx_fail(QX_ERR_PARSE, "column %s: '%.*s' is %zu bytes, the column holds %u", col->name,
                     (int)(len > 64 ? 64 : len), text, len, col->width);
    }
    if (memchr(text, '\0', len)) return bad(col, s, "contains a NUL byte");
    memset(field_at, 0, col->width);
    memcpy(field_at, text, len);
    return QX_OK;
  default:
    return qx_fail(QX_ERR_INVALID_ARG, "column %s has an unknown type", col->name);
  }
  if (rc == QX_OK) memcpy(field_at, &i64, 8);
  return rc;
}
