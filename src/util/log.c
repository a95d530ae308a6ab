/* Log lines in logfmt to the sink the application chose (qaxdb/log.h, util/log.h). */
#include "util/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define LINE_MAX_BYTES 2048

static pthread_mutex_t sink_mu = PTHREAD_MUTEX_INITIALIZER;
static qx_log_level min_level = QX_LOG_OFF;
static qx_log_sink sink_fn;
static void *sink_ctx;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

void qx_log_set(qx_log_level min, qx_log_sink sink, void *ctx) {
  pthread_mutex_lock(&sink_mu);
  min_level = sink ? min : QX_LOG_OFF;
  sink_fn = sink;
  sink_ctx = ctx;
  pthread_mutex_unlock(&sink_mu);
}

void qx_log_to_stderr(void *ctx, qx_log_level level, const char *line) {
  (void)ctx;
  (void)level;
  fprintf(stderr, "%s\n", line);
}

int qx_log_level_by_name(const char *name, qx_log_level *out) {
  for (size_t i = 0; i < sizeof level_names / sizeof *level_names; i++)
    if (strcmp(name, level_names[i]) == 0) {
      *out = (qx_log_level)i;
      return 1;
    }
  return 0;
}

const char *qx_log_level_name(qx_log_level level) {
  return level >= QX_LOG_DEBUG && level <= QX_LOG_OFF ? level_names[level] : "?";
}

/* Appends text quoted, with quotes, backslashes and line breaks escaped; at most room - 1. */
static size_t put_quoted(char *out, size_t room, const char *text) {
  size_t n = 0;
  if (room < 3) return 0;
  out[n++] = '"';
  for (; *text && n + 3 < room; text++) {
    char c = *text;
    if (c == '"' || c == '\\') out[n++] = '\\';
    if (c == '\n' || c == '\r') c = ' ';
    out[n++] = c;
  }
  out[n++] = '"';
  out[n] = '\0';
  return n;
}

void qx_log(qx_log_level level, const char *msg, const char *fields, ...) {
  pthread_mutex_lock(&sink_mu);
  if (level < min_level || !sink_fn) {
    pthread_mutex_unlock(&sink_mu);
    return;
  }
  char line[LINE_MAX_BYTES];
  struct timespec now;
  struct tm utc;
  clock_gettime(CLOCK_REALTIME, &now);
  gmtime_r(&now.tv_sec, &utc);
  size_t n = strftime(line, sizeof line, "ts=%Y-%m-%dT%H:%M:%S", &utc);
  n += (size_t)snprintf(line + n, sizeof line - n, ".%06ldZ level=%s msg=", now.tv_nsec / 1000,
                        level_names[level]);
  n += put_quoted(line + n, sizeof line - n, msg);
  if (fields && *fields && n + 1 < sizeof line) {
    line[n++] = ' ';
    va_list ap;
    va_start(ap, fields);
    vsnprintf(line + n, sizeof line - n, fields, ap);
    va_end(ap);
  }
  sink_fn(sink_ctx, level, line);
  pthread_mutex_unlock(&sink_mu);
}
