/* Bloom filters over user keys, one per table file: bits_per_key bits per distinct key and
 * k = bits_per_key * ln 2 probes by double hashing of a 64-bit XXH3 hash. With 10 bits per
 * key that is 7 probes and about 0.8% false positives. Serialised as the bit array followed
 * by one byte holding k. */
#ifndef QX_SSTABLE_BLOOM_H
#define QX_SSTABLE_BLOOM_H

#include <stddef.h>
#include <stdint.h>

uint64_t qx_bloom_hash(const uint8_t *key, size_t len);

/* Bytes of a filter for n keys. */
size_t qx_bloom_size(size_t n, int bits_per_key);
/* Writes the filter of hashes[0..n) into out (qx_bloom_size bytes). */
void qx_bloom_build(const uint64_t *hashes, size_t n, int bits_per_key, uint8_t *out);
/* 0 if the key is certainly absent, 1 if it may be present. */
int qx_bloom_may_contain(const uint8_t *filter, size_t size, uint64_t hash);

#endif
