/* CRC32C with the SSE4.2 instruction, falling back to a byte-wise table (see crc32c.h).
 * The polynomial is the reflected Castagnoli polynomial 0x82F63B78, as in iSCSI and ext4. */
#include "util/crc32c.h"

#include <pthread.h>
#include <string.h>

#define CASTAGNOLI_REFLECTED 0x82F63B78u

static uint32_t table[256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT; /* built once, before any thread reads */

static void build_table(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++)
      c = (c >> 1) ^ ((c & 1) ? CASTAGNOLI_REFLECTED : 0);
    table[i] = c;
  }
}

uint32_t qx_crc32c_portable(uint32_t crc, const void *data, size_t n) {
  pthread_once(&table_once, build_table);
  const uint8_t *p = data;
  crc = ~crc;
  while (n--)
    crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return ~crc;
}

#if defined(__x86_64__)
#include <nmmintrin.h>

__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(uint32_t crc, const void *data,
                                                               size_t n) {
  const uint8_t *p = data;
  uint64_t c = ~crc;
  while (n >= 8) {
    uint64_t word;
    memcpy(&word, p, 8);
    c = _mm_crc32_u64(c, word);
    p += 8;
    n -= 8;
  }
  uint32_t c32 = (uint32_t)c;
  while (n--)
    c32 = _mm_crc32_u8(c32, *p++);
  return ~c32;
}

static int has_sse42;
static pthread_once_t cpu_once = PTHREAD_ONCE_INIT;

static void detect_cpu(void) {
  has_sse42 = __builtin_cpu_supports("sse4.2");
}

uint32_t qx_crc32c(uint32_t crc, const void *data, size_t n) {
  pthread_once(&cpu_once, detect_cpu);
  return has_sse42 ? crc32c_sse42(crc, data, n) : qx_crc32c_portable(crc, data, n);
}
#else
uint32_t qx_crc32c(uint32_t crc, const void *data, size_t n) {
  return qx_crc32c_portable(crc, data, n);
}
#endif
