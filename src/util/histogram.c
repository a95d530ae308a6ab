/* Log-linear latency histogram (see histogram.h). Values below 128 ns have a bucket each;
 * above that, each power of two [2^k, 2^(k+1)) is split into 64 equal buckets. */
#include "util/histogram.h"

#include <string.h>

static unsigned bucket_of(uint64_t v) {
  if (v < 128) return (unsigned)v;
  unsigned shift = (unsigned)(63 - __builtin_clzll(v)) - 6;
  return 64 * shift + (unsigned)(v >> shift);
}

static uint64_t bucket_floor(unsigned b) {
  if (b < 128) return b;
  unsigned shift = b / 64 - 1;
  return (uint64_t)(b - 64 * shift) << shift;
}

void qx_histogram_reset(histogram *h) {
  memset(h, 0, sizeof *h);
}

void qx_histogram_record(histogram *h, uint64_t value_ns) {
  h->counts[bucket_of(value_ns)]++;
  h->total++;
  h->sum += value_ns;
  if (value_ns > h->max) h->max = value_ns;
}

void qx_histogram_merge(histogram *into, const histogram *from) {
  for (unsigned b = 0; b < HISTOGRAM_BUCKETS; b++)
    into->counts[b] += from->counts[b];
  into->total += from->total;
  into->sum += from->sum;
  if (from->max > into->max) into->max = from->max;
}

double qx_histogram_quantile_us(const histogram *h, double q) {
  if (h->total == 0) return 0;
  uint64_t rank = (uint64_t)(q * (double)h->total);
  if (rank >= h->total) rank = h->total - 1;
  uint64_t seen = 0;
  for (unsigned b = 0; b < HISTOGRAM_BUCKETS; b++) {
    seen += h->counts[b];
    if (seen > rank) {
      uint64_t v = bucket_floor(b);
      return (double)(v < h->max ? v : h->max) / 1000.0;
    }
  }
  return (double)h->max / 1000.0;
}

double qx_histogram_max_us(const histogram *h) {
  return (double)h->max / 1000.0;
}

double qx_histogram_mean_us(const histogram *h) {
  return h->total ? (double)h->sum / (double)h->total / 1000.0 : 0;
}
