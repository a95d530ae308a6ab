/* Status code names and the per-thread detail of the last failure (see qaxdb/status.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/error.h"

static _Thread_local char last_error[512];

const char *qx_strerror(int status) {
  switch (status) {
  case QX_OK:
    return "ok";
  case QX_ERR_INVALID_ARG:
    return "invalid argument";
  case QX_ERR_IO:
    return "I/O error";
  case QX_ERR_CORRUPT:
    return "corruption detected";
  case QX_ERR_NOMEM:
    return "out of memory";
  case QX_ERR_LOCKED:
    return "data directory is locked by another process";
  case QX_ERR_NOT_FOUND:
    return "not found";
  case QX_ERR_FORMAT:
    return "not a qaxdb file or unsupported format version";
  case QX_ERR_TIMEOUT:
    return "timed out";
  case QX_ERR_CLOSED:
    return "handle is closed or failed";
  case QX_ERR_PARSE:
    return "malformed input";
  case QX_ERR_TOO_LARGE:
    return "too large";
  case QX_ERR_SQL:
    return "SQL error";
  case QX_ERR_DENIED:
    return "not permitted";
  case QX_ERR_LAPPED:
    return "record overwritten while held";
  case QX_ERR_EXISTS:
    return "already exists or changed";
  default:
    return "unknown status";
  }
}

const char *qx_last_error(void) {
  return last_error;
}

void qx_clear_error(void) {
  last_error[0] = '\0';
}

void qx_record_failure(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_error, sizeof last_error, fmt, ap);
  va_end(ap);
}

void qx_record_failure_errno(int errno_value, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(last_error, sizeof last_error, fmt, ap);
  va_end(ap);
  if (n >= 0 && (size_t)n < sizeof last_error)
    snprintf(last_error + n, sizeof last_error - (size_t)n, ": %s", strerror(errno_value));
}
