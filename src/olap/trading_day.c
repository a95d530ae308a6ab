/* Trading-day arithmetic on days since the epoch (see trading_day.h). */
#include "olap/trading_day.h"

#include <stdio.h>
#include <string.h>

#define NS_PER_S 1000000000LL
#define S_PER_DAY 86400LL

static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* 0 = Monday ... 6 = Sunday; 1970-01-01 was a Thursday. */
static int weekday(int64_t day) {
  return (int)((day % 7 + 7 + 3) % 7);
}

int32_t qx_trading_day(int64_t ts_ns) {
  int64_t local_s = floor_div(ts_ns, NS_PER_S) + QX_EXCHANGE_UTC_OFFSET_S;
  int64_t day = floor_div(local_s, S_PER_DAY);
  int64_t hour = (local_s - day * S_PER_DAY) / 3600;
  if (hour >= QX_NIGHT_SESSION_HOUR) day++;
  int wd = weekday(day);
  if (wd >= 5) day += 7 - wd;
  return (int32_t)day;
}

/* Civil date from days since the epoch (Howard Hinnant's algorithm). */
void qx_format_day(int32_t day, char *out) {
  int64_t z = (int64_t)day + 719468;
  int64_t era = floor_div(z, 146097);
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  int64_t y = yoe + era * 400 + (m <= 2);
  snprintf(out, 16, "%04d-%02u-%02u", (int)y, (unsigned)m % 100u, (unsigned)d % 100u);
}

int qx_parse_day(const char *text, int32_t *day) {
  int y, m, d, end = 0;
  if (sscanf(text, "%4d-%2d-%2d%n", &y, &m, &d, &end) != 3 || end != 10 || text[end] != 0 ||
      m < 1 || m > 12 || d < 1 || d > 31)
    return 0;
  /* days from the civil date, the inverse of qx_format_day */
  int64_t yy = m <= 2 ? y - 1 : y;
  int64_t era = floor_div(yy, 400);
  int64_t yoe = yy - era * 400;
  int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  *day = (int32_t)(era * 146097 + doe - 719468);
  char again[16];
  qx_format_day(*day, again);
  return strcmp(again, text) == 0; /* rejects 2026-02-30 */
}

int qx_time_column(const qx_schema *s) {
  int c = qx_schema_column_index(s, "update_ts");
  return c >= 0 ? c : qx_schema_column_index(s, "ts");
}

int32_t qx_record_trading_day(const qx_schema *s, int time_column, const void *record,
                              int64_t fallback_ns) {
  int64_t ts = fallback_ns;
  if (time_column >= 0)
    memcpy(&ts, (const uint8_t *)record + s->columns[time_column].offset, sizeof ts);
  return qx_trading_day(ts);
}
