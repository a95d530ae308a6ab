/* Writing log lines (qaxdb/log.h) from inside the library. */
#ifndef QX_UTIL_LOG_H
#define QX_UTIL_LOG_H

#include "qaxdb/log.h"

/* Logs `msg="<msg>"` (quoted and escaped: free text, an error message, goes here) followed by
 * fields, printf-style logfmt `key=value ...` whose values need no quoting (numbers, names,
 * addresses); fields may be "". Does nothing below the level set. */
void qx_log(qx_log_level level, const char *msg, const char *fields, ...)
    __attribute__((format(printf, 3, 4)));

#endif
