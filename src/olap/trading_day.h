/* The trading day of a timestamp: the session calendar of a Chinese futures exchange, where the
 * night session (from 21:00 Beijing time) belongs to the next trading day. Used to partition
 * Parquet files and exposed to SQL as trading_day(). */
#ifndef QX_OLAP_TRADING_DAY_H
#define QX_OLAP_TRADING_DAY_H

#include <stdint.h>

#include "qaxdb/schema.h"

#define QX_EXCHANGE_UTC_OFFSET_S (8LL * 3600) /* Beijing time, no daylight saving */
#define QX_NIGHT_SESSION_HOUR 18              /* from this local hour on, the next day trades */

/* Days since 1970-01-01 of the trading day that ts_ns (nanoseconds since the epoch, UTC)
 * belongs to: the local calendar day, moved to the next day from the evening on, and from a
 * Saturday or Sunday to the Monday after. Exchange holidays are not modelled. */
int32_t qx_trading_day(int64_t ts_ns);

/* The column whose time decides a record's trading day: when it last changed, for
 * latest-state tables, when it happened for events; -1 if the table has neither. */
int qx_time_column(const qx_schema *s);

/* The trading day of a record of s: by its time_column (from qx_time_column), or by
 * fallback_ns if that is -1. */
int32_t qx_record_trading_day(const qx_schema *s, int time_column, const void *record,
                              int64_t fallback_ns);

/* Writes day (days since the epoch) as YYYY-MM-DD into out (at least 16 bytes). */
void qx_format_day(int32_t day, char *out);
/* Parses YYYY-MM-DD (exactly) into days since the epoch; 0 if text is not such a date. */
int qx_parse_day(const char *text, int32_t *day);

#endif
