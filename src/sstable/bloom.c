/* Bloom filter construction and probing (see bloom.h). */
#include "sstable/bloom.h"

#include <string.h>
#include <xxhash.h>

uint64_t qx_bloom_hash(const uint8_t *key, size_t len) {
  return XXH3_64bits(key, len);
}

static int probes(int bits_per_key) {
  int k = (int)(bits_per_key * 0.69);
  return k < 1 ? 1 : k > 30 ? 30 : k;
}

size_t qx_bloom_size(size_t n, int bits_per_key) {
  size_t bits = n * (size_t)bits_per_key;
  if (bits < 64) bits = 64;
  return (bits + 7) / 8 + 1;
}

void qx_bloom_build(const uint64_t *hashes, size_t n, int bits_per_key, uint8_t *out) {
  size_t size = qx_bloom_size(n, bits_per_key), bits = (size - 1) * 8;
  int k = probes(bits_per_key);
  memset(out, 0, size);
  out[size - 1] = (uint8_t)k;
  for (size_t i = 0; i < n; i++) {
    uint64_t h = hashes[i], delta = (h >> 33) | (h << 31);
    for (int j = 0; j < k; j++, h += delta)
      out[(h % bits) / 8] |= (uint8_t)(1u << ((h % bits) % 8));
  }
}

int qx_bloom_may_contain(const uint8_t *filter, size_t size, uint64_t hash) {
  if (size < 2) return 1;
  size_t bits = (size - 1) * 8;
  int k = filter[size - 1];
  uint64_t h = hash, delta = (h >> 33) | (h << 31);
  for (int j = 0; j < k; j++, h += delta)
    if (!(filter[(h % bits) / 8] & (1u << ((h % bits) % 8)))) return 0;
  return 1;
}
