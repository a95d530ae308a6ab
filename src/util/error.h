/* Internal: recording the detail of a failure for qx_last_error().
 * qx_fail formats a message into the calling thread's buffer and returns the status it is
 * given, so a failing path reads `return qx_fail(QX_ERR_IO, "open %s: %s", path, strerror(e));`. */
#ifndef QX_UTIL_ERROR_H
#define QX_UTIL_ERROR_H

#include "qaxdb/status.h"

void qx_record_failure(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Same, appending ": <strerror(errno_value)>" to the message. */
void qx_record_failure_errno(int errno_value, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Macros rather than functions so that the compiler and static analysers see that the value
 * is exactly `status` (a failing path never returns QX_OK by accident). */
#define qx_fail(status, ...) (qx_record_failure(__VA_ARGS__), (status))
#define qx_fail_errno(status, errno_value, ...)                                                    \
  (qx_record_failure_errno((errno_value), __VA_ARGS__), (status))

void qx_clear_error(void);

#endif
