/* The converter thread and the state it publishes (see olap.h for the contract): follows the
 * WAL up to the durable LSN, appends rows to per-table column chunks, and hands them to Parquet
 * when the buffers are full or old, when asked, and at close. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "olap/olap.h"
#include "olap/parquet_writer.h"
#include "olap/trading_day.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/grow.h"
#include "util/require.h"
#include "util/thread.h"

#define FIRST_CHUNK_ROWS 1024u
#define MAX_CHUNK_ROWS 65536u
#define IDLE_WAIT_MS 50
#define BUFFER_FULL 1 /* visit's stop code: flush before reading on */

typedef struct chunk_list {
  qx_col_chunk **chunks;
  size_t count, cap;
} chunk_list;

struct qx_olap {
  qx_olap_config cfg;
  char olap_dir[PATH_MAX];
  qx_wal_reader *reader;
  qx_parquet_writer *writer;
  pthread_t thread;
  int thread_started;

  pthread_mutex_t mu;
  pthread_cond_t work_cv; /* new durable LSN, a request, or stop */
  pthread_cond_t done_cv; /* progress for qx_olap_sync and qx_olap_flush */
  qx_parquet_set *files;
  chunk_list tables[QX_TABLE_MAX + 1];
  uint64_t converted_lsn;
  qx_snapshot *pinned; /* converter only: the engine pin at pinned_lsn */
  uint64_t pinned_lsn;
  uint64_t buffered_rows, buffered_bytes; /* written only by the converter, under mu */
  uint64_t rows_read; /* converter only: rows of the current read, published after it */
  int time_column[QX_TABLE_MAX + 1];
  int64_t pending_since_ns; /* monotonic time the oldest LSN not in Parquet was converted */
  uint64_t flush_target;    /* qx_olap_flush waits for olap_lsn to reach this */
  uint64_t merge_asked, merge_done;
  uint64_t merge_all_asked; /* the merge_asked of the last QX_OLAP_MERGE_ALL request */
  uint64_t rounds; /* of work finished, for waiters to tell a fresh result from an old one */
  int stopping;
  int error; /* of the last round */
  uint64_t flushes, merges;
};

/* ---- chunks ---- */

static int push_chunk(chunk_list *l, qx_col_chunk *c) {
  int rc = qx_grow((void **)&l->chunks, &l->cap, l->count + 1, sizeof *l->chunks, "the chunk list");
  if (rc != QX_OK) return rc;
  l->chunks[l->count++] = c;
  return QX_OK;
}

static void drop_chunks(qx_olap *o) {
  for (int t = QX_TABLE_MIN; t <= QX_TABLE_MAX; t++) {
    for (uint32_t i = 0; i < o->tables[t].count; i++)
      qx_col_chunk_unref(o->tables[t].chunks[i]);
    o->tables[t].count = 0;
  }
  o->buffered_rows = o->buffered_bytes = 0;
}

/* The chunk the next row of table t goes into, adding a larger one when the last is full. */
static int writable_chunk(qx_olap *o, const qx_schema *s, qx_col_chunk **out) {
  chunk_list *l = &o->tables[s->table_id];
  qx_col_chunk *last = l->count ? l->chunks[l->count - 1] : NULL;
  if (last && qx_col_chunk_rows(last) < last->capacity) {
    *out = last;
    return QX_OK;
  }
  uint32_t cap = last ? last->capacity * 2 : FIRST_CHUNK_ROWS;
  if (cap > MAX_CHUNK_ROWS) cap = MAX_CHUNK_ROWS;
  qx_col_chunk *c;
  int rc = qx_col_chunk_create(s, cap, &c);
  if (rc != QX_OK) return rc;
  pthread_mutex_lock(&o->mu);
  rc = push_chunk(l, c);
  if (rc == QX_OK) o->buffered_bytes += c->bytes;
  pthread_mutex_unlock(&o->mu);
  if (rc != QX_OK) {
    qx_col_chunk_unref(c);
    return rc;
  }
  *out = c;
  return QX_OK;
}

/* ---- converting ---- */

/* Takes no lock per row: buffered_bytes changes only on this thread, and the row count is
 * published once per read. */
static int convert_entry(const qx_wal_entry *e, void *ctx) {
  qx_olap *o = ctx;
  const qx_schema *s = qx_schema_by_id(e->table_id);
  /* Raw key-value writes are not SQL tables. */
  if (!s) return QX_OK;
  uint32_t columns = qx_schema_column_count(s, e->schema_version);
  /* The engine accepts no other record into the WAL. */
  if (qx_schema_record_size(s, e->schema_version) != e->size)
    return qx_fail(QX_ERR_CORRUPT, "WAL entry lsn %" PRIu64 ": %u bytes is not a %s v%u record",
                   e->lsn, e->size, s->name, e->schema_version);
  qx_col_chunk *c;
  int rc = writable_chunk(o, s, &c);
  if (rc != QX_OK) return rc;
  int32_t day = qx_record_trading_day(s, o->time_column[s->table_id], e->data, e->ts_ns);
  qx_col_chunk_append(c, e->data, columns, e->lsn, day);
  o->rows_read++;
  return o->buffered_bytes >= o->cfg.buffer_bytes ? BUFFER_FULL : QX_OK;
}

/* Moves the converter's engine pin up to lsn before snapshots can be taken there. The old pin
 * is released only after: the engine drops a version only once a newer one is at or below
 * every pin, so the versions as of any LSN from the pin on stay readable. If the new pin
 * cannot be taken the old one stays, which keeps more versions, never fewer. */
static void advance_pin(qx_olap *o, uint64_t lsn) {
  if (lsn <= o->pinned_lsn) return;
  qx_snapshot *p = o->cfg.pin(o->cfg.engine, lsn);
  if (!p) return;
  o->cfg.unpin(o->cfg.engine, o->pinned);
  o->pinned = p;
  o->pinned_lsn = lsn;
}

/* Converts up to the durable LSN, or until the buffers are full. */
static int convert(qx_olap *o) {
  uint64_t target = qx_wal_durable_lsn(o->cfg.wal);
  o->rows_read = 0;
  int rc = qx_wal_reader_read(o->reader, target, convert_entry, o);
  uint64_t converted = qx_wal_reader_position(o->reader) - 1;
  advance_pin(o, converted);
  pthread_mutex_lock(&o->mu);
  o->buffered_rows += o->rows_read;
  if (o->converted_lsn == o->files->olap_lsn && converted > o->converted_lsn)
    o->pending_since_ns = qx_monotonic_ns();
  o->converted_lsn = converted;
  pthread_cond_broadcast(&o->done_cv);
  pthread_mutex_unlock(&o->mu);
  return rc == BUFFER_FULL ? QX_OK : rc;
}

/* ---- snapshots ---- */

static int snapshot_table(const chunk_list *l, uint64_t after, uint64_t upto, qx_olap_rows *out) {
  out->chunks = malloc((l->count + 1) * sizeof *out->chunks);
  out->begin = malloc((l->count + 1) * sizeof *out->begin);
  out->end = malloc((l->count + 1) * sizeof *out->end);
  if (!out->chunks || !out->begin || !out->end)
    return qx_fail(QX_ERR_NOMEM, "out of memory for a snapshot");
  for (uint32_t i = 0; i < l->count; i++) {
    qx_col_chunk *c = l->chunks[i];
    uint32_t rows = qx_col_chunk_rows(c);
    uint32_t begin = qx_col_chunk_first_after(c, rows, after);
    uint32_t end = qx_col_chunk_first_after(c, rows, upto);
    if (begin >= end) continue;
    qx_col_chunk_ref(c);
    out->chunks[out->count] = c;
    out->begin[out->count] = begin;
    out->end[out->count++] = end;
    out->rows += end - begin;
  }
  return QX_OK;
}

/* REQUIRES: mu. */
static int snapshot_locked(qx_olap *o, qx_olap_snapshot **out) {
  QX_REQUIRE_HELD(&o->mu);
  qx_olap_snapshot *s = calloc(1, sizeof *s);
  if (!s) return qx_fail(QX_ERR_NOMEM, "out of memory for a snapshot");
  atomic_init(&s->refs, 1);
  s->lsn = o->converted_lsn;
  s->files = o->files;
  qx_parquet_set_ref(s->files);
  int rc = QX_OK;
  for (int t = QX_TABLE_MIN; t <= QX_TABLE_MAX && rc == QX_OK; t++)
    rc = snapshot_table(&o->tables[t], s->files->olap_lsn, s->lsn, &s->tables[t]);
  if (rc != QX_OK) {
    qx_olap_snapshot_release(s);
    return rc;
  }
  *out = s;
  return QX_OK;
}

/* Under mu, so the converter's pin is at or below the snapshot's LSN. */
int qx_olap_snapshot_acquire(qx_olap *o, qx_olap_snapshot **out) {
  pthread_mutex_lock(&o->mu);
  int rc = snapshot_locked(o, out);
  if (rc == QX_OK && (*out)->lsn >= o->cfg.pinnable_from) {
    (*out)->engine = (qx_engine_pin){.snapshot = o->cfg.pin(o->cfg.engine, (*out)->lsn),
                                     .unpin = o->cfg.unpin,
                                     .engine = o->cfg.engine};
  }
  pthread_mutex_unlock(&o->mu);
  return rc;
}

void qx_olap_snapshot_ref(qx_olap_snapshot *s) {
  atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}

void qx_olap_snapshot_release(qx_olap_snapshot *s) {
  if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1) return;
  for (int t = QX_TABLE_MIN; t <= QX_TABLE_MAX; t++) {
    qx_olap_rows *r = &s->tables[t];
    for (uint32_t i = 0; i < r->count; i++)
      qx_col_chunk_unref(r->chunks[i]);
    free(r->chunks);
    free(r->begin);
    free(r->end);
  }
  qx_parquet_set_unref(s->files);
  if (s->engine.snapshot) s->engine.unpin(s->engine.engine, s->engine.snapshot);
  free(s);
}

/* ---- flushing and merging ---- */

/* Installs edit and publishes the resulting set; drop: the buffered rows are now in it. */
static int publish(qx_olap *o, qx_parquet_edit *edit, int drop) {
  qx_parquet_set *installed;
  int rc = o->cfg.install(o->cfg.engine, edit, &installed);
  if (rc != QX_OK) return rc;
  pthread_mutex_lock(&o->mu);
  qx_parquet_set_unref(o->files);
  o->files = installed;
  if (drop) drop_chunks(o);
  pthread_mutex_unlock(&o->mu);
  return QX_OK;
}

static int flush(qx_olap *o) {
  qx_olap_snapshot *snap;
  pthread_mutex_lock(&o->mu);
  int rc = snapshot_locked(o, &snap);
  pthread_mutex_unlock(&o->mu);
  if (rc != QX_OK) return rc;
  qx_parquet_edit edit = {.has_olap_lsn = 1, .olap_lsn = snap->lsn};
  if (snap->lsn > snap->files->olap_lsn) {
    rc = qx_parquet_write(o->writer, snap, &edit);
    if (rc == QX_OK) rc = publish(o, &edit, 1);
    if (rc == QX_OK) o->flushes++;
  }
  qx_parquet_edit_free(&edit);
  qx_olap_snapshot_release(snap);
  return rc;
}

/* Files merged as one group: a closed day's files, or at least merge_min_files small ones of
 * the day still trading. Files above this size are left alone on the open day. */
#define SMALL_FILE_BYTES (64u << 20)

static int mergeable(const qx_parquet_file *f, int32_t open_day) {
  return f->meta.day < open_day || f->meta.bytes < SMALL_FILE_BYTES;
}

/* Finds the next group [*begin, *end) of o->files worth merging, from *begin on; with all,
 * every table's files of a day are one group. */
static int next_group(const qx_parquet_set *set, int32_t open_day, uint32_t min_files, int all,
                      size_t *begin, size_t *end) {
  for (size_t i = *begin; i < set->count;) {
    size_t j = i;
    const qx_parquet_meta *m = &set->files[i]->meta;
    while (j < set->count && set->files[j]->meta.table_id == m->table_id &&
           set->files[j]->meta.day == m->day && (all || mergeable(set->files[j], open_day)))
      j++;
    size_t n = j - i;
    if (n >= 2 && (all || m->day < open_day || n >= min_files)) {
      *begin = i;
      *end = j;
      return 1;
    }
    i = j > i ? j : i + 1;
  }
  return 0;
}

static int32_t newest_day(const qx_parquet_set *set) {
  int32_t day = INT32_MIN;
  for (size_t i = 0; i < set->count; i++)
    if (set->files[i]->meta.day > day) day = set->files[i]->meta.day;
  return day;
}

static int merge(qx_olap *o, int all) {
  pthread_mutex_lock(&o->mu);
  qx_parquet_set *set = o->files;
  qx_parquet_set_ref(set);
  pthread_mutex_unlock(&o->mu);
  qx_parquet_edit edit = {0};
  int32_t open_day = newest_day(set);
  size_t begin = 0, end = 0;
  int rc = QX_OK;
  while (rc == QX_OK && next_group(set, open_day, o->cfg.merge_min_files, all, &begin, &end)) {
    rc = qx_parquet_merge(o->writer, set->files + begin, end - begin, &edit);
    begin = end;
  }
  if (rc == QX_OK && !qx_parquet_edit_empty(&edit)) {
    rc = publish(o, &edit, 0);
    if (rc == QX_OK) o->merges++;
  }
  qx_parquet_edit_free(&edit);
  qx_parquet_set_unref(set);
  return rc;
}

/* ---- the thread ---- */

/* REQUIRES: mu. Raw key-value writes count too: olap_lsn must pass them for the WAL to be
 * trimmed. */
static int flush_due(qx_olap *o) {
  QX_REQUIRE_HELD(&o->mu);
  if (o->cfg.read_only || o->converted_lsn <= o->files->olap_lsn) return 0;
  return o->stopping || o->buffered_bytes >= o->cfg.buffer_bytes ||
         o->flush_target > o->files->olap_lsn ||
         qx_monotonic_ns() - o->pending_since_ns >= (int64_t)o->cfg.flush_interval_ms * 1000000;
}

/* One round of work. REQUIRES: mu; released while working. */
static void work(qx_olap *o) {
  QX_REQUIRE_HELD(&o->mu);
  uint64_t merge_ask = o->merge_asked;
  int merge_all = o->merge_all_asked > o->merge_done;
  pthread_mutex_unlock(&o->mu);
  int rc = convert(o);
  pthread_mutex_lock(&o->mu);
  int flush_now = rc == QX_OK && flush_due(o);
  pthread_mutex_unlock(&o->mu);
  if (flush_now) rc = flush(o);
  if (rc == QX_OK && (flush_now || merge_ask > o->merge_done)) rc = merge(o, merge_all);
  pthread_mutex_lock(&o->mu);
  if (rc == QX_OK) o->merge_done = merge_ask;
  o->error = rc;
  o->rounds++;
  pthread_cond_broadcast(&o->done_cv);
}

static int has_work(qx_olap *o) {
  return o->stopping || o->merge_asked > o->merge_done || flush_due(o) ||
         qx_wal_durable_lsn(o->cfg.wal) > o->converted_lsn;
}

static void wait_ms(pthread_cond_t *cv, pthread_mutex_t *mu, long ms) {
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_nsec += ms * 1000000L;
  until.tv_sec += until.tv_nsec / 1000000000L;
  until.tv_nsec %= 1000000000L;
  pthread_cond_timedwait(cv, mu, &until);
}

static void *converter_main(void *arg) {
  qx_olap *o = arg;
  qx_thread_name("qx-parquet");
  pthread_mutex_lock(&o->mu);
  for (;;) {
    if (!has_work(o)) {
      wait_ms(&o->work_cv, &o->mu, IDLE_WAIT_MS);
      continue;
    }
    int last_round = o->stopping;
    work(o);
    if (last_round) break;
    if (o->error != QX_OK) /* back off: a full disk will not be empty a moment later */
      wait_ms(&o->work_cv, &o->mu, IDLE_WAIT_MS);
  }
  pthread_mutex_unlock(&o->mu);
  return NULL;
}

/* Waits until done(o) holds, or a round that started after the call failed. REQUIRES: mu. */
static int wait_for(qx_olap *o, int (*done)(qx_olap *, uint64_t), uint64_t arg) {
  QX_REQUIRE_HELD(&o->mu);
  uint64_t round = o->rounds;
  pthread_cond_signal(&o->work_cv);
  while (!done(o, arg)) {
    if (o->rounds > round + 1 && o->error != QX_OK) return o->error;
    if (o->stopping) return qx_fail(QX_ERR_CLOSED, "the Parquet converter is stopping");
    pthread_cond_wait(&o->done_cv, &o->mu);
  }
  return QX_OK;
}

static int converted_to(qx_olap *o, uint64_t lsn) {
  return o->converted_lsn >= lsn;
}

static int flushed_to(qx_olap *o, uint64_t lsn) {
  return o->files->olap_lsn >= lsn && o->merge_done >= o->merge_asked;
}

int qx_olap_sync(qx_olap *o) {
  pthread_mutex_lock(&o->mu);
  int rc = wait_for(o, converted_to, qx_wal_durable_lsn(o->cfg.wal));
  pthread_mutex_unlock(&o->mu);
  return rc;
}

int qx_olap_flush(qx_olap *o, enum qx_olap_merge merge_files) {
  if (o->cfg.read_only)
    return qx_fail(QX_ERR_DENIED, "%s: the database is open read-only", o->olap_dir);
  pthread_mutex_lock(&o->mu);
  uint64_t target = qx_wal_durable_lsn(o->cfg.wal);
  if (target > o->flush_target) o->flush_target = target;
  if (merge_files != QX_OLAP_MERGE_NONE) o->merge_asked++;
  if (merge_files == QX_OLAP_MERGE_ALL) o->merge_all_asked = o->merge_asked;
  int rc = wait_for(o, flushed_to, target);
  pthread_mutex_unlock(&o->mu);
  return rc;
}

void qx_olap_notify(qx_olap *o) {
  pthread_mutex_lock(&o->mu);
  pthread_cond_signal(&o->work_cv);
  pthread_mutex_unlock(&o->mu);
}

void qx_olap_stats_get(qx_olap *o, qx_olap_stats *out) {
  memset(out, 0, sizeof *out);
  pthread_mutex_lock(&o->mu);
  out->converted_lsn = o->converted_lsn;
  out->olap_lsn = o->files->olap_lsn;
  out->buffered_rows = o->buffered_rows;
  out->buffered_bytes = o->buffered_bytes;
  out->parquet_files = o->files->count;
  for (size_t i = 0; i < o->files->count; i++) {
    out->parquet_bytes += o->files->files[i]->meta.bytes;
    out->parquet_rows += o->files->files[i]->meta.rows;
  }
  out->flushes = o->flushes;
  out->merges = o->merges;
  out->error = o->error;
  pthread_mutex_unlock(&o->mu);
}

/* ---- life cycle ---- */

static void free_olap(qx_olap *o) {
  if (o->pinned) o->cfg.unpin(o->cfg.engine, o->pinned);
  drop_chunks(o);
  for (int t = QX_TABLE_MIN; t <= QX_TABLE_MAX; t++)
    free(o->tables[t].chunks);
  qx_parquet_set_unref(o->files);
  qx_wal_reader_close(o->reader);
  qx_parquet_writer_close(o->writer);
  pthread_mutex_destroy(&o->mu);
  pthread_cond_destroy(&o->work_cv);
  pthread_cond_destroy(&o->done_cv);
  free(o);
}

static int init_sync(qx_olap *o) {
  pthread_condattr_t ca;
  int bad = pthread_condattr_init(&ca) || pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) ||
            pthread_mutex_init(&o->mu, NULL) || pthread_cond_init(&o->work_cv, &ca) ||
            pthread_cond_init(&o->done_cv, NULL);
  pthread_condattr_destroy(&ca);
  return bad ? qx_fail(QX_ERR_NOMEM, "cannot create the converter's locks") : QX_OK;
}

int qx_olap_open(const qx_olap_config *config, qx_olap **out) {
  qx_olap *o = calloc(1, sizeof *o);
  if (!o) return qx_fail(QX_ERR_NOMEM, "out of memory for the Parquet converter");
  o->cfg = *config;
  snprintf(o->olap_dir, sizeof o->olap_dir, "%s", config->olap_dir);
  o->cfg.olap_dir = o->olap_dir;
  o->files = config->files;
  qx_parquet_set_ref(o->files);
  o->converted_lsn = config->start_lsn - 1;
  for (int t = QX_TABLE_MIN; t <= QX_TABLE_MAX; t++)
    o->time_column[t] = qx_time_column(qx_schema_by_id(t));
  o->pinned = config->pin(config->engine, config->pinnable_from);
  o->pinned_lsn = config->pinnable_from;
  int rc = o->pinned ? init_sync(o) : qx_fail(QX_ERR_NOMEM, "cannot pin the engine's state");
  if (rc == QX_OK && !config->read_only) rc = qx_olap_remove_orphans(o->olap_dir, o->files);
  if (rc == QX_OK && !config->read_only)
    rc = qx_parquet_writer_open(o->olap_dir, config->compression, &o->writer);
  if (rc == QX_OK) rc = qx_wal_reader_open(config->wal, config->start_lsn, &o->reader);
  if (rc == QX_OK && pthread_create(&o->thread, NULL, converter_main, o) != 0)
    rc = qx_fail(QX_ERR_NOMEM, "cannot start the Parquet converter");
  if (rc != QX_OK) {
    free_olap(o);
    return rc;
  }
  *out = o;
  return QX_OK;
}

int qx_olap_close(qx_olap *o) {
  if (!o) return QX_OK;
  pthread_mutex_lock(&o->mu);
  o->stopping = 1;
  pthread_cond_signal(&o->work_cv);
  pthread_mutex_unlock(&o->mu);
  pthread_join(o->thread, NULL);
  int rc = o->error;
  free_olap(o);
  return rc;
}
