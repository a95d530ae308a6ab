/* The server's /metrics in the Prometheus text format (version 0.0.4): the engine's figures
 * (LSNs, levels against their targets, stalls and waits, memory), subscriber cursors' lag,
 * replication (role, epoch, replicas' lag), and the server's own statement counts and latency
 * histograms. */
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "qaxdb/sub.h"
#include "server/server_impl.h"
#include "util/clock.h"
#include "web/web.h"

/* Upper bounds of the latency buckets, in seconds (Prometheus's "le"). */
static const double bucket_seconds[QX_LATENCY_BUCKETS] = {0.0005, 0.001, 0.005, 0.01,
                                                          0.05,   0.1,   1,     10};

void qx_latency_record(qx_latency *l, int64_t ns, int ok) {
  l->count++;
  l->failed += !ok;
  l->sum_ns += (uint64_t)ns;
  for (int i = 0; i < QX_LATENCY_BUCKETS; i++)
    if ((double)ns / 1e9 <= bucket_seconds[i]) l->buckets[i]++;
}

void qx_metric(qx_buffer *b, const char *name, const char *type, const char *help, double value) {
  qx_buffer_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name,
                   value);
}

/* A Prometheus histogram: n buckets of cumulative counts under le[i] seconds, then all count
 * values summing to sum_ns. */
static void put_histogram(qx_buffer *b, const char *name, const char *help, const double *le,
                          const uint64_t *counts, int n, uint64_t count, uint64_t sum_ns) {
  qx_buffer_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
  for (int i = 0; i < n; i++)
    qx_buffer_printf(b, "%s_bucket{le=\"%g\"} %" PRIu64 "\n", name, le[i], counts[i]);
  qx_buffer_printf(b, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, count);
  qx_buffer_printf(b, "%s_sum %.9f\n%s_count %" PRIu64 "\n", name, (double)sum_ns / 1e9, name,
                   count);
}

static void histogram(qx_buffer *b, const char *name, const char *help, const qx_latency *l) {
  put_histogram(b, name, help, bucket_seconds, l->buckets, QX_LATENCY_BUCKETS, l->count, l->sum_ns);
}

static void engine_metrics(qx_buffer *b, const qx_db_stats *s) {
  qx_metric(b, "qaxdb_last_lsn", "gauge", "Newest LSN committed and visible to readers.",
            (double)s->last_lsn);
  qx_metric(b, "qaxdb_written_lsn", "gauge", "Newest LSN in the WAL files.",
            (double)s->written_lsn);
  qx_metric(b, "qaxdb_durable_lsn", "gauge", "Newest LSN synced to disk.", (double)s->durable_lsn);
  qx_metric(b, "qaxdb_converted_lsn", "gauge",
            "Newest LSN that SQL sees (converted for analytics).", (double)s->olap_converted_lsn);
  qx_metric(b, "qaxdb_parquet_lsn", "gauge", "Newest LSN in Parquet files.", (double)s->olap_lsn);
  qx_buffer_printf(b, "# HELP qaxdb_level_bytes Bytes of table files per LSM level.\n"
                      "# TYPE qaxdb_level_bytes gauge\n");
  for (int l = 0; l < QX_DB_LEVELS; l++)
    qx_buffer_printf(b, "qaxdb_level_bytes{level=\"%d\"} %" PRIu64 "\n", l, s->levels[l].bytes);
  qx_buffer_printf(
      b, "# HELP qaxdb_level_target_bytes Size a level is compacted down to (0: level 0, by "
         "file count).\n# TYPE qaxdb_level_target_bytes gauge\n");
  for (int l = 0; l < QX_DB_LEVELS; l++)
    qx_buffer_printf(b, "qaxdb_level_target_bytes{level=\"%d\"} %" PRIu64 "\n", l,
                     s->levels[l].target_bytes);
  qx_metric(b, "qaxdb_level0_files", "gauge",
            "Table files in level 0 (writes slow at 8, stop at 12).", (double)s->levels[0].files);
  qx_metric(b, "qaxdb_stalls_total", "counter", "Writes delayed or stopped by compaction debt.",
            (double)s->stall_count);
  qx_metric(b, "qaxdb_stall_seconds_total", "counter", "Time writers spent delayed or stopped.",
            (double)s->stall_ns / 1e9);
  qx_metric(b, "qaxdb_ring_waits_total", "counter",
            "Writes that waited for the WAL flusher (a whole log ring behind), this process.",
            (double)s->ring_waits);
  qx_metric(b, "qaxdb_group_waits_total", "counter",
            "Writes that waited for a sync others waited for, this process.",
            (double)s->group_waits);
  qx_metric(b, "qaxdb_write_amplification", "gauge",
            "(WAL + flush + compaction bytes) / user bytes.", s->write_amplification);
  qx_metric(b, "qaxdb_memtable_bytes", "gauge", "Bytes in MemTables.", (double)s->memtable_bytes);
  qx_metric(b, "qaxdb_block_cache_bytes", "gauge", "Bytes in the block cache.",
            (double)s->cache_bytes);
  qx_metric(b, "qaxdb_analytics_buffered_bytes", "gauge", "Column buffers not yet in Parquet.",
            (double)s->olap_buffered_bytes);
}

typedef struct cursor_lag {
  qx_buffer *b;
  uint64_t last_lsn;
} cursor_lag;

static int put_cursor_lag(const qx_sub_cursor_info *info, void *ctx) {
  cursor_lag *c = ctx;
  uint64_t lag = c->last_lsn > info->acked_lsn ? c->last_lsn - info->acked_lsn : 0;
  qx_buffer_printf(c->b, "qaxdb_subscriber_lag_records{cursor=\"%s\"} %" PRIu64 "\n", info->name,
                   lag);
  return 0;
}

/* The node's role and epoch, a replica's position, and each replica's lag behind a primary. */
static void replication_metrics(qx_buffer *b, qx_repl *repl) {
  qx_repl_status st;
  qx_repl_status_get(repl, &st);
  qx_metric(b, "qaxdb_repl_primary", "gauge", "1 if this node is the primary and takes writes.",
            st.role == QX_REPL_PRIMARY);
  qx_metric(b, "qaxdb_repl_epoch", "gauge", "The epoch this node is in (one per promotion).",
            (double)st.epoch);
  if (st.role != QX_REPL_PRIMARY) {
    qx_metric(b, "qaxdb_repl_streaming", "gauge", "1 while this replica streams from its primary.",
              st.streaming);
    qx_metric(b, "qaxdb_repl_applied_lsn", "gauge", "Newest LSN of the primary applied here.",
              (double)st.applied_lsn);
    qx_metric(b, "qaxdb_repl_flushed_lsn", "gauge", "Newest LSN of the primary synced here.",
              (double)st.flushed_lsn);
    qx_metric(b, "qaxdb_repl_lag_records", "gauge",
              "LSNs the primary last said it had beyond what was applied here.",
              (double)st.lag_lsns);
    qx_metric(b, "qaxdb_repl_needs_rebuild", "gauge",
              "1 if this replica cannot follow from its own log (diverged, or too far behind).",
              st.needs_rebuild);
  }
  qx_buffer_printf(b, "# HELP qaxdb_repl_replica_lag_records LSNs a replica has not applied.\n"
                      "# TYPE qaxdb_repl_replica_lag_records gauge\n");
  for (uint32_t i = 0; i < st.peer_count; i++) {
    const qx_repl_peer *p = &st.peers[i];
    qx_buffer_printf(b, "qaxdb_repl_replica_lag_records{replica=\"%s\"} %" PRIu64 "\n", p->name,
                     p->lag_lsns);
  }
  qx_buffer_printf(b, "# HELP qaxdb_repl_replica_connected 1 while a replica streams.\n"
                      "# TYPE qaxdb_repl_replica_connected gauge\n");
  for (uint32_t i = 0; i < st.peer_count; i++)
    qx_buffer_printf(b, "qaxdb_repl_replica_connected{replica=\"%s\"} %d\n", st.peers[i].name,
                     st.peers[i].connected);
}

/* Resident memory of the process, from /proc/self/statm; 0 if unknown. */
static double resident_bytes(void) {
  unsigned long pages = 0, resident = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f && fscanf(f, "%lu %lu", &pages, &resident) != 2) resident = 0;
  if (f) fclose(f);
  return (double)resident * 4096;
}

static _Thread_local uint64_t disk_bytes_seen;

static int add_file(const char *path, const struct stat *st, int flag, struct FTW *at) {
  (void)path, (void)at;
  if (flag == FTW_F) disk_bytes_seen += (uint64_t)st->st_blocks * 512;
  return 0;
}

/* The disk space the data folder takes (what du says). The walk runs on the HTTP port's one
 * thread, which also serves every WebSocket, and a year of Parquet files is many files: it is
 * walked again at most every DISK_WALK_NS, whatever the scrapes. nftw has no context argument,
 * hence the thread-locals. */
#define DISK_WALK_NS 10000000000LL
static double disk_bytes(const char *dir) {
  static _Thread_local uint64_t bytes;
  static _Thread_local int64_t walked_at;
  int64_t now = qx_monotonic_ns();
  if (walked_at && now - walked_at < DISK_WALK_NS) return (double)bytes;
  disk_bytes_seen = 0;
  nftw(dir, add_file, 16, FTW_PHYS);
  bytes = disk_bytes_seen;
  walked_at = now;
  return (double)bytes;
}

/* The engine's sampled write latency as a Prometheus histogram (its buckets are cumulative). */
static void write_latency_metrics(qx_buffer *b, const qx_db_stats *s) {
  double le[QX_DB_LATENCY_BUCKETS];
  for (int i = 0; i < QX_DB_LATENCY_BUCKETS; i++)
    le[i] = qx_db_latency_bucket_us[i] / 1e6;
  char help[160];
  snprintf(help, sizeof help,
           "Writes of this process, from the call to the acknowledgement at their durability; "
           "one in %d is timed.",
           QX_DB_LATENCY_SAMPLE);
  put_histogram(b, "qaxdb_write_duration_seconds", help, le, s->write_latency,
                QX_DB_LATENCY_BUCKETS, s->write_latency_count, s->write_latency_sum_ns);
}

int qx_server_metrics(qx_server *srv, qx_buffer *b) {
  qx_db_stats s;
  int rc = qx_db_stats_get(srv->db, &s);
  if (rc != QX_OK) return rc;
  engine_metrics(b, &s);
  write_latency_metrics(b, &s);
  qx_buffer_printf(
      b, "# HELP qaxdb_subscriber_lag_records Records a named subscriber cursor is behind the "
         "last LSN.\n# TYPE qaxdb_subscriber_lag_records gauge\n");
  cursor_lag lag = {b, s.last_lsn};
  qx_sub_list_cursors(qx_db_dir(srv->db), put_cursor_lag, &lag); /* a damaged one is left out */
  qx_metric(b, "qaxdb_disk_bytes", "gauge", "Disk space the data folder takes.",
            disk_bytes(qx_db_dir(srv->db)));
  qx_metric(b, "qaxdb_resident_memory_bytes", "gauge", "Resident memory of the server process.",
            resident_bytes());
  if (srv->opt.repl) replication_metrics(b, srv->opt.repl);
  pthread_mutex_lock(&srv->mu);
  qx_latency queries = srv->queries, inserts = srv->inserts;
  int connections = srv->client_count, busy = 0;
  for (int i = 0; i < srv->engine_count; i++)
    busy += srv->engines[i].running != NULL;
  uint64_t rows = srv->inserted_rows;
  pthread_mutex_unlock(&srv->mu);
  qx_metric(b, "qaxdb_connections", "gauge", "PostgreSQL connections open.", connections);
  qx_metric(b, "qaxdb_sql_engines", "gauge", "SQL engines statements run on.", srv->engine_count);
  qx_metric(b, "qaxdb_sql_engines_busy", "gauge",
            "SQL engines running a statement now; at qaxdb_sql_engines, statements queue.", busy);
  histogram(b, "qaxdb_query_duration_seconds", "SQL statements run, by duration.", &queries);
  qx_metric(b, "qaxdb_query_failures_total", "counter", "SQL statements that failed.",
            (double)queries.failed);
  histogram(b, "qaxdb_insert_duration_seconds",
            "INSERT statements, from receipt to durable acknowledgement.", &inserts);
  qx_metric(b, "qaxdb_insert_failures_total", "counter", "INSERT statements refused or failed.",
            (double)inserts.failed);
  qx_metric(b, "qaxdb_inserted_rows_total", "counter", "Rows written by INSERT.", (double)rows);
  if (srv->web) qx_web_metrics(srv->web, b);
  return b->failed ? QX_ERR_NOMEM : QX_OK;
}
