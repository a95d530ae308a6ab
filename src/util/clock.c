/* Clock readings in nanoseconds (see clock.h). */
#include "util/clock.h"

#include <time.h>

static int64_t read_clock(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t qx_wall_ns(void) {
  return read_clock(CLOCK_REALTIME);
}

int64_t qx_monotonic_ns(void) {
  return read_clock(CLOCK_MONOTONIC);
}
