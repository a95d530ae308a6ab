/* CRC32C: the published check value, agreement of the hardware and table implementations on
 * every length and alignment, incremental extension equal to one pass, and threads that use
 * it first at the same time (run under ThreadSanitizer: the table is built exactly once). */
#include <pthread.h>
#include <stdint.h>

#include "check.h"
#include "util/crc32c.h"

static void test_known_vectors(void) {
  CHECK_EQ_U64(qx_crc32c(0, "123456789", 9), 0xE3069283u);
  CHECK_EQ_U64(qx_crc32c_portable(0, "123456789", 9), 0xE3069283u);
  CHECK_EQ_U64(qx_crc32c(0, "", 0), 0);
  uint8_t zeros[32] = {0};
  CHECK_EQ_U64(qx_crc32c(0, zeros, sizeof zeros), 0x8A9136AAu); /* RFC 3720 B.4 */
  uint8_t ones[32];
  memset(ones, 0xff, sizeof ones);
  CHECK_EQ_U64(qx_crc32c(0, ones, sizeof ones), 0x62A8AB43u);
}

static void test_fast_matches_portable(void) {
  uint8_t buf[1024 + 16];
  uint64_t x = 88172645463325252ull;
  for (size_t i = 0; i < sizeof buf; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    buf[i] = (uint8_t)x;
  }
  for (size_t align = 0; align < 8; align++)
    for (size_t n = 0; n <= 1024; n += (n < 64 ? 1 : 37))
      CHECK_EQ_U64(qx_crc32c(0, buf + align, n), qx_crc32c_portable(0, buf + align, n));
}

static void test_incremental(void) {
  const char *text = "the quick brown fox jumps over the lazy dog";
  size_t n = strlen(text);
  uint32_t whole = qx_crc32c(0, text, n);
  for (size_t cut = 0; cut <= n; cut++)
    CHECK_EQ_U64(qx_crc32c(qx_crc32c(0, text, cut), text + cut, n - cut), whole);
}

static void *first_use(void *arg) {
  (void)arg;
  CHECK_EQ_U64(qx_crc32c_portable(0, "123456789", 9), 0xE3069283u);
  CHECK_EQ_U64(qx_crc32c(0, "123456789", 9), 0xE3069283u);
  return NULL;
}

/* Runs before anything else in the program has computed a CRC. */
static void test_first_use_from_threads(void) {
  pthread_t t[4];
  for (int i = 0; i < 4; i++)
    pthread_create(&t[i], NULL, first_use, NULL);
  for (int i = 0; i < 4; i++)
    pthread_join(t[i], NULL);
}

int main(void) {
  test_first_use_from_threads();
  test_known_vectors();
  test_fast_matches_portable();
  test_incremental();
  return test_finish("test_crc32c");
}
