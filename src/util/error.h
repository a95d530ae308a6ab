/* Internal: recording the detail of a failure for qx_last_error().
 * qx_fail formats a message into the calling thread's buffer and returns the status it is
 * given, so a failing path reads `return qx_fail(QX_ERR_IO, "open %s: %s", path, strerror(e));`. */
#ifndef QX_UTIL_ERROR_H
#define QX_UTIL_ERROR_H

#include "qaxdb/status.h"

int qx_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Same, appending ": <strerror(errno_value)>" to the message. */
int qx_fail_errno(int status, int errno_value, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void qx_clear_error(void);

#endif
