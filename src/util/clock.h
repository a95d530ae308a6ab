/* Clocks: wall time for record timestamps, monotonic time for latencies and timeouts. */
#ifndef QX_UTIL_CLOCK_H
#define QX_UTIL_CLOCK_H

#include <stdint.h>

int64_t qx_wall_ns(void);      /* CLOCK_REALTIME, ns since the Unix epoch */
int64_t qx_monotonic_ns(void); /* CLOCK_MONOTONIC */

#endif
