/* A latency histogram (benchmarks, qaxdb simulate): log-linear buckets with 64 steps per power of
 * two (about 1.6% precision) over the whole uint64 range, constant memory, mergeable across
 * threads. Values are nanoseconds; percentiles are reported in microseconds. */
#ifndef QX_UTIL_HISTOGRAM_H
#define QX_UTIL_HISTOGRAM_H

#include <stdint.h>

#define HISTOGRAM_BUCKETS (64 * 59)

typedef struct histogram {
  uint64_t counts[HISTOGRAM_BUCKETS];
  uint64_t total;
  uint64_t max;
  uint64_t sum; /* of every value, ns */
} histogram;

void qx_histogram_reset(histogram *h);
void qx_histogram_record(histogram *h, uint64_t value_ns);
void qx_histogram_merge(histogram *into, const histogram *from);
/* The value below which a fraction q (0..1) of the recorded values lie, in microseconds. */
double qx_histogram_quantile_us(const histogram *h, double q);
double qx_histogram_max_us(const histogram *h);
double qx_histogram_mean_us(const histogram *h); /* 0 if empty */

#endif
