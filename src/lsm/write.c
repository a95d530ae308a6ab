/* The engine's write path: puts, deletes, records and batches go to the WAL and then into the
 * active MemTable under the engine mutex (so LSN order is MemTable order), after the writer has
 * made room: a MemTable switch when the active one is full, a wait when level 0 is at its stop
 * trigger, a short delay from its slowdown trigger. Each write is decoded once, before the
 * mutex, into the key and value the MemTable stores. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lsm/db_impl.h"
#include "lsm/wal_codec.h"
#include "lsm/write_batch.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/require.h"

/* ---- making room ---- */

static void count_stall(qx_db *db, int64_t since) {
  qx_count(&db->counters, QX_TOTAL_STALL_NS, (uint64_t)(qx_monotonic_ns() - since));
  qx_count(&db->counters, QX_TOTAL_STALLS, 1);
}

static int memtable_is_full(const qx_db *db) {
  return qx_memtable_full(db->mem);
}

static int memtable_has_entries(const qx_db *db) {
  return qx_memtable_entry_count(db->mem) > 0;
}

/* Moves the active MemTable to the immutable list if needed(db) still holds once the list has
 * room: while this writer waited, another may have switched already. REQUIRES: mu. */
static int switch_memtable(qx_db *db, int (*needed)(const qx_db *)) {
  QX_REQUIRE_HELD(&db->mu);
  int64_t start = qx_monotonic_ns();
  int waited = 0;
  while (db->imm_count == QX_MAX_IMMUTABLE && !db->bg_error) {
    waited = 1;
    pthread_cond_wait(&db->done_cv, &db->mu);
  }
  if (waited) count_stall(db, start);
  if (db->bg_error) return db->bg_error;
  if (!needed(db)) return QX_OK;
  qx_memtable *fresh;
  int rc = qx_memtable_create(db->opt.memtable_size, &fresh);
  if (rc != QX_OK) return rc;
  memmove(db->imm + 1, db->imm, (size_t)db->imm_count * sizeof db->imm[0]);
  db->imm[0] = db->mem;
  db->imm_count++;
  db->mem = fresh;
  pthread_cond_broadcast(&db->work_cv);
  return qx_view_install(db);
}

/* Bounds level 0: waits while it has l0_stop_trigger files. REQUIRES: mu. */
static void wait_for_level0(qx_db *db) {
  QX_REQUIRE_HELD(&db->mu);
  if (atomic_load(&db->l0_files) < db->opt.l0_stop_trigger) return;
  int64_t start = qx_monotonic_ns();
  while (atomic_load(&db->l0_files) >= db->opt.l0_stop_trigger && !db->bg_error)
    pthread_cond_wait(&db->done_cv, &db->mu);
  count_stall(db, start);
}

/* From l0_slowdown_trigger files on, each write yields 1 ms to the background thread, so
 * that level 0 grows slowly rather than stopping writes all at once. */
static void slow_down_if_needed(qx_db *db) {
  if (atomic_load(&db->l0_files) < db->opt.l0_slowdown_trigger) return;
  int64_t start = qx_monotonic_ns();
  struct timespec ms = {0, 1000000};
  nanosleep(&ms, NULL);
  count_stall(db, start);
}

/* ---- appending and inserting ---- */

int qx_db_insert(qx_db *db, const qx_decoded_write *w, uint64_t lsn) {
  QX_REQUIRE_HELD(&db->mu);
  return qx_memtable_add(db->mem, w->key, w->key_len, lsn, w->kind, w->value, w->value_len);
}

static int insert_all(qx_db *db, const qx_wal_record *r, const qx_decoded_write *w, size_t n,
                      uint64_t last_lsn) {
  uint64_t wal_bytes = 0, user_bytes = 0;
  for (size_t i = 0; i < n; i++) {
    int rc = qx_db_insert(db, &w[i], last_lsn - n + 1 + i);
    if (rc != QX_OK) return rc;
    wal_bytes += 32 + r[i].size;
    user_bytes += w[i].key_len + w[i].value_len;
  }
  qx_count(&db->counters, QX_TOTAL_WAL_BYTES, wal_bytes);
  qx_count(&db->counters, QX_TOTAL_USER_BYTES, user_bytes);
  return QX_OK;
}

/* Who appends: a caller of the public writes, or replication applying the primary's log at an
 * LSN it names (which a refusal of callers' writes lets through). */
typedef struct appender {
  int replicated;
  uint64_t first_lsn; /* replicated: the LSN the batch must start at */
} appender;

static int check_appender(qx_db *db, appender who, size_t n) {
  int rc = qx_db_check_writable(db);
  if (rc != QX_OK) return rc;
  if (!who.replicated)
    return db->refusing_writes ? qx_fail(QX_ERR_DENIED, "%s", db->refusal) : QX_OK;
  uint64_t next = qx_wal_last_lsn(db->wal) + 1;
  if (who.first_lsn != next)
    return qx_fail(QX_ERR_INVALID_ARG,
                   "%s: a replicated batch of %zu records starts at LSN %llu, but the log's next "
                   "LSN is %llu",
                   db->dir, n, (unsigned long long)who.first_lsn, (unsigned long long)next);
  return QX_OK;
}

static int append_locked(qx_db *db, appender who, const qx_wal_record *r, const qx_decoded_write *w,
                         size_t n, uint64_t *last) {
  int rc = check_appender(db, who, n);
  if (rc != QX_OK) return rc;
  wait_for_level0(db);
  rc = memtable_is_full(db) ? switch_memtable(db, memtable_is_full) : QX_OK;
  if (rc != QX_OK) return rc;
  rc = n == 1 ? qx_wal_append(db->wal, r, QX_DURABILITY_NONE, last)
              : qx_wal_append_batch(db->wal, r, n, QX_DURABILITY_NONE, last);
  if (rc == QX_ERR_IO || rc == QX_ERR_CLOSED) {
    /* The WAL refuses appends after a failed write: so does the engine. */
    qx_db_fail(db, rc);
    return rc;
  }
  if (rc != QX_OK) return rc;
  rc = insert_all(db, r, w, n, *last);
  if (rc != QX_OK) {
    /* The WAL holds writes the MemTable lacks: stop, and let a reopen replay them. */
    qx_db_fail(db, rc);
    return rc;
  }
  atomic_store_explicit(&db->visible_lsn, *last, memory_order_release);
  if (db->on_commit) db->on_commit(*last, db->on_commit_ctx);
  return QX_OK;
}

/* Waits for the WAL's sync of lsn. A failed sync stops the engine, with the sync's detail. */
static int wait_durable(qx_db *db, uint64_t lsn, int64_t timeout_ns) {
  int rc = qx_wal_wait_durable(db->wal, lsn, timeout_ns);
  if (rc == QX_ERR_IO || rc == QX_ERR_CLOSED) {
    pthread_mutex_lock(&db->mu);
    qx_db_fail(db, rc);
    pthread_mutex_unlock(&db->mu);
  }
  return rc;
}

/* The replicas' part of durability `replicated`, after the local sync. */
static int wait_replicated(qx_db *db, uint64_t lsn) {
  pthread_mutex_lock(&db->mu);
  qx_db_replication_wait_fn wait = db->replication_wait;
  void *ctx = db->replication_wait_ctx;
  pthread_mutex_unlock(&db->mu);
  return wait(lsn, ctx);
}

static int check_durability(qx_db *db, qx_durability durability) {
  if (durability == QX_DURABILITY_NONE || durability == QX_DURABILITY_GROUP) return QX_OK;
  if (durability != QX_DURABILITY_REPLICATED)
    return qx_fail(QX_ERR_INVALID_ARG, "unknown durability %d", (int)durability);
  pthread_mutex_lock(&db->mu);
  int replicating = db->replication_wait != NULL;
  pthread_mutex_unlock(&db->mu);
  return replicating
             ? QX_OK
             : qx_fail(QX_ERR_INVALID_ARG, "durability `replicated` needs a primary with replicas");
}

static const appender CALLER = {0, 0};

/* Appends n records, inserts their decoded form and acknowledges at durability. */
static int write_acknowledged(qx_db *db, appender who, const qx_wal_record *r,
                              const qx_decoded_write *w, size_t n, qx_durability durability,
                              uint64_t *lsn_out) {
  int rc = check_durability(db, durability);
  if (rc != QX_OK) return rc;
  slow_down_if_needed(db);
  uint64_t last = 0;
  pthread_mutex_lock(&db->mu);
  rc = append_locked(db, who, r, w, n, &last);
  pthread_mutex_unlock(&db->mu);
  if (rc == QX_OK && durability != QX_DURABILITY_NONE) rc = wait_durable(db, last, -1);
  if (rc == QX_OK && durability == QX_DURABILITY_REPLICATED) rc = wait_replicated(db, last);
  if (rc == QX_OK && lsn_out) *lsn_out = last;
  return rc;
}

const uint32_t qx_db_latency_bucket_us[QX_DB_LATENCY_BUCKETS] = {
    1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 50000, 100000, 1000000};

/* Counts a sample in the first bucket it fits (none past the last: the count still has it). */
static void record_latency(qx_db *db, int64_t ns) {
  for (int i = 0; i < QX_DB_LATENCY_BUCKETS; i++)
    if (ns <= (int64_t)qx_db_latency_bucket_us[i] * 1000) {
      atomic_fetch_add_explicit(&db->write_latency[i], 1, memory_order_relaxed);
      break;
    }
  atomic_fetch_add_explicit(&db->write_latency_count, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&db->write_latency_sum_ns, (uint64_t)ns, memory_order_relaxed);
}

/* write_acknowledged, one call in QX_DB_LATENCY_SAMPLE timed: timing every write would cost
 * two clock reads on a path of about a microsecond. */
static int write_decoded(qx_db *db, appender who, const qx_wal_record *r, const qx_decoded_write *w,
                         size_t n, qx_durability durability, uint64_t *lsn_out) {
  static _Thread_local uint32_t writes;
  int64_t start = ++writes % QX_DB_LATENCY_SAMPLE == 0 ? qx_monotonic_ns() : 0;
  int rc = write_acknowledged(db, who, r, w, n, durability, lsn_out);
  if (start && rc == QX_OK) record_latency(db, qx_monotonic_ns() - start);
  return rc;
}

static int decode_record(const qx_wal_record *r, qx_decoded_write *w) {
  qx_wal_entry e = {0, r->ts_ns, r->table_id, r->schema_version, r->size, r->data, 0};
  return qx_wal_entry_decode(&e, w);
}

/* Decodes count records into the writes they make (w), within the engine's limits; names the
 * first bad one. */
static int decode_all(const qx_wal_record *r, size_t count, qx_decoded_write *w) {
  for (size_t i = 0; i < count; i++) {
    int rc = decode_record(&r[i], &w[i]);
    if (rc == QX_OK) rc = qx_kv_check(w[i].key_len, w[i].value_len);
    if (rc != QX_OK) return qx_fail(rc, "record %zu of %zu: %s", i + 1, count, qx_last_error());
  }
  return QX_OK;
}

static int write_records(qx_db *db, appender who, const qx_wal_record *r, size_t count,
                         qx_durability durability, uint64_t *last_lsn_out) {
  qx_decoded_write *w = malloc(count * sizeof *w);
  if (!w) return qx_fail(QX_ERR_NOMEM, "out of memory for a write of %zu records", count);
  int rc = decode_all(r, count, w);
  if (rc == QX_OK) rc = write_decoded(db, who, r, w, count, durability, last_lsn_out);
  free(w);
  return rc;
}

/* ---- the public writes ---- */

int qx_db_put(qx_db *db, const void *key, size_t key_len, const void *value, size_t value_len,
              qx_durability durability, uint64_t *lsn_out) {
  int rc = qx_kv_check(key_len, value_len);
  if (rc != QX_OK) return rc;
  size_t size = qx_kv_put_size(key_len, value_len);
  uint64_t stack[(QX_DB_MAX_KEY + 512) / 8];
  void *payload = size <= sizeof stack ? stack : malloc(size);
  if (!payload) return qx_fail(QX_ERR_NOMEM, "out of memory for a put");
  qx_kv_put_encode(payload, key, key_len, value, value_len);
  qx_wal_record r = {QX_WAL_KV_PUT, 1, (uint32_t)size, 0, payload};
  qx_decoded_write w = {
      .key = key, .key_len = key_len, .kind = QX_KIND_PUT, .value = value, .value_len = value_len};
  rc = write_decoded(db, CALLER, &r, &w, 1, durability, lsn_out);
  if (payload != stack) free(payload);
  return rc;
}

int qx_db_delete(qx_db *db, const void *key, size_t key_len, qx_durability durability,
                 uint64_t *lsn_out) {
  int rc = qx_kv_check(key_len, 0);
  if (rc != QX_OK) return rc;
  qx_wal_record r = {QX_WAL_KV_DELETE, 1, (uint32_t)key_len, 0, key};
  qx_decoded_write w = {.key = key, .key_len = key_len, .kind = QX_KIND_DELETE};
  return write_decoded(db, CALLER, &r, &w, 1, durability, lsn_out);
}

int qx_db_put_record(qx_db *db, int table_id, const void *record, qx_durability durability,
                     uint64_t *lsn_out) {
  qx_wal_record r;
  qx_decoded_write w;
  int rc = qx_record_to_wal(table_id, record, &r);
  if (rc == QX_OK) rc = decode_record(&r, &w);
  return rc == QX_OK ? write_decoded(db, CALLER, &r, &w, 1, durability, lsn_out) : rc;
}

int qx_db_write(qx_db *db, const qx_write_batch *batch, qx_durability durability,
                uint64_t *last_lsn_out) {
  if (batch->count == 0) return qx_fail(QX_ERR_INVALID_ARG, "empty write batch");
  qx_wal_record *records = malloc(batch->count * sizeof *records);
  if (!records) return qx_fail(QX_ERR_NOMEM, "out of memory for a write batch");
  qx_write_batch_to_wal(batch, 0, batch->count, records);
  int rc = write_records(db, CALLER, records, batch->count, durability, last_lsn_out);
  free(records);
  return rc;
}

int qx_db_write_records(qx_db *db, const qx_wal_record *records, size_t count,
                        qx_durability durability, uint64_t *last_lsn_out) {
  if (count == 0) return qx_fail(QX_ERR_INVALID_ARG, "no records to write");
  return write_records(db, CALLER, records, count, durability, last_lsn_out);
}

int qx_db_apply_replicated(qx_db *db, uint64_t first_lsn, const qx_wal_record *records,
                           size_t count) {
  if (count == 0) return qx_fail(QX_ERR_INVALID_ARG, "no records to apply");
  appender primary = {1, first_lsn};
  return write_records(db, primary, records, count, QX_DURABILITY_NONE, NULL);
}

int qx_db_wait_durable(qx_db *db, uint64_t lsn, int64_t timeout_ns) {
  return wait_durable(db, lsn, timeout_ns);
}

/* ---- flush and compact on request ---- */

/* Waits for the background thread until done(db) or a background failure. REQUIRES: mu. */
static int wait_background(qx_db *db, int (*done)(const qx_db *)) {
  QX_REQUIRE_HELD(&db->mu);
  while (!done(db) && !db->bg_error)
    pthread_cond_wait(&db->done_cv, &db->mu);
  return db->bg_error ? qx_fail(db->bg_error, "background work failed: %s", db->failure) : QX_OK;
}

static int no_immutables(const qx_db *db) {
  return db->imm_count == 0;
}
static int manual_done(const qx_db *db) {
  return !db->manual_compaction;
}

int qx_db_flush(qx_db *db) {
  pthread_mutex_lock(&db->mu);
  int rc = qx_db_check_writable(db);
  if (rc == QX_OK && memtable_has_entries(db)) rc = switch_memtable(db, memtable_has_entries);
  if (rc == QX_OK) rc = wait_background(db, no_immutables);
  pthread_mutex_unlock(&db->mu);
  return rc;
}

int qx_db_compact(qx_db *db) {
  int rc = qx_db_flush(db);
  if (rc != QX_OK) return rc;
  pthread_mutex_lock(&db->mu);
  db->manual_compaction = 1;
  pthread_cond_broadcast(&db->work_cv);
  rc = wait_background(db, manual_done);
  pthread_mutex_unlock(&db->mu);
  return rc;
}
