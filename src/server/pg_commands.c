/* qaxdb's own commands on the wire, for the qaxdb CLI when a server holds the folder: the
 * engine's records and counters as they are stored (hex), so that `qaxdb get`, `scan` and
 * `stats` print from a server exactly what they print from the folder (docs/server.md):
 *   QAXDB GET <key hex>                        -> lsn, record: the current record of a key
 *   QAXDB SCAN <table id> <from hex> <to hex> <limit>
 *                                              -> lsn, record: a table's records in [from, to)
 *   QAXDB STATS                                -> version, size, stats: qx_db_stats
 * and a replica's, which turn the connection into a replication stream (src/repl):
 *   QAXDB REPLICATE <node> <next lsn> <epoch> <epoch's first lsn>
 *   QAXDB BASEBACKUP
 * and an operator's:
 *   QAXDB REPLICATION -> node, role, epoch, primary, last/received/flushed/applied LSN, lag:
 *                        this node, then each replica it serves
 *   QAXDB PROMOTE     -> makes this replica the primary (clusters without etcd)
 *   QAXDB CHECKSUM <from lsn> <to lsn> -> crc32c, entries: of the log over that range */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "qaxdb/schema.h"
#include "repl/repl_impl.h"
#include "server/pg_session.h"
#include "util/error.h"
#include "util/hex.h"

#define WORDS_MAX 6

int qx_pg_is_command(const char *text) {
  text += strspn(text, " \t\r\n");
  return strncasecmp(text, "qaxdb ", 6) == 0;
}

/* Splits text into at most WORDS_MAX words in words (a copy in buf); their count. */
static int split_words(const char *text, char *buf, size_t cap, char *words[WORDS_MAX]) {
  snprintf(buf, cap, "%s", text);
  int n = 0;
  for (char *save = NULL, *w = strtok_r(buf, " \t\r\n;", &save); w;
       w = strtok_r(NULL, " \t\r\n;", &save)) {
    if (n == WORDS_MAX) return WORDS_MAX + 1;
    words[n++] = w;
  }
  return n;
}

static void send_record(session *s, uint64_t lsn, const void *record, size_t len) {
  char lsn_text[24], *hex = malloc(2 * len + 1);
  if (!hex) {
    s->conn.failed = 1;
    return;
  }
  snprintf(lsn_text, sizeof lsn_text, "%" PRIu64, lsn);
  qx_hex_encode(record, len, hex);
  const char *cells[2] = {lsn_text, hex};
  qx_pg_send_text_row(s, cells, 2);
  free(hex);
}

static const char *const record_columns[2] = {"lsn", "record"};

static int run_get(session *s, char **words, int n) {
  uint8_t key[QX_DB_MAX_KEY];
  long key_len = n == 3 ? qx_hex_decode(words[2], key, sizeof key) : -1;
  if (key_len <= 0) return qx_fail(QX_ERR_PARSE, "usage: QAXDB GET <key as hex>");
  qx_db_value v;
  int rc = qx_db_get(s->srv->db, NULL, key, (size_t)key_len, &v);
  if (rc != QX_OK && rc != QX_ERR_NOT_FOUND) return rc;
  qx_pg_send_text_columns(s, record_columns, 2);
  if (rc == QX_OK) {
    send_record(s, v.lsn, v.data, v.size);
    qx_db_value_release(&v);
  }
  qx_pg_send_complete(s, rc == QX_OK ? "SELECT 1" : "SELECT 0");
  return QX_OK;
}

/* Records of table only: a raw put between its keys is not one. */
static int is_record_of(const qx_schema *table, size_t len) {
  return len <= UINT32_MAX && qx_schema_version_of_size(table, (uint32_t)len);
}

static int scan_rows(session *s, qx_db_iter *it, const qx_schema *table, uint64_t limit) {
  uint64_t sent = 0;
  for (; qx_db_iter_valid(it) && sent < limit && !s->conn.failed; qx_db_iter_next(it)) {
    size_t len;
    const void *record = qx_db_iter_value(it, &len);
    if (!is_record_of(table, len)) continue;
    send_record(s, qx_db_iter_lsn(it), record, len);
    sent++;
  }
  int rc = qx_db_iter_status(it);
  char tag[32];
  snprintf(tag, sizeof tag, "SELECT %" PRIu64, sent);
  if (rc == QX_OK) qx_pg_send_complete(s, tag);
  return rc;
}

static int parse_u64(const char *text, uint64_t *out) {
  char *end;
  errno = 0;
  *out = strtoull(text, &end, 10);
  return *text && !*end && errno == 0 && text[0] != '-';
}

static int run_scan(session *s, char **words, int n) {
  uint8_t from[QX_DB_MAX_KEY], to[QX_DB_MAX_KEY];
  char *end = NULL;
  long id = n == 6 ? strtol(words[2], &end, 10) : 0;
  const qx_schema *table = end && !*end ? qx_schema_by_id((int)id) : NULL;
  long from_len = n == 6 ? qx_hex_decode(words[3], from, sizeof from) : -1;
  long to_len = n == 6 ? qx_hex_decode(words[4], to, sizeof to) : -1;
  uint64_t limit = 0;
  if (!table || from_len < 0 || to_len < 0 || !parse_u64(words[5], &limit))
    return qx_fail(QX_ERR_PARSE,
                   "usage: QAXDB SCAN <table id> <from key as hex> <to key as hex> <limit>");
  qx_db_iter *it;
  int rc = qx_db_iter_create(s->srv->db, NULL, from, (size_t)from_len, to, (size_t)to_len, &it);
  if (rc != QX_OK) return rc;
  qx_pg_send_text_columns(s, record_columns, 2);
  rc = scan_rows(s, it, table, limit);
  qx_db_iter_destroy(it);
  return rc;
}

/* The counters as the struct's bytes, with the version that lays them out: the CLI reads them
 * only if it has the same. */
static int run_stats(session *s) {
  qx_db_stats stats;
  int rc = qx_db_stats_get(s->srv->db, &stats);
  if (rc != QX_OK) return rc;
  static const char *const names[3] = {"version", "size", "stats"};
  char size[24], hex[2 * sizeof stats + 1];
  snprintf(size, sizeof size, "%zu", sizeof stats);
  qx_hex_encode(&stats, sizeof stats, hex);
  const char *cells[3] = {QAXDB_VERSION, size, hex};
  qx_pg_send_text_columns(s, names, 3);
  qx_pg_send_text_row(s, cells, 3);
  qx_pg_send_complete(s, "SELECT 1");
  return QX_OK;
}

static int run_replicate(session *s, char **words, int n) {
  uint64_t next, epoch, first;
  if (n != 6 || !parse_u64(words[3], &next) || !parse_u64(words[4], &epoch) ||
      !parse_u64(words[5], &first) || next == 0)
    return qx_fail(QX_ERR_PARSE,
                   "usage: QAXDB REPLICATE <node> <next lsn> <epoch> <epoch's first lsn>");
  if (!s->srv->opt.repl) return qx_fail(QX_ERR_DENIED, "this server does not replicate");
  qx_repl_serve(s->srv->opt.repl, &s->conn, words[2], next, epoch, first);
  return QX_OK;
}

static int run_basebackup(session *s) {
  if (!s->srv->opt.repl) return qx_fail(QX_ERR_DENIED, "this server does not replicate");
  qx_repl_serve_basebackup(s->srv->opt.repl, &s->conn);
  return QX_OK;
}

static void lsn_cell(char *out, uint64_t lsn) {
  snprintf(out, 24, "%" PRIu64, lsn);
}

static void send_node_row(session *s, const qx_repl_status *st) {
  char epoch[24], last[24], received[24], flushed[24], applied[24], lag[24];
  lsn_cell(epoch, st->epoch);
  lsn_cell(last, st->last_lsn);
  lsn_cell(received, st->received_lsn);
  lsn_cell(flushed, st->flushed_lsn);
  lsn_cell(applied, st->applied_lsn);
  lsn_cell(lag, st->lag_lsns);
  int replica = st->role != QX_REPL_PRIMARY;
  const char *cells[9] = {st->node,
                          qx_repl_role_name(st->role),
                          epoch,
                          st->primary,
                          last,
                          replica ? received : NULL,
                          replica ? flushed : NULL,
                          replica ? applied : NULL,
                          replica ? lag : NULL};
  qx_pg_send_text_row(s, cells, 9);
}

static void send_peer_row(session *s, const qx_repl_status *st, const qx_repl_peer *p) {
  char last[24], received[24], flushed[24], applied[24], lag[24];
  lsn_cell(last, p->sent_lsn);
  lsn_cell(received, p->received_lsn);
  lsn_cell(flushed, p->flushed_lsn);
  lsn_cell(applied, p->applied_lsn);
  lsn_cell(lag, p->lag_lsns);
  const char *cells[9] = {p->name, p->connected ? "replica" : "replica (gone)",
                          NULL,    st->node,
                          last,    received,
                          flushed, applied,
                          lag};
  qx_pg_send_text_row(s, cells, 9);
}

/* No rows from a server started without replication (an application's own). */
static int run_replication(session *s) {
  static const char *const names[9] = {"node",        "role",        "epoch",
                                       "primary",     "last_lsn",    "received_lsn",
                                       "flushed_lsn", "applied_lsn", "lag_lsns"};
  qx_pg_send_text_columns(s, names, 9);
  if (!s->srv->opt.repl) {
    qx_pg_send_complete(s, "SELECT 0");
    return QX_OK;
  }
  qx_repl_status st;
  qx_repl_status_get(s->srv->opt.repl, &st);
  send_node_row(s, &st);
  for (uint32_t i = 0; i < st.peer_count; i++)
    send_peer_row(s, &st, &st.peers[i]);
  char tag[32];
  snprintf(tag, sizeof tag, "SELECT %u", 1 + st.peer_count);
  qx_pg_send_complete(s, tag);
  return QX_OK;
}

static int run_promote(session *s) {
  if (!s->srv->opt.repl) return qx_fail(QX_ERR_DENIED, "this server does not replicate");
  int rc = qx_repl_promote(s->srv->opt.repl);
  if (rc == QX_OK) qx_pg_send_complete(s, "PROMOTE");
  return rc;
}

static int run_checksum(session *s, char **words, int n) {
  uint64_t from, to, count;
  uint32_t crc;
  if (n != 4 || !parse_u64(words[2], &from) || !parse_u64(words[3], &to))
    return qx_fail(QX_ERR_PARSE, "usage: QAXDB CHECKSUM <from lsn> <to lsn>");
  int rc = qx_repl_log_checksum(s->srv->db, from, to, &crc, &count);
  if (rc != QX_OK) return rc;
  static const char *const names[2] = {"crc32c", "entries"};
  char crc_text[16], count_text[24];
  snprintf(crc_text, sizeof crc_text, "%08" PRIx32, crc);
  snprintf(count_text, sizeof count_text, "%" PRIu64, count);
  const char *cells[2] = {crc_text, count_text};
  qx_pg_send_text_columns(s, names, 2);
  qx_pg_send_text_row(s, cells, 2);
  qx_pg_send_complete(s, "SELECT 1");
  return QX_OK;
}

/* The command words[1] names, or an error. */
static int run_words(session *s, char **words, int n) {
  if (n >= 2 && strcasecmp(words[1], "get") == 0) return run_get(s, words, n);
  if (n >= 2 && strcasecmp(words[1], "scan") == 0) return run_scan(s, words, n);
  if (n == 2 && strcasecmp(words[1], "stats") == 0) return run_stats(s);
  if (n >= 2 && strcasecmp(words[1], "replicate") == 0) return run_replicate(s, words, n);
  if (n == 2 && strcasecmp(words[1], "basebackup") == 0) return run_basebackup(s);
  if (n == 2 && strcasecmp(words[1], "replication") == 0) return run_replication(s);
  if (n == 2 && strcasecmp(words[1], "promote") == 0) return run_promote(s);
  if (n >= 2 && strcasecmp(words[1], "checksum") == 0) return run_checksum(s, words, n);
  return qx_fail(QX_ERR_PARSE, "unknown qaxdb command: QAXDB GET, SCAN, STATS, REPLICATION, "
                               "PROMOTE, CHECKSUM, REPLICATE and BASEBACKUP exist");
}

void qx_pg_run_command(session *s, const char *text) {
  char buf[2 * QX_DB_MAX_KEY * 2 + 128], *words[WORDS_MAX];
  int rc = run_words(s, words, split_words(text, buf, sizeof buf, words));
  if (rc != QX_OK)
    qx_pg_send_error(&s->conn, "ERROR",
                     rc == QX_ERR_PARSE         ? "42601"
                     : rc == QX_ERR_DENIED      ? "42501"
                     : rc == QX_ERR_INVALID_ARG ? "55000" /* object_not_in_prerequisite_state */
                                                : "58030",
                     qx_last_error());
}
