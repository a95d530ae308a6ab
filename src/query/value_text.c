/* Text of DuckDB values of every type (see value_text.h). A plan is built once per column from
 * its logical type, then every value is formatted from the storage of the result's vectors:
 * exact integers and decimals at any width, timestamps at their stored precision, and nested
 * values written as JSON around the same scalar texts. DuckDB's own VARCHAR cast is not used:
 * the C API cannot reach it for values inside a chunk's nested vectors. */
#include "query/value_text.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/grow.h"

#define SCALAR_TEXT_MAX 128 /* room for the longest scalar text formed in place (an INTERVAL) */

/* How to print the values of one logical type. */
struct qx_value_plan {
  duckdb_type id;
  duckdb_type storage; /* DECIMAL and ENUM: the integer type that holds the value */
  uint8_t scale;       /* DECIMAL */
  uint8_t is_json;     /* VARCHAR with the alias JSON: its text is JSON already */
  idx_t array_size;    /* ARRAY */
  uint32_t count;      /* entries of names, and of children if there are children */
  char **names;        /* ENUM: the dictionary; STRUCT: field names; UNION: member names */
  /* LIST, ARRAY: the element; MAP: key and value; STRUCT: the fields; UNION: the members */
  struct qx_value_plan *children;
};

typedef struct qx_value_plan value_plan;

static int out_of_memory(void) {
  return qx_fail(QX_ERR_NOMEM, "out of memory for a query result");
}

/* ---- plans ---- */

static void plan_free(value_plan *p) {
  for (uint32_t i = 0; i < p->count; i++) {
    if (p->names) duckdb_free(p->names[i]);
    if (p->children) plan_free(&p->children[i]);
  }
  free(p->names);
  free(p->children);
}

static int plan_alloc(value_plan *p, uint32_t count, int with_children) {
  p->count = count;
  p->names = calloc(count + 1, sizeof *p->names);
  if (with_children) p->children = calloc(count + 1, sizeof *p->children);
  return p->names && (!with_children || p->children) ? QX_OK : out_of_memory();
}

static int plan_build(duckdb_logical_type t, value_plan *p);

/* Plans child i from its type (which it destroys) under name (DuckDB-allocated, may be NULL). */
static int plan_child(value_plan *p, uint32_t i, duckdb_logical_type type, char *name) {
  p->names[i] = name;
  int rc = plan_build(type, &p->children[i]);
  duckdb_destroy_logical_type(&type);
  return rc;
}

static int plan_enum(duckdb_logical_type t, value_plan *p) {
  p->storage = duckdb_enum_internal_type(t);
  int rc = plan_alloc(p, duckdb_enum_dictionary_size(t), 0);
  for (uint32_t i = 0; i < p->count && rc == QX_OK; i++)
    if (!(p->names[i] = duckdb_enum_dictionary_value(t, i))) rc = out_of_memory();
  return rc;
}

static int plan_fields(duckdb_logical_type t, value_plan *p) {
  int is_union = p->id == DUCKDB_TYPE_UNION;
  idx_t n = is_union ? duckdb_union_type_member_count(t) : duckdb_struct_type_child_count(t);
  int rc = plan_alloc(p, (uint32_t)n, 1);
  for (uint32_t i = 0; i < n && rc == QX_OK; i++)
    rc = is_union ? plan_child(p, i, duckdb_union_type_member_type(t, i),
                               duckdb_union_type_member_name(t, i))
                  : plan_child(p, i, duckdb_struct_type_child_type(t, i),
                               duckdb_struct_type_child_name(t, i));
  return rc;
}

static int plan_build(duckdb_logical_type t, value_plan *p) {
  *p = (value_plan){.id = duckdb_get_type_id(t)};
  switch (p->id) {
  case DUCKDB_TYPE_DECIMAL:
    p->storage = duckdb_decimal_internal_type(t);
    p->scale = duckdb_decimal_scale(t);
    return QX_OK;
  case DUCKDB_TYPE_VARCHAR: {
    char *alias = duckdb_logical_type_get_alias(t);
    p->is_json = alias && strcmp(alias, "JSON") == 0;
    duckdb_free(alias);
    return QX_OK;
  }
  case DUCKDB_TYPE_ENUM:
    return plan_enum(t, p);
  case DUCKDB_TYPE_LIST:
    return plan_alloc(p, 1, 1) == QX_OK ? plan_child(p, 0, duckdb_list_type_child_type(t), NULL)
                                        : QX_ERR_NOMEM;
  case DUCKDB_TYPE_ARRAY:
    p->array_size = duckdb_array_type_array_size(t);
    return plan_alloc(p, 1, 1) == QX_OK ? plan_child(p, 0, duckdb_array_type_child_type(t), NULL)
                                        : QX_ERR_NOMEM;
  case DUCKDB_TYPE_MAP: {
    int rc = plan_alloc(p, 2, 1);
    if (rc == QX_OK) rc = plan_child(p, 0, duckdb_map_type_key_type(t), NULL);
    return rc == QX_OK ? plan_child(p, 1, duckdb_map_type_value_type(t), NULL) : rc;
  }
  case DUCKDB_TYPE_STRUCT:
  case DUCKDB_TYPE_UNION:
    return plan_fields(t, p);
  case DUCKDB_TYPE_INVALID: /* what the C API of DuckDB 1.4 says of TIME_NS, for one */
  case DUCKDB_TYPE_ANY:
  case DUCKDB_TYPE_STRING_LITERAL:
  case DUCKDB_TYPE_INTEGER_LITERAL:
    return qx_fail(QX_ERR_SQL,
                   "its type (DuckDB type id %d) is not one DuckDB's C API can read values of "
                   "(TIME_NS is one such); cast it to VARCHAR or another type",
                   (int)p->id);
  default:
    return QX_OK;
  }
}

static qx_sql_value_kind plan_kind(const value_plan *p) {
  switch (p->id) {
  case DUCKDB_TYPE_BOOLEAN:
    return QX_SQL_VALUE_BOOLEAN;
  case DUCKDB_TYPE_TINYINT:
  case DUCKDB_TYPE_SMALLINT:
  case DUCKDB_TYPE_INTEGER:
  case DUCKDB_TYPE_BIGINT:
  case DUCKDB_TYPE_UTINYINT:
  case DUCKDB_TYPE_USMALLINT:
  case DUCKDB_TYPE_UINTEGER:
  case DUCKDB_TYPE_UBIGINT:
  case DUCKDB_TYPE_HUGEINT:
  case DUCKDB_TYPE_UHUGEINT:
  case DUCKDB_TYPE_FLOAT:
  case DUCKDB_TYPE_DOUBLE:
  case DUCKDB_TYPE_DECIMAL:
  case DUCKDB_TYPE_BIGNUM:
    return QX_SQL_VALUE_NUMBER;
  case DUCKDB_TYPE_LIST:
  case DUCKDB_TYPE_ARRAY:
  case DUCKDB_TYPE_MAP:
  case DUCKDB_TYPE_STRUCT:
  case DUCKDB_TYPE_UNION:
    return QX_SQL_VALUE_JSON;
  case DUCKDB_TYPE_VARCHAR:
    return p->is_json ? QX_SQL_VALUE_JSON : QX_SQL_VALUE_TEXT;
  default:
    return QX_SQL_VALUE_TEXT;
  }
}

/* ---- numbers ---- */

/* The digits of u, with a point before the last scale of them ("0.05" for 5 at scale 2). */
static void format_u128(unsigned __int128 u, int negative, uint8_t scale, char *out, size_t cap) {
  char digits[64];
  int n = 0;
  do {
    digits[n++] = (char)('0' + (int)(u % 10));
    u /= 10;
  } while (u || n <= scale);
  size_t at = 0;
  if (negative && at + 1 < cap) out[at++] = '-';
  for (int i = n - 1; i >= 0 && at + 2 < cap; i--) {
    out[at++] = digits[i];
    if (i == scale && scale > 0) out[at++] = '.';
  }
  out[at] = 0;
}

static void format_i128(__int128 v, uint8_t scale, char *out, size_t cap) {
  unsigned __int128 magnitude = v < 0 ? (unsigned __int128)(-(v + 1)) + 1 : (unsigned __int128)v;
  format_u128(magnitude, v < 0, scale, out, cap);
}

/* The shortest %g text that reads back as d (as a float if is_float): the %g of the first
 * precision that round-trips is the shortest, as %g drops trailing zeros. */
static void format_float(double d, int is_float, char *out, size_t cap) {
  if (isnan(d)) {
    snprintf(out, cap, "nan");
    return;
  }
  if (isinf(d)) {
    snprintf(out, cap, "%s", d < 0 ? "-inf" : "inf");
    return;
  }
  for (int precision = is_float ? 6 : 15; precision <= 17; precision++) {
    snprintf(out, cap, "%.*g", precision, d);
    double back = strtod(out, NULL);
    if (is_float ? (float)back == (float)d : back == d) return;
  }
}

/* The integer at row of data, whose physical type is id: a signed integer type or HUGEINT (the
 * storage of DECIMALs too). */
static __int128 signed_at(const void *data, idx_t row, duckdb_type id) {
  switch (id) {
  case DUCKDB_TYPE_TINYINT:
    return ((const int8_t *)data)[row];
  case DUCKDB_TYPE_SMALLINT:
    return ((const int16_t *)data)[row];
  case DUCKDB_TYPE_INTEGER:
    return ((const int32_t *)data)[row];
  case DUCKDB_TYPE_BIGINT:
    return ((const int64_t *)data)[row];
  default: {
    duckdb_hugeint h = ((const duckdb_hugeint *)data)[row];
    return (__int128)(((unsigned __int128)(uint64_t)h.upper << 64) | h.lower);
  }
  }
}

/* The unsigned integer at row of data, whose physical type is id (the storage of ENUMs too). */
static unsigned __int128 unsigned_at(const void *data, idx_t row, duckdb_type id) {
  switch (id) {
  case DUCKDB_TYPE_UTINYINT:
    return ((const uint8_t *)data)[row];
  case DUCKDB_TYPE_USMALLINT:
    return ((const uint16_t *)data)[row];
  case DUCKDB_TYPE_UINTEGER:
    return ((const uint32_t *)data)[row];
  case DUCKDB_TYPE_UBIGINT:
    return ((const uint64_t *)data)[row];
  default: {
    duckdb_uhugeint h = ((const duckdb_uhugeint *)data)[row];
    return ((unsigned __int128)h.upper << 64) | h.lower;
  }
  }
}

/* ---- dates and times, as DuckDB writes them ---- */

static size_t format_date(int32_t days, char *out, size_t cap) {
  if (days == INT32_MAX || days == -INT32_MAX)
    return (size_t)snprintf(out, cap, "%sinfinity", days < 0 ? "-" : "");
  duckdb_date_struct d = duckdb_from_date((duckdb_date){days});
  int bc = d.year <= 0; /* there is no year 0: 1 BC precedes 1 AD */
  return (size_t)snprintf(out, cap, "%04d-%02d-%02d%s", bc ? 1 - d.year : d.year, d.month, d.day,
                          bc ? " (BC)" : "");
}

/* ".fraction" of frac units (per_second of them a second) at the stored precision, without
 * trailing zeros; nothing when frac is 0. */
static size_t format_fraction(int64_t frac, int64_t per_second, char *out, size_t cap) {
  if (frac == 0) return 0;
  int width = 0;
  for (int64_t p = per_second; p > 1; p /= 10)
    width++;
  char f[24];
  snprintf(f, sizeof f, "%0*" PRId64, width > 9 ? 9 : width, frac); /* at most ns */
  for (int i = width - 1; i > 0 && f[i] == '0'; i--)
    f[i] = 0;
  int n = snprintf(out, cap, ".%s", f);
  return n < 0 ? 0 : (size_t)n;
}

/* "HH:MM:SS[.fraction]" of units (per_second of them a second) since midnight. Hours may
 * reach 24 (TIME '24:00:00'). */
static size_t format_time_of_day(int64_t units, int64_t per_second, char *out, size_t cap) {
  int64_t s = units / per_second;
  int n = snprintf(out, cap, "%02d:%02d:%02d", (int)(s / 3600), (int)(s / 60 % 60), (int)(s % 60));
  if (n < 0 || (size_t)n >= cap) return 0;
  return (size_t)n + format_fraction(units % per_second, per_second, out + n, cap - (size_t)n);
}

static int64_t floor_div(int64_t a, int64_t b) {
  return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* units since the epoch -> "YYYY-MM-DD HH:MM:SS[.fraction]" followed by zone. */
static void format_timestamp(int64_t units, int64_t per_second, const char *zone, char *out,
                             size_t cap) {
  if (units == INT64_MAX || units == -INT64_MAX) {
    snprintf(out, cap, "%sinfinity", units < 0 ? "-" : "");
    return;
  }
  int64_t per_day = 86400 * per_second;
  int64_t day = floor_div(units, per_day);
  if (day <= INT32_MIN || day >= INT32_MAX) { /* DuckDB never stores one, but do not wrap */
    snprintf(out, cap, "%" PRId64, units);
    return;
  }
  size_t n = format_date((int32_t)day, out, cap);
  if (n + 1 >= cap) return;
  out[n++] = ' ';
  n += format_time_of_day(units - day * per_day, per_second, out + n, cap - n);
  snprintf(out + n, cap - n, "%s", zone);
}

/* "+HH[:MM[:SS]]" of an offset in seconds east of UTC. */
static void format_offset(int32_t offset, char *out, size_t cap) {
  int32_t a = offset < 0 ? -offset : offset;
  int n = snprintf(out, cap, "%c%02d", offset < 0 ? '-' : '+', a / 3600);
  if (a % 3600 && n > 0 && (size_t)n < cap)
    n += snprintf(out + n, cap - (size_t)n, ":%02d", a / 60 % 60);
  if (a % 60 && n > 0 && (size_t)n < cap) snprintf(out + n, cap - (size_t)n, ":%02d", a % 60);
}

static void format_time_tz(duckdb_time_tz value, char *out, size_t cap) {
  duckdb_time_tz_struct t = duckdb_from_time_tz(value);
  int64_t seconds = (int64_t)t.time.hour * 3600 + (int64_t)t.time.min * 60 + t.time.sec;
  int64_t micros = seconds * 1000000 + t.time.micros;
  size_t n = format_time_of_day(micros, 1000000, out, cap);
  format_offset(t.offset, out + n, cap - n);
}

/* Appends " " (unless first), value and unit, plural unless value is 1 or -1. */
static size_t put_interval_part(char *out, size_t at, size_t cap, int32_t value, const char *unit) {
  if (value == 0 || at >= cap) return at;
  int n = snprintf(out + at, cap - at, "%s%d %s%s", at ? " " : "", value, unit,
                   value == 1 || value == -1 ? "" : "s");
  return n < 0 ? at : at + (size_t)n;
}

/* "1 year 2 months 3 days 04:05:06.5", as DuckDB writes intervals; "00:00:00" when empty. */
static void format_interval(duckdb_interval iv, char *out, size_t cap) {
  size_t n = put_interval_part(out, 0, cap, iv.months / 12, "year");
  n = put_interval_part(out, n, cap, iv.months % 12, "month");
  n = put_interval_part(out, n, cap, iv.days, "day");
  if (iv.micros == 0) {
    if (n == 0) snprintf(out, cap, "00:00:00");
    return;
  }
  if (n + 2 >= cap) return;
  if (n) out[n++] = ' ';
  if (iv.micros < 0) out[n++] = '-';
  uint64_t magnitude = iv.micros < 0 ? 0 - (uint64_t)iv.micros : (uint64_t)iv.micros;
  uint64_t seconds = magnitude / 1000000;
  int m = snprintf(out + n, cap - n, "%02" PRIu64 ":%02d:%02d", seconds / 3600,
                   (int)(seconds / 60 % 60), (int)(seconds % 60));
  if (m > 0 && n + (size_t)m < cap)
    format_fraction((int64_t)(magnitude % 1000000), 1000000, out + n + m, cap - n - (size_t)m);
}

static void format_uuid(duckdb_hugeint h, char *out, size_t cap) {
  uint64_t hi = (uint64_t)h.upper ^ (UINT64_C(1) << 63), lo = h.lower; /* stored sign-flipped */
  snprintf(out, cap, "%08" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%012" PRIx64,
           hi >> 32, (hi >> 16) & 0xffff, hi & 0xffff, lo >> 48, lo & UINT64_C(0xffffffffffff));
}

/* ---- scalars of a fixed size ---- */

/* Formats row of data (a vector of p's type) into out; 0 if p's values are not of fixed size. */
static int format_scalar(const value_plan *p, const void *data, idx_t row, char *out, size_t cap) {
  switch (p->id) {
  case DUCKDB_TYPE_BOOLEAN:
    snprintf(out, cap, "%s", ((const bool *)data)[row] ? "true" : "false");
    return 1;
  case DUCKDB_TYPE_TINYINT:
  case DUCKDB_TYPE_SMALLINT:
  case DUCKDB_TYPE_INTEGER:
  case DUCKDB_TYPE_BIGINT:
  case DUCKDB_TYPE_HUGEINT:
    format_i128(signed_at(data, row, p->id), 0, out, cap);
    return 1;
  case DUCKDB_TYPE_UTINYINT:
  case DUCKDB_TYPE_USMALLINT:
  case DUCKDB_TYPE_UINTEGER:
  case DUCKDB_TYPE_UBIGINT:
  case DUCKDB_TYPE_UHUGEINT:
    format_u128(unsigned_at(data, row, p->id), 0, 0, out, cap);
    return 1;
  case DUCKDB_TYPE_FLOAT:
    format_float(((const float *)data)[row], 1, out, cap);
    return 1;
  case DUCKDB_TYPE_DOUBLE:
    format_float(((const double *)data)[row], 0, out, cap);
    return 1;
  case DUCKDB_TYPE_DECIMAL:
    format_i128(signed_at(data, row, p->storage), p->scale, out, cap);
    return 1;
  case DUCKDB_TYPE_ENUM: {
    unsigned __int128 index = unsigned_at(data, row, p->storage);
    snprintf(out, cap, "%s", index < p->count ? p->names[(size_t)index] : "");
    return 1;
  }
  case DUCKDB_TYPE_DATE:
    format_date(((const int32_t *)data)[row], out, cap);
    return 1;
  case DUCKDB_TYPE_TIME:
    format_time_of_day(((const int64_t *)data)[row], 1000000, out, cap);
    return 1;
  case DUCKDB_TYPE_TIME_NS:
    format_time_of_day(((const int64_t *)data)[row], 1000000000, out, cap);
    return 1;
  case DUCKDB_TYPE_TIME_TZ:
    format_time_tz(((const duckdb_time_tz *)data)[row], out, cap);
    return 1;
  case DUCKDB_TYPE_TIMESTAMP_S:
    format_timestamp(((const int64_t *)data)[row], 1, "", out, cap);
    return 1;
  case DUCKDB_TYPE_TIMESTAMP_MS:
    format_timestamp(((const int64_t *)data)[row], 1000, "", out, cap);
    return 1;
  case DUCKDB_TYPE_TIMESTAMP:
    format_timestamp(((const int64_t *)data)[row], 1000000, "", out, cap);
    return 1;
  case DUCKDB_TYPE_TIMESTAMP_NS:
    format_timestamp(((const int64_t *)data)[row], 1000000000, "", out, cap);
    return 1;
  case DUCKDB_TYPE_TIMESTAMP_TZ:
    format_timestamp(((const int64_t *)data)[row], 1000000, "+00", out, cap);
    return 1;
  case DUCKDB_TYPE_INTERVAL:
    format_interval(((const duckdb_interval *)data)[row], out, cap);
    return 1;
  case DUCKDB_TYPE_UUID:
    format_uuid(((const duckdb_hugeint *)data)[row], out, cap);
    return 1;
  default:
    return 0;
  }
}

/* ---- values of variable size: BLOB, BIT, BIGNUM ---- */

/* Printable ASCII as itself, every other byte (and the quotes and backslash) as \xHH, which
 * DuckDB reads back as the same BLOB. */
static void put_blob(qx_buffer *b, const uint8_t *s, size_t len) {
  for (size_t i = 0; i < len; i++) {
    char esc[5];
    if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\\' && s[i] != '\'' && s[i] != '"')
      qx_buffer_put(b, &s[i], 1);
    else
      qx_buffer_put(b, esc, (size_t)snprintf(esc, sizeof esc, "\\x%02X", s[i]));
  }
}

/* A BIT string is a byte counting the padding bits, then the bits, the padding at the front. */
static void put_bits(qx_buffer *b, const uint8_t *s, size_t len) {
  for (size_t i = 1; i < len; i++)
    for (int bit = 7; bit >= 0; bit--)
      if (i > 1 || 7 - bit >= s[0]) qx_buffer_put(b, (s[i] >> bit) & 1 ? "1" : "0", 1);
}

/* A BIGNUM is a 3-byte header (top bit set for >= 0) and the magnitude's bytes, big-endian;
 * a negative one has every byte inverted. Printed in base 10 through base-10^9 limbs. */
static void put_bignum(qx_buffer *b, const uint8_t *s, size_t len) {
  if (len <= 3) {
    qx_buffer_puts(b, "0");
    return;
  }
  uint8_t flip = (s[0] & 0x80) ? 0 : 0xff;
  size_t cap = (len - 3) * 8 / 29 + 2, used = 0; /* 2^29 < 10^9: 29 bits fill a limb */
  uint32_t *limbs = calloc(cap, sizeof *limbs);  /* least significant first */
  if (!limbs) {
    b->failed = 1;
    return;
  }
  for (size_t i = 3; i < len; i++) {
    uint64_t carry = (uint8_t)(s[i] ^ flip);
    for (size_t k = 0; k < used; k++) {
      uint64_t v = (uint64_t)limbs[k] * 256 + carry;
      limbs[k] = (uint32_t)(v % 1000000000u);
      carry = v / 1000000000u;
    }
    if (carry) limbs[used++] = (uint32_t)carry;
  }
  char text[16];
  if (used == 0) qx_buffer_puts(b, "0");
  if (flip && used) qx_buffer_puts(b, "-");
  for (size_t k = used; k-- > 0;) {
    snprintf(text, sizeof text, k + 1 == used ? "%" PRIu32 : "%09" PRIu32, limbs[k]);
    qx_buffer_puts(b, text);
  }
  free(limbs);
}

static duckdb_string_t string_at(duckdb_vector v, idx_t row) {
  return ((duckdb_string_t *)duckdb_vector_get_data(v))[row];
}

/* A BLOB, BIT or BIGNUM as text into b; 0 if p is none of them. */
static int put_variable(qx_buffer *b, const value_plan *p, duckdb_vector v, idx_t row) {
  if (p->id != DUCKDB_TYPE_BLOB && p->id != DUCKDB_TYPE_BIT && p->id != DUCKDB_TYPE_BIGNUM)
    return 0;
  duckdb_string_t s = string_at(v, row);
  const uint8_t *bytes = (const uint8_t *)duckdb_string_t_data(&s);
  size_t len = duckdb_string_t_length(s);
  if (p->id == DUCKDB_TYPE_BLOB)
    put_blob(b, bytes, len);
  else if (p->id == DUCKDB_TYPE_BIT)
    put_bits(b, bytes, len);
  else
    put_bignum(b, bytes, len);
  return 1;
}

/* ---- any value as text, nested ones as JSON ---- */

static void put_json(qx_buffer *b, const value_plan *p, duckdb_vector v, idx_t row);

/* The text of a value that is not NULL: what qx_sql_result_text returns for it. */
static void put_text(qx_buffer *b, const value_plan *p, duckdb_vector v, idx_t row) {
  char scalar[SCALAR_TEXT_MAX];
  if (p->id == DUCKDB_TYPE_VARCHAR) {
    duckdb_string_t s = string_at(v, row);
    qx_buffer_put(b, duckdb_string_t_data(&s), duckdb_string_t_length(s));
  } else if (format_scalar(p, duckdb_vector_get_data(v), row, scalar, sizeof scalar)) {
    qx_buffer_puts(b, scalar);
  } else if (!put_variable(b, p, v, row)) {
    put_json(b, p, v, row);
  }
}

static int is_null(const value_plan *p, duckdb_vector v, idx_t row) {
  uint64_t *validity = duckdb_vector_get_validity(v);
  return p->id == DUCKDB_TYPE_SQLNULL || (validity && !duckdb_validity_row_is_valid(validity, row));
}

static void put_json_string(qx_buffer *b, const char *s, size_t len) {
  qx_buffer_puts(b, "\"");
  size_t run = 0; /* s[run..i) is copied as it is */
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    qx_buffer_put(b, s + run, i - run);
    char esc[8];
    if (c == '"' || c == '\\')
      snprintf(esc, sizeof esc, "\\%c", c);
    else
      snprintf(esc, sizeof esc, "\\u%04x", c);
    qx_buffer_puts(b, esc);
    run = i + 1;
  }
  qx_buffer_put(b, s + run, len - run);
  qx_buffer_puts(b, "\"");
}

/* text (len bytes, or NULL if it could not be built) as a JSON value: bare if it is one (a
 * number, a boolean, JSON text), a string otherwise. JSON has no number for nan and inf. */
static void put_json_text(qx_buffer *b, qx_sql_value_kind kind, const char *text, size_t len) {
  if (!text) {
    b->failed = 1;
    return;
  }
  int bare = kind == QX_SQL_VALUE_JSON || kind == QX_SQL_VALUE_BOOLEAN ||
             (kind == QX_SQL_VALUE_NUMBER && strcmp(text, "nan") != 0 && strcmp(text, "inf") != 0 &&
              strcmp(text, "-inf") != 0);
  if (bare)
    qx_buffer_put(b, text, len);
  else
    put_json_string(b, text, len);
}

static void put_elements(qx_buffer *b, const value_plan *p, duckdb_vector child, idx_t first,
                         idx_t count) {
  qx_buffer_puts(b, "[");
  for (idx_t i = 0; i < count; i++) {
    if (i) qx_buffer_puts(b, ",");
    put_json(b, p, child, first + i);
  }
  qx_buffer_puts(b, "]");
}

/* A map's entries (a STRUCT(key, value) vector) as an object named by the keys' text. */
static void put_map(qx_buffer *b, const value_plan *p, duckdb_vector entries, idx_t first,
                    idx_t count) {
  duckdb_vector keys = duckdb_struct_vector_get_child(entries, 0);
  duckdb_vector values = duckdb_struct_vector_get_child(entries, 1);
  qx_buffer_puts(b, "{");
  for (idx_t i = 0; i < count; i++) {
    qx_buffer key = {0};
    put_text(&key, &p->children[0], keys, first + i); /* map keys are never NULL */
    if (i) qx_buffer_puts(b, ",");
    put_json_text(b, QX_SQL_VALUE_TEXT, qx_buffer_text(&key), key.len);
    qx_buffer_puts(b, ":");
    put_json(b, &p->children[1], values, first + i);
    qx_buffer_free(&key);
  }
  qx_buffer_puts(b, "}");
}

static void put_struct(qx_buffer *b, const value_plan *p, duckdb_vector v, idx_t row) {
  qx_buffer_puts(b, "{");
  for (uint32_t i = 0; i < p->count; i++) {
    if (i) qx_buffer_puts(b, ",");
    put_json_string(b, p->names[i], strlen(p->names[i]));
    qx_buffer_puts(b, ":");
    put_json(b, &p->children[i], duckdb_struct_vector_get_child(v, i), row);
  }
  qx_buffer_puts(b, "}");
}

/* A union is a STRUCT of the member tag, then one child per member; it prints as its member. */
static void put_union(qx_buffer *b, const value_plan *p, duckdb_vector v, idx_t row) {
  duckdb_vector tags = duckdb_struct_vector_get_child(v, 0);
  uint8_t tag = ((const uint8_t *)duckdb_vector_get_data(tags))[row];
  if (tag < p->count)
    put_json(b, &p->children[tag], duckdb_struct_vector_get_child(v, (idx_t)tag + 1), row);
  else
    qx_buffer_puts(b, "null");
}

/* A value as JSON: lists and arrays as arrays, structs and maps as objects, unions as their
 * member, scalars as put_json_text puts their text. */
static void put_json(qx_buffer *b, const value_plan *p, duckdb_vector v, idx_t row) {
  if (is_null(p, v, row)) {
    qx_buffer_puts(b, "null");
    return;
  }
  switch (p->id) {
  case DUCKDB_TYPE_LIST:
  case DUCKDB_TYPE_MAP: {
    duckdb_list_entry e = ((const duckdb_list_entry *)duckdb_vector_get_data(v))[row];
    duckdb_vector child = duckdb_list_vector_get_child(v);
    if (p->id == DUCKDB_TYPE_LIST)
      put_elements(b, &p->children[0], child, e.offset, e.length);
    else
      put_map(b, p, child, e.offset, e.length);
    return;
  }
  case DUCKDB_TYPE_ARRAY:
    put_elements(b, &p->children[0], duckdb_array_vector_get_child(v), row * p->array_size,
                 p->array_size);
    return;
  case DUCKDB_TYPE_STRUCT:
    put_struct(b, p, v, row);
    return;
  case DUCKDB_TYPE_UNION:
    put_union(b, p, v, row);
    return;
  default: {
    qx_buffer text = {0};
    put_text(&text, p, v, row);
    put_json_text(b, plan_kind(p), qx_buffer_text(&text), text.len);
    qx_buffer_free(&text);
  }
  }
}

/* ---- the interface ---- */

int qx_value_text(const qx_value_plan *p, duckdb_vector v, idx_t row, char **out) {
  *out = NULL;
  if (is_null(p, v, row)) return QX_OK;
  qx_buffer b = {0};
  put_text(&b, p, v, row);
  if (qx_buffer_text(&b)) *out = b.p ? (char *)b.p : strdup("");
  if (!*out) qx_buffer_free(&b);
  return *out ? QX_OK : out_of_memory();
}

int qx_value_plan_create(duckdb_logical_type type, qx_value_plan **out) {
  qx_value_plan *p = calloc(1, sizeof *p);
  if (!p) return out_of_memory();
  int rc = plan_build(type, p);
  if (rc != QX_OK) {
    qx_value_plan_destroy(p);
    return rc;
  }
  *out = p;
  return QX_OK;
}

void qx_value_plan_destroy(qx_value_plan *p) {
  if (!p) return;
  plan_free(p);
  free(p);
}

qx_sql_value_kind qx_value_plan_kind(const qx_value_plan *p) {
  return plan_kind(p);
}

void qx_value_text_timestamp_ns(int64_t ns, char *out, size_t cap) {
  format_timestamp(ns, 1000000000, "", out, cap);
}
