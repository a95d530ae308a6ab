/* Log lines from the library's long-running parts (the server, its snapshots), for the
 * application to route. Silent until qx_log_set is called; qaxdbd sends them to stderr.
 *
 * A line is logfmt: `ts=2026-11-30T21:30:00.123456Z level=info msg="..." key=value ...`, one
 * event per line, so that journald, Loki or grep take it as it is.
 *
 * Thread safety: qx_log_set may be called at any time; a sink is called from any thread, one
 * line at a time. */
#ifndef QAXDB_LOG_H
#define QAXDB_LOG_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum qx_log_level {
  QX_LOG_DEBUG,
  QX_LOG_INFO,
  QX_LOG_WARN,
  QX_LOG_ERROR,
  QX_LOG_OFF,
} qx_log_level;

/* Receives one whole line, without its newline. */
typedef void (*qx_log_sink)(void *ctx, qx_log_level level, const char *line);

/* Lines at level min or above go to sink (NULL: none). */
void qx_log_set(qx_log_level min, qx_log_sink sink, void *ctx);

/* A sink that writes each line to stderr. */
void qx_log_to_stderr(void *ctx, qx_log_level level, const char *line);

/* The level called name ("debug", "info", "warn", "error", "off"); 0 if there is none. */
int qx_log_level_by_name(const char *name, qx_log_level *out);
const char *qx_log_level_name(qx_log_level level);

#ifdef __cplusplus
}
#endif
#endif
