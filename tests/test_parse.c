/* Parsing column values from text: every type, its boundaries, the round trip with the
 * formatter, and malformed input that must be refused with QX_ERR_PARSE. */
#include "check.h"
#include "qaxdb/records.h"
#include "qaxdb/schema.h"
#include "record/text.h"

static const qx_column *column(int table, const char *name) {
  const qx_schema *s = qx_schema_by_id(table);
  return &s->columns[qx_schema_column_index(s, name)];
}

static int parse(const qx_column *col, const char *text, void *record) {
  return qx_parse_column(col, text, strlen(text), record);
}

static void check_decimal(const char *text, int64_t expected) {
  qx_order o;
  memset(&o, 0, sizeof o);
  CHECK_OK(parse(column(QX_TABLE_ORDERS, "price"), text, &o));
  if (o.price != expected) fprintf(stderr, "decimal '%s' -> %lld\n", text, (long long)o.price);
  CHECK(o.price == expected);
}

static void check_refused(const qx_column *col, const char *text, const char *reason_part) {
  uint8_t record[512];
  memset(record, 0x5a, sizeof record);
  CHECK_RC(parse(col, text, record), QX_ERR_PARSE);
  if (!strstr(qx_last_error(), reason_part))
    fprintf(stderr, "'%s': reason '%s' lacks '%s'\n", text, qx_last_error(), reason_part);
  CHECK(strstr(qx_last_error(), reason_part) != NULL);
  CHECK(strstr(qx_last_error(), col->name) != NULL);
  for (size_t i = 0; i < sizeof record; i++)
    CHECK(record[i] == 0x5a); /* left unchanged */
}

static void test_decimals(void) {
  check_decimal("3850.25", 38502500);
  check_decimal("3850.2500", 38502500);
  check_decimal("-0.0005", -5);
  check_decimal("+7", 70000);
  check_decimal(".5", 5000);
  check_decimal("12.", 120000);
  /* The column is DECIMAL(18,4) in SQL: 18 digits in all, of which 4 after the point. */
  check_decimal("99999999999999.9999", 999999999999999999ll);
  check_decimal("-99999999999999.9999", -999999999999999999ll);
  const qx_column *price = column(QX_TABLE_ORDERS, "price");
  check_refused(price, "1.23456", "5 digits after the point");
  check_refused(price, "100000000000000", "out of range for DECIMAL(18,4)");
  check_refused(price, "-100000000000000.0000", "out of range for DECIMAL(18,4)");
  check_refused(price, "922337203685477.5807", "out of range for DECIMAL(18,4)");
  check_refused(price, "abc", "not a decimal");
  check_refused(price, "1.2.3", "not a decimal");
  check_refused(price, "-", "not a decimal");
  check_refused(price, ".", "not a decimal");
  check_refused(price, "1e5", "not a decimal");
  check_refused(price, "", "not a decimal");
  /* risk_ratio keeps 6 digits */
  qx_account a;
  CHECK_OK(parse(column(QX_TABLE_ACCOUNTS, "risk_ratio"), "0.253001", &a));
  CHECK(a.risk_ratio == 253001);
  CHECK_OK(parse(column(QX_TABLE_ACCOUNTS, "risk_ratio"), "999999999999.999999", &a));
  CHECK(a.risk_ratio == 999999999999999999ll);
  check_refused(column(QX_TABLE_ACCOUNTS, "risk_ratio"), "1000000000000", "DECIMAL(18,6)");
}

static void test_integers(void) {
  qx_order o;
  CHECK_OK(parse(column(QX_TABLE_ORDERS, "order_id"), "18446744073709551615", &o));
  CHECK(o.order_id == UINT64_MAX);
  check_refused(column(QX_TABLE_ORDERS, "order_id"), "18446744073709551616", "range");
  check_refused(column(QX_TABLE_ORDERS, "order_id"), "-1", "unsigned");
  CHECK_OK(parse(column(QX_TABLE_ORDERS, "volume"), "-9223372036854775808", &o));
  CHECK(o.volume == INT64_MIN);
  check_refused(column(QX_TABLE_ORDERS, "volume"), "9223372036854775808", "range");
  check_refused(column(QX_TABLE_ORDERS, "volume"), "12x", "integer");
  qx_kline k;
  CHECK_OK(parse(column(QX_TABLE_KLINES, "period_s"), "4294967295", &k));
  CHECK(k.period_s == UINT32_MAX);
  check_refused(column(QX_TABLE_KLINES, "period_s"), "4294967296", "range");
}

static void check_timestamp(const char *text, int64_t expected) {
  qx_trade t;
  memset(&t, 0, sizeof t);
  CHECK_OK(parse(column(QX_TABLE_TRADES, "ts"), text, &t));
  if (t.ts != expected) fprintf(stderr, "timestamp '%s' -> %lld\n", text, (long long)t.ts);
  CHECK(t.ts == expected);
}

static void test_timestamps(void) {
  check_timestamp("1795512600000000001", 1795512600000000001ll);
  check_timestamp("-1", -1);
  check_timestamp("2026-11-24T09:30:00.000000001Z", 1795512600000000001ll);
  check_timestamp("2026-11-24 09:30:00.5", 1795512600500000000ll);
  check_timestamp("2026-11-24", 1795478400000000000ll);
  check_timestamp("1970-01-01T00:00:00Z", 0);
  check_timestamp("1969-12-31T23:59:59.999999999Z", -1);
  check_timestamp("2024-02-29T00:00:00Z", 1709164800000000000ll);
  const qx_column *ts = column(QX_TABLE_TRADES, "ts");
  check_refused(ts, "2026-02-29", "calendar date");
  check_refused(ts, "2026-13-01", "calendar date");
  check_refused(ts, "2026-11-31", "calendar date");
  check_refused(ts, "2026-11-24T24:00:00", "out of range");
  check_refused(ts, "2026-11-24T09:30", "time of day");
  check_refused(ts, "2026-11-24T09:30:00+08:00", "only UTC");
  check_refused(ts, "2026-11-24T09:30:00.", "no digits");
  check_refused(ts, "2026-11-24T09:30:00.1234567891", "more than 9");
  check_refused(ts, "2300-01-01", "outside");
  check_refused(ts, "yesterday", "not a timestamp");
  check_refused(ts, "", "not a timestamp");

  /* Round trip through the formatter for a spread of instants. */
  for (int64_t ns = -1000000000000000007ll; ns < 4000000000000000000ll;
       ns += 333333333333333331ll) {
    qx_trade t = {.ts = ns}, back;
    char text[48];
    qx_format_column(ts, &t, text, sizeof text);
    CHECK_OK(parse(ts, text, &back));
    CHECK(back.ts == ns);
  }
}

static void test_enums_and_strings(void) {
  qx_order o;
  memset(&o, 0, sizeof o);
  CHECK_OK(parse(column(QX_TABLE_ORDERS, "side"), "sell", &o));
  CHECK(o.side == QX_SIDE_SELL);
  CHECK_OK(parse(column(QX_TABLE_ORDERS, "offset"), "close_today", &o));
  CHECK(o.offset == QX_OFFSET_CLOSE_TODAY);
  check_refused(column(QX_TABLE_ORDERS, "side"), "SELL", "buy, sell");
  check_refused(column(QX_TABLE_ORDERS, "status"), "open", "not one of");

  memset(o.account_id, 'x', sizeof o.account_id);
  CHECK_OK(parse(column(QX_TABLE_ORDERS, "account_id"), "A-17", &o));
  CHECK(memcmp(o.account_id, "A-17\0\0\0", 8) == 0); /* NUL-padded, old bytes cleared */
  CHECK(o.account_id[31] == 0);
  char full[QX_INSTRUMENT_ID_LEN + 2] = "abcdefghijklmnop";
  CHECK_OK(parse(column(QX_TABLE_ORDERS, "instrument_id"), full, &o));
  CHECK(memcmp(o.instrument_id, full, QX_INSTRUMENT_ID_LEN) == 0);
  strcat(full, "q");
  check_refused(column(QX_TABLE_ORDERS, "instrument_id"), full, "holds 16");
  CHECK_RC(qx_parse_column(column(QX_TABLE_ORDERS, "instrument_id"), "a\0b", 3, &o), QX_ERR_PARSE);
}

int main(void) {
  test_decimals();
  test_integers();
  test_timestamps();
  test_enums_and_strings();
  return test_finish("test_parse");
}
