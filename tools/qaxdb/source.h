/* Where get, scan, stats and sql read from: the data folder itself, opened read-only, or the
 * qaxdbd that holds it. A server locks the folder and names itself in the folder's SERVER file;
 * the CLI then asks it over the PostgreSQL protocol (libpq) with qaxdb's own commands (QAXDB
 * GET, SCAN, STATS: records and counters as stored) or the SQL itself, and prints exactly what
 * it prints from the folder. */
#ifndef QX_TOOLS_SOURCE_H
#define QX_TOOLS_SOURCE_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "cli.h"
#include "qaxdb/key.h"

typedef struct cli_source {
  qx_db *db;      /* the folder, or NULL */
  PGconn *server; /* the server holding it, or NULL */
} cli_source;

/* Opens data read-only (with_sql: for SQL), or connects to the server that holds it. Returns
 * CLI_EXIT_OK with one of them set, or prints why neither and returns CLI_EXIT_FAILURE. */
int cli_source_open(const char *cmd, const char *data, int with_sql, cli_source *src);
/* Closes it; CLI_EXIT_OK, or CLI_EXIT_FAILURE after saying why. */
int cli_source_close(const char *cmd, cli_source *src);

/* One record as stored: its bytes (8-aligned), size and the LSN of the write that made it. */
typedef struct cli_record {
  const void *data;
  size_t size;
  uint64_t lsn;
  qx_db_value held; /* from the folder */
  void *copy;       /* from the server */
} cli_record;

/* The current record of key: QX_OK, QX_ERR_NOT_FOUND, or the failure. */
int cli_source_get(const cli_source *src, const uint8_t *key, size_t key_len, cli_record *out);
void cli_record_release(cli_record *r);

/* Each record of table with a key in [from, to), in key order, to each; at most limit (all if
 * unlimited), *more set if another follows. QX_OK or the failure. */
typedef void (*cli_record_fn)(const cli_record *r, void *ctx);
typedef struct cli_key_range {
  uint8_t from[QX_KEY_MAX], to[QX_KEY_MAX];
  size_t from_len, to_len;
} cli_key_range;
int cli_source_scan(const cli_source *src, const qx_schema *table, const cli_key_range *range,
                    uint64_t limit, int unlimited, cli_record_fn each, void *ctx, int *more);

/* The engine's counters (those of the server's process when asked from a server). */
int cli_source_stats(const cli_source *src, qx_db_stats *out);

/* A snapshot of the folder at one LSN into dest (qx_db_snapshot), by the server when it holds
 * the folder (SNAPSHOT TO); *lsn its LSN. QX_OK or the failure. */
int cli_source_snapshot(const cli_source *src, const char *dest, uint64_t *lsn);

/* Runs query's statements on the server and prints each result in format as qaxdb sql does;
 * CLI_EXIT_OK, or CLI_EXIT_FAILURE after printing the server's error. */
int cli_server_sql(PGconn *server, const char *query, cli_format format);

#endif
