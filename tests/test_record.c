/* The record model: schema descriptors agree with the structs, key encoding orders bytes as
 * values, and the text form of each column type is exact. */
#include <stddef.h>
#include <stdint.h>

#include "check.h"
#include "qaxdb/key.h"
#include "qaxdb/records.h"
#include "qaxdb/schema.h"
#include "record/text.h"

/* Versions only append: each version's columns are a prefix starting with version 1's, each
 * version's record is a prefix of the next one, and a record size names its version. */
static void test_versions(const qx_schema *s) {
  CHECK_EQ_U64(s->columns[0].since_version, 1);
  for (uint32_t c = 1; c < s->column_count; c++) {
    CHECK(s->columns[c].since_version >= s->columns[c - 1].since_version);
    CHECK(s->columns[c].since_version <= s->version);
  }
  CHECK_EQ_U64(qx_schema_column_count(s, 0), 0);
  CHECK_EQ_U64(qx_schema_record_size(s, s->version + 1u), 0);
  CHECK_EQ_U64(qx_schema_column_count(s, s->version), s->column_count);
  CHECK_EQ_U64(qx_schema_record_size(s, s->version), s->record_size);
  for (unsigned v = 1; v <= s->version; v++) {
    uint32_t n = qx_schema_column_count(s, v), size = qx_schema_record_size(s, v);
    CHECK(n > 0 && size % 8 == 0);
    CHECK_EQ_U64(qx_schema_version_of_size(s, size), v);
    for (uint32_t c = 0; c < n; c++)
      CHECK(s->columns[c].offset + s->columns[c].width <= size);
    if (v > 1) CHECK(size > qx_schema_record_size(s, v - 1));
  }
  CHECK_EQ_U64(qx_schema_version_of_size(s, s->record_size + 8), 0);
}

/* Every column lies inside the record, columns do not overlap, and names are unique. */
static void test_descriptors(void) {
  static const size_t sizes[] = {0,
                                 sizeof(qx_order),
                                 sizeof(qx_trade),
                                 sizeof(qx_account),
                                 sizeof(qx_position),
                                 sizeof(qx_tick),
                                 sizeof(qx_orderbook_snapshot),
                                 sizeof(qx_kline),
                                 sizeof(qx_instrument)};
  for (int id = QX_TABLE_MIN; id <= QX_TABLE_MAX; id++) {
    const qx_schema *s = qx_schema_by_id(id);
    CHECK(s != NULL);
    if (!s) continue;
    CHECK_EQ_U64(s->table_id, id);
    CHECK_EQ_U64(s->record_size, sizes[id]);
    CHECK(qx_schema_by_name(s->name) == s);
    uint8_t used[512] = {0};
    for (uint32_t c = 0; c < s->column_count; c++) {
      const qx_column *col = &s->columns[c];
      CHECK(col->offset + col->width <= s->record_size);
      for (uint32_t b = col->offset; b < col->offset + col->width && b < sizeof used; b++) {
        CHECK(!used[b]);
        used[b] = 1;
      }
      CHECK_EQ_U64(qx_schema_column_index(s, col->name), c);
      if (col->type == QX_COL_ENUM) CHECK(col->enum_count > 0 && col->width == 1);
      if (col->type == QX_COL_DECIMAL) CHECK(col->scale > 0 && col->scale <= 9);
    }
    CHECK(s->key_column_count > 0);
    for (uint32_t k = 0; k < s->key_column_count; k++)
      CHECK_EQ_U64(s->columns[s->key_columns[k]].since_version, 1);
    test_versions(s);
  }
  CHECK(qx_schema_by_id(0) == NULL);
  CHECK(qx_schema_by_id(QX_TABLE_MAX + 1) == NULL);
  CHECK(qx_schema_by_name("nope") == NULL);
  /* ticks version 2 added average_price after version 1's 88-byte record */
  const qx_schema *ticks = qx_schema_by_id(QX_TABLE_TICKS);
  CHECK_EQ_U64(ticks->version, 2);
  CHECK_EQ_U64(qx_schema_record_size(ticks, 1), 88);
  CHECK_EQ_U64(qx_schema_column_count(ticks, 1) + 1, ticks->column_count);
  const qx_schema *orders = qx_schema_by_name("orders");
  CHECK_EQ_U64(orders->columns[qx_schema_column_index(orders, "price")].offset,
               offsetof(qx_order, price));
  CHECK_EQ_U64(
      qx_column_enum_value(&orders->columns[qx_schema_column_index(orders, "side")], "sell"),
      QX_SIDE_SELL);
  CHECK(qx_column_enum_value(&orders->columns[qx_schema_column_index(orders, "side")], "up") < 0);
}

static int sign(int v) {
  return (v > 0) - (v < 0);
}

static int key_cmp(const uint8_t *a, size_t na, const uint8_t *b, size_t nb) {
  int c = memcmp(a, b, na < nb ? na : nb);
  return c ? sign(c) : (na > nb) - (na < nb);
}

static void test_integer_key_order(void) {
  static const int64_t values[] = {INT64_MIN, -1000000, -2,  -1,      0,        1,
                                   2,         255,      256, 1 << 20, INT64_MAX};
  size_t n = sizeof values / sizeof values[0];
  for (size_t i = 0; i < n; i++) {
    uint8_t a[8], b[8];
    qx_key_put_i64(a, values[i]);
    CHECK(qx_key_get_i64(a) == values[i]);
    for (size_t j = 0; j < n; j++) {
      qx_key_put_i64(b, values[j]);
      CHECK(sign(memcmp(a, b, 8)) == (values[i] > values[j]) - (values[i] < values[j]));
    }
  }
  uint8_t a[8], b[8];
  qx_key_put_u64(a, 0x00000000000000ffull);
  qx_key_put_u64(b, 0x0000000000000100ull);
  CHECK(memcmp(a, b, 8) < 0);
  CHECK_EQ_U64(qx_key_get_u64(b), 0x100);
}

/* positions key = table id, account_id, instrument_id: compares as the tuple does. */
static void test_composite_key_order(void) {
  const qx_schema *pos = qx_schema_by_id(QX_TABLE_POSITIONS);
  static const char *const accounts[] = {"A", "A1", "AB", "B"};
  static const char *const instruments[] = {"cu2502", "rb2501", "rb25010"};
  uint8_t keys[12][QX_KEY_MAX];
  size_t lens[12];
  int k = 0;
  for (int a = 0; a < 4; a++)
    for (int i = 0; i < 3; i++, k++) { /* generated in tuple order */
      qx_position p;
      memset(&p, 0, sizeof p);
      snprintf(p.account_id, sizeof p.account_id, "%s", accounts[a]);
      snprintf(p.instrument_id, sizeof p.instrument_id, "%s", instruments[i]);
      p.long_volume = 100 - k; /* non-key fields must not matter */
      lens[k] = qx_key_encode(pos, &p, keys[k]);
      CHECK_EQ_U64(lens[k], 2 + QX_ACCOUNT_ID_LEN + QX_INSTRUMENT_ID_LEN);
      CHECK_EQ_U64(keys[k][1], QX_TABLE_POSITIONS);
    }
  for (int x = 0; x + 1 < 12; x++)
    CHECK(key_cmp(keys[x], lens[x], keys[x + 1], lens[x + 1]) < 0);

  /* Different tables never interleave: every orders key sorts before every trades key. */
  qx_order o;
  memset(&o, 0, sizeof o);
  o.order_id = UINT64_MAX;
  qx_trade t;
  memset(&t, 0, sizeof t);
  uint8_t ko[QX_KEY_MAX], kt[QX_KEY_MAX];
  size_t no = qx_key_encode(qx_schema_by_id(QX_TABLE_ORDERS), &o, ko);
  size_t nt = qx_key_encode(qx_schema_by_id(QX_TABLE_TRADES), &t, kt);
  CHECK(key_cmp(ko, no, kt, nt) < 0);

  /* klines: instrument, period, start time (a signed timestamp) */
  const qx_schema *kl = qx_schema_by_id(QX_TABLE_KLINES);
  qx_kline early, late;
  memset(&early, 0, sizeof early);
  strcpy(early.instrument_id, "rb2501");
  early.period_s = 60;
  late = early;
  early.ts = -5; /* before the epoch still sorts first */
  late.ts = 5;
  uint8_t ke[QX_KEY_MAX], kl2[QX_KEY_MAX];
  size_t ne = qx_key_encode(kl, &early, ke), nl = qx_key_encode(kl, &late, kl2);
  CHECK(key_cmp(ke, ne, kl2, nl) < 0);
  late.ts = early.ts;
  late.period_s = 300;
  nl = qx_key_encode(kl, &late, kl2);
  CHECK(key_cmp(ke, ne, kl2, nl) < 0);
}

static void test_format(void) {
  char buf[64];
  qx_format_decimal(38502500, 4, buf, sizeof buf);
  CHECK_STR(buf, "3850.2500");
  qx_format_decimal(-5, 4, buf, sizeof buf);
  CHECK_STR(buf, "-0.0005");
  qx_format_decimal(INT64_MIN, 4, buf, sizeof buf);
  CHECK_STR(buf, "-922337203685477.5808");
  qx_format_decimal(42, 0, buf, sizeof buf);
  CHECK_STR(buf, "42");
  qx_format_timestamp(0, buf, sizeof buf);
  CHECK_STR(buf, "1970-01-01T00:00:00.000000000Z");
  qx_format_timestamp(1795512600000000001ll, buf, sizeof buf);
  CHECK_STR(buf, "2026-11-24T09:30:00.000000001Z");
  qx_format_timestamp(-1, buf, sizeof buf);
  CHECK_STR(buf, "1969-12-31T23:59:59.999999999Z");

  const qx_schema *orders = qx_schema_by_id(QX_TABLE_ORDERS);
  qx_order o;
  memset(&o, 0, sizeof o);
  strcpy(o.account_id, "acct-7");
  memset(o.instrument_id, 'x', QX_INSTRUMENT_ID_LEN); /* full width, no terminating NUL */
  o.side = QX_SIDE_SELL;
  o.status = 9; /* not a defined value: shown, not trusted */
  qx_format_column(&orders->columns[qx_schema_column_index(orders, "account_id")], &o, buf,
                   sizeof buf);
  CHECK_STR(buf, "acct-7");
  qx_format_column(&orders->columns[qx_schema_column_index(orders, "instrument_id")], &o, buf,
                   sizeof buf);
  CHECK_STR(buf, "xxxxxxxxxxxxxxxx");
  qx_format_column(&orders->columns[qx_schema_column_index(orders, "side")], &o, buf, sizeof buf);
  CHECK_STR(buf, "sell");
  qx_format_column(&orders->columns[qx_schema_column_index(orders, "status")], &o, buf, sizeof buf);
  CHECK_STR(buf, "?9");
  /* Each decimal column in its own scale, negatives included. */
  const qx_schema *ins = qx_schema_by_id(QX_TABLE_INSTRUMENTS);
  qx_instrument spread = {.margin_ratio = -500000, .settlement_price = -5000};
  qx_format_column(&ins->columns[qx_schema_column_index(ins, "margin_ratio")], &spread, buf,
                   sizeof buf);
  CHECK_STR(buf, "-0.500000");
  qx_format_column(&ins->columns[qx_schema_column_index(ins, "settlement_price")], &spread, buf,
                   sizeof buf);
  CHECK_STR(buf, "-0.5000");
  char small[5];
  CHECK_EQ_U64(qx_format_decimal(123456789, 4, small, sizeof small), 4);
  CHECK_STR(small, "1234");
}

/* A key from text is the key of the record with those values; fewer values give its prefix. */
static void test_parse_key(void) {
  const qx_schema *pos = qx_schema_by_id(QX_TABLE_POSITIONS);
  qx_position p;
  memset(&p, 0, sizeof p);
  snprintf(p.account_id, sizeof p.account_id, "acct000001");
  snprintf(p.instrument_id, sizeof p.instrument_id, "rb2501");
  uint8_t want[QX_KEY_MAX], got[QX_KEY_MAX];
  size_t want_len = qx_key_encode(pos, &p, want), got_len = 0;
  const char *const values[] = {"acct000001", "rb2501"};
  CHECK_OK(qx_parse_key(pos, values, 2, got, &got_len));
  CHECK_EQ_U64(got_len, want_len);
  CHECK(memcmp(got, want, want_len) == 0);
  CHECK_OK(qx_parse_key(pos, values, 1, got, &got_len));
  CHECK_EQ_U64(got_len, 2 + QX_ACCOUNT_ID_LEN);
  CHECK(memcmp(got, want, got_len) == 0);
  const char *const bad[] = {"x"};
  CHECK(qx_parse_key(qx_schema_by_id(QX_TABLE_TRADES), bad, 1, got, &got_len) == QX_ERR_PARSE);
  CHECK(strstr(qx_last_error(), "trade_id") != NULL);
  CHECK(qx_parse_key(pos, values, 3, got, &got_len) == QX_ERR_INVALID_ARG);
}

int main(void) {
  test_descriptors();
  test_parse_key();
  test_integer_key_order();
  test_composite_key_order();
  test_format();
  return test_finish("test_record");
}
