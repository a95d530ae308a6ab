/* The background threads: one flushes immutable MemTables to level 0, the other compacts
 * levels, so that a long compaction never keeps a full MemTable from its flush (which would
 * stall writers).
 *
 * Leveled compaction: level 0 is compacted into level 1 when it holds l0_compaction_trigger
 * files; a level L >= 1 is compacted into L+1 when its bytes exceed its target (l1_size *
 * 10^(L-1)), one file at a time in round-robin key order. A compaction merges its inputs with
 * a k-way merge and writes new files split at sst_file_size on user-key boundaries. A version
 * is dropped when a newer version of its key is at or below the oldest snapshot; a tombstone
 * is dropped when, in addition, no deeper level may hold the key. Work runs without the mutex;
 * only picking and installing hold it (see db_impl.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lsm/db_impl.h"
#include "lsm/merge_iter.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/grow.h"
#include "util/io.h"

typedef struct compaction {
  int level, output_level;
  qx_file **inputs[2]; /* files of level and of output_level */
  uint32_t count[2];
  int trivial_move; /* one file, nothing below it overlaps: move it without rewriting */
} compaction;

int qx_sst_path(const qx_db *db, uint64_t number, char *out, size_t cap) {
  int n = snprintf(out, cap, "%s/%06" PRIu64 ".sst", db->sst_dir, number);
  return n > 0 && (size_t)n < cap ? QX_OK
                                  : qx_fail(QX_ERR_INVALID_ARG, "path too long in %s", db->sst_dir);
}

int qx_file_open(qx_db *db, const qx_sst_meta *meta, int fresh, qx_file **out) {
  qx_file *f = calloc(1, sizeof *f);
  if (!f) return qx_fail(QX_ERR_NOMEM, "out of memory for a table file");
  atomic_init(&f->refs, 1);
  f->meta = *meta;
  f->cache = db->cache;
  int rc = qx_sst_path(db, meta->file_number, f->path, sizeof f->path);
  if (rc == QX_OK)
    rc = qx_sst_open(f->path, meta->file_number, db->cache, &db->sst_counters, &f->sst);
  if (rc != QX_OK) {
    free(f);
    return rc;
  }
  if (fresh) qx_sst_populate(f->sst);
  *out = f;
  return QX_OK;
}

static uint64_t thread_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- writing output files ---- */

typedef struct output_set {
  qx_db *db;
  qx_sst_builder *builder;
  qx_sst_meta *metas;
  size_t count, cap;
  uint64_t bytes;
} output_set;

static int output_finish(output_set *o) {
  if (!o->builder) return QX_OK;
  int rc =
      qx_grow((void **)&o->metas, &o->cap, o->count + 1, sizeof *o->metas, "compaction outputs");
  if (rc != QX_OK) return rc;
  rc = qx_sst_builder_finish(o->builder, &o->metas[o->count]);
  o->builder = NULL;
  if (rc == QX_OK) o->bytes += o->metas[o->count++].file_size;
  return rc;
}

static int output_add(output_set *o, const qx_ientry *e) {
  if (!o->builder) {
    char path[PATH_MAX];
    qx_sst_options so;
    qx_sst_options_init(&so);
    so.compression = o->db->opt.compression;
    so.bloom_bits_per_key = o->db->opt.bloom_bits_per_key;
    uint64_t number = atomic_fetch_add(&o->db->next_file_number, 1);
    int rc = qx_sst_path(o->db, number, path, sizeof path);
    if (rc == QX_OK) rc = qx_sst_builder_create(path, number, &so, &o->builder);
    if (rc != QX_OK) return rc;
  }
  return qx_sst_builder_add(o->builder, e);
}

/* Deletes every file written so far after a failure. */
static void output_abandon(output_set *o) {
  if (o->builder) qx_sst_builder_abandon(o->builder);
  for (size_t i = 0; i < o->count; i++) {
    char path[PATH_MAX];
    if (qx_sst_path(o->db, o->metas[i].file_number, path, sizeof path) == QX_OK) qx_io_unlink(path);
  }
  free(o->metas);
}

/* ---- the merge with its drop rules ---- */

typedef struct merge_state {
  const qx_version *version;
  int output_level; /* -1 for a flush: tombstones are never dropped there */
  uint64_t oldest_snapshot;
  uint8_t key[QX_DB_MAX_KEY];
  size_t key_len;
  int has_key;
  uint64_t last_lsn_of_key; /* LSN of the previous entry of the same user key */
} merge_state;

/* 1 if no level below the output level may hold key. */
static int is_base_level(const merge_state *s, const uint8_t *key, size_t len) {
  for (int l = s->output_level + 1; l < QX_DB_LEVELS; l++) {
    uint32_t i = qx_level_find(s->version, l, key, len);
    if (i < s->version->count[l] && qx_file_overlaps(s->version->files[l][i], key, len, key, len))
      return 0;
  }
  return 1;
}

static int should_drop(merge_state *s, const qx_ientry *e, int *new_key) {
  *new_key = !s->has_key || qx_user_key_cmp(e->key, e->key_len, s->key, s->key_len) != 0;
  if (*new_key) {
    memcpy(s->key, e->key, e->key_len);
    s->key_len = e->key_len;
    s->has_key = 1;
    s->last_lsn_of_key = UINT64_MAX;
  }
  int drop = s->last_lsn_of_key <= s->oldest_snapshot;
  if (!drop && e->kind == QX_KIND_DELETE && s->output_level >= 0 && e->lsn <= s->oldest_snapshot)
    drop = is_base_level(s, e->key, e->key_len);
  s->last_lsn_of_key = e->lsn;
  return drop;
}

/* Writes the entries of it into files; split_bytes 0 means one file. */
static int merge_into(qx_iter *it, merge_state *s, uint64_t split_bytes, output_set *o) {
  for (qx_iter_seek_first(it); qx_iter_valid(it); qx_iter_next(it)) {
    const qx_ientry *e = qx_iter_entry(it);
    int new_key;
    if (should_drop(s, e, &new_key)) continue;
    int rc = QX_OK;
    if (new_key && split_bytes && o->builder && qx_sst_builder_size(o->builder) >= split_bytes)
      rc = output_finish(o);
    if (rc == QX_OK) rc = output_add(o, e);
    if (rc != QX_OK) return rc;
  }
  int rc = qx_iter_status(it);
  return rc == QX_OK ? output_finish(o) : rc;
}

/* ---- installing results ---- */

/* Opens the outputs, writes the edit to the MANIFEST and makes it current. REQUIRES: mu. */
static int install(qx_db *db, qx_version_edit *edit, const output_set *o) {
  qx_file **opened = calloc(o->count + 1, sizeof(qx_file *));
  if (!opened) return qx_fail(QX_ERR_NOMEM, "out of memory installing table files");
  int rc = QX_OK;
  for (size_t i = 0; i < o->count && rc == QX_OK; i++)
    rc = qx_file_open(db, &o->metas[i], 1, &opened[i]);
  edit->has_next_file = 1;
  edit->next_file_number = atomic_load(&db->next_file_number);
  /* The new files' directory entries must be durable before the MANIFEST names them. */
  if (rc == QX_OK && o->count) rc = qx_fsync_dir(db->sst_dir);
  qx_version *v = NULL;
  if (rc == QX_OK) rc = qx_version_apply(db->current, edit, opened, o->count, db->olap_dir, &v);
  if (rc == QX_OK) rc = qx_manifest_append(db->manifest, edit);
  if (rc == QX_OK) {
    for (size_t i = 0; i < edit->removed_count; i++) {
      int level = edit->removed[i].level;
      for (uint32_t j = 0; j < db->current->count[level]; j++) {
        qx_file *f = db->current->files[level][j];
        if (f->meta.file_number == edit->removed[i].file_number) atomic_store(&f->obsolete, 1);
      }
    }
    qx_parquet_set_retire(db->current->parquet, &edit->parquet);
    qx_version_unref(db->current);
    db->current = v;
    v = NULL;
    rc = qx_view_install(db);
  }
  if (v) qx_version_unref(v);
  for (size_t i = 0; i < o->count; i++)
    if (opened[i]) qx_file_unref(opened[i]);
  free(opened);
  return rc;
}

int qx_install_edit(qx_db *db, qx_version_edit *edit) {
  output_set none = {.db = db};
  return install(db, edit, &none);
}

/* ---- flush ---- */

int qx_flush_memtable(qx_db *db, qx_memtable *mt) {
  uint64_t checkpoint = qx_memtable_max_lsn(mt);
  merge_state s = {
      .version = db->current, .output_level = -1, .oldest_snapshot = qx_oldest_snapshot_lsn(db)};
  output_set o = {.db = db};
  qx_iter *it;
  int rc = qx_memtable_iter_create(mt, &it);
  if (rc != QX_OK) return rc;
  pthread_mutex_unlock(&db->mu);
  rc = merge_into(it, &s, 0, &o);
  qx_iter_destroy(it);
  pthread_mutex_lock(&db->mu);
  qx_version_edit edit = {.has_checkpoint = 1, .checkpoint_lsn = checkpoint};
  for (size_t i = 0; i < o.count && rc == QX_OK; i++)
    rc = qx_edit_add(&edit, 0, &o.metas[i]);
  if (rc == QX_OK) rc = install(db, &edit, &o);
  qx_edit_free(&edit);
  if (rc != QX_OK) {
    output_abandon(&o);
    return rc;
  }
  atomic_fetch_add(&db->counters.flush_bytes, o.bytes);
  atomic_fetch_add(&db->counters.flushes, 1);
  free(o.metas);
  return QX_OK;
}

/* Flushes the oldest immutable MemTable. REQUIRES: mu, imm_count > 0. */
static int flush_oldest(qx_db *db) {
  qx_memtable *mt = db->imm[db->imm_count - 1];
  int rc = qx_flush_memtable(db, mt);
  if (rc != QX_OK) return rc;
  db->imm_count--;
  qx_memtable_unref(mt);
  rc = qx_view_install(db);
  return rc == QX_OK ? qx_trim_wal(db) : rc;
}

/* ---- picking compactions (REQUIRE: mu) ---- */

static uint64_t level_target(const qx_db *db, int level) {
  uint64_t t = db->opt.l1_size;
  for (int l = 1; l < level; l++)
    t *= 10;
  return t;
}

static void key_range(qx_file **files, uint32_t n, const qx_sst_meta **lo, const qx_sst_meta **hi) {
  *lo = *hi = &files[0]->meta;
  for (uint32_t i = 1; i < n; i++) {
    const qx_sst_meta *m = &files[i]->meta;
    if (qx_user_key_cmp(m->smallest, m->smallest_len, (*lo)->smallest, (*lo)->smallest_len) < 0)
      *lo = m;
    if (qx_user_key_cmp(m->largest, m->largest_len, (*hi)->largest, (*hi)->largest_len) > 0)
      *hi = m;
  }
}

/* Fills c->inputs[1] with the files of output_level overlapping c->inputs[0]. */
static int add_overlapping(const qx_version *v, compaction *c) {
  const qx_sst_meta *lo, *hi;
  key_range(c->inputs[0], c->count[0], &lo, &hi);
  int out = c->output_level;
  c->inputs[1] = calloc(v->count[out] + 1, sizeof *c->inputs[1]);
  if (!c->inputs[1]) return qx_fail(QX_ERR_NOMEM, "out of memory picking a compaction");
  for (uint32_t i = 0; i < v->count[out]; i++)
    if (qx_file_overlaps(v->files[out][i], lo->smallest, lo->smallest_len, hi->largest,
                         hi->largest_len))
      c->inputs[1][c->count[1]++] = v->files[out][i];
  return QX_OK;
}

/* A compaction of files [first, first+n) of level into level+1. */
static int make_compaction(const qx_version *v, int level, uint32_t first, uint32_t n,
                           compaction *c) {
  *c = (compaction){.level = level, .output_level = level + 1};
  c->inputs[0] = calloc(n + 1, sizeof(qx_file *));
  if (!c->inputs[0]) return qx_fail(QX_ERR_NOMEM, "out of memory picking a compaction");
  for (uint32_t i = 0; i < n; i++)
    c->inputs[0][c->count[0]++] = v->files[level][first + i];
  int rc = add_overlapping(v, c);
  c->trivial_move = rc == QX_OK && level > 0 && n == 1 && c->count[1] == 0;
  return rc;
}

static int most_urgent_level(const qx_db *db, const qx_version *v) {
  if (v->count[0] >= (uint32_t)db->opt.l0_compaction_trigger) return 0;
  int best = -1;
  double best_score = 1.0;
  for (int l = 1; l < QX_DB_LEVELS - 1; l++) {
    double score = (double)qx_level_bytes(v, l) / (double)level_target(db, l);
    if (score >= best_score) {
      best_score = score;
      best = l;
    }
  }
  return best;
}

/* The first file of level after the level's compact pointer (wrapping around). */
static uint32_t next_file_in_turn(const qx_db *db, const qx_version *v, int level) {
  for (uint32_t i = 0; i < v->count[level]; i++) {
    const qx_sst_meta *m = &v->files[level][i]->meta;
    if (qx_user_key_cmp(m->smallest, m->smallest_len, db->compact_pointer[level],
                        db->compact_pointer_len[level]) > 0)
      return i;
  }
  return 0;
}

/* Returns 1 and fills c if a level needs compaction, 0 if none, < 0 on error. */
static int pick_compaction(qx_db *db, compaction *c) {
  const qx_version *v = db->current;
  int level = most_urgent_level(db, v);
  if (level < 0) return 0;
  int rc = level == 0 ? make_compaction(v, 0, 0, v->count[0], c)
                      : make_compaction(v, level, next_file_in_turn(db, v, level), 1, c);
  return rc == QX_OK ? 1 : rc;
}

/* ---- running compactions ---- */

static void compaction_free(compaction *c) {
  free(c->inputs[0]);
  free(c->inputs[1]);
}

static int open_inputs(const compaction *c, qx_iter **out) {
  size_t n = c->count[0] + c->count[1], made = 0;
  qx_iter **children = calloc(n + 1, sizeof *children);
  if (!children) return qx_fail(QX_ERR_NOMEM, "out of memory for a compaction");
  int rc = QX_OK;
  for (int side = 0; side < 2 && rc == QX_OK; side++)
    for (uint32_t i = 0; i < c->count[side] && rc == QX_OK; i++) {
      rc = qx_sst_iter_create(c->inputs[side][i]->sst, &children[made]);
      if (rc == QX_OK) made++;
    }
  if (rc == QX_OK) {
    rc = qx_merge_iter_create(children, made, out);
  } else {
    for (size_t i = 0; i < made; i++)
      qx_iter_destroy(children[i]);
  }
  free(children);
  return rc;
}

static int edit_for(const compaction *c, const output_set *o, qx_version_edit *edit) {
  int rc = QX_OK;
  for (int side = 0; side < 2; side++)
    for (uint32_t i = 0; i < c->count[side] && rc == QX_OK; i++)
      rc = qx_edit_remove(edit, side == 0 ? c->level : c->output_level,
                          c->inputs[side][i]->meta.file_number);
  for (size_t i = 0; i < o->count && rc == QX_OK; i++)
    rc = qx_edit_add(edit, c->output_level, &o->metas[i]);
  return rc;
}

static uint64_t input_bytes(const compaction *c) {
  uint64_t sum = 0;
  for (int side = 0; side < 2; side++)
    for (uint32_t i = 0; i < c->count[side]; i++)
      sum += c->inputs[side][i]->meta.file_size;
  return sum;
}

static void remember_position(qx_db *db, const compaction *c) {
  const qx_sst_meta *lo, *hi;
  key_range(c->inputs[0], c->count[0], &lo, &hi);
  memcpy(db->compact_pointer[c->level], hi->largest, hi->largest_len);
  db->compact_pointer_len[c->level] = hi->largest_len;
}

/* Moves the single input file one level down by editing the MANIFEST only. */
static int run_trivial_move(qx_db *db, const compaction *c) {
  qx_file *f = c->inputs[0][0];
  qx_version_edit edit = {0};
  int rc = qx_edit_remove(&edit, c->level, f->meta.file_number);
  if (rc == QX_OK) rc = qx_edit_add(&edit, c->output_level, &f->meta);
  atomic_fetch_add(&f->refs, 1); /* handed to qx_version_apply as an "opened" file */
  qx_file *opened[1] = {f};
  edit.has_next_file = 1;
  edit.next_file_number = atomic_load(&db->next_file_number);
  qx_version *v = NULL;
  if (rc == QX_OK) rc = qx_version_apply(db->current, &edit, opened, 1, db->olap_dir, &v);
  if (rc == QX_OK) rc = qx_manifest_append(db->manifest, &edit);
  if (rc == QX_OK) {
    qx_version_unref(db->current);
    db->current = v;
    v = NULL;
    rc = qx_view_install(db);
  }
  if (v) qx_version_unref(v);
  qx_file_unref(f);
  qx_edit_free(&edit);
  return rc;
}

/* Runs c: merges its inputs without the mutex, then installs. REQUIRES: mu. */
static int run_compaction(qx_db *db, compaction *c) {
  remember_position(db, c);
  if (c->trivial_move) return run_trivial_move(db, c);
  merge_state s = {.version = db->current,
                   .output_level = c->output_level,
                   .oldest_snapshot = qx_oldest_snapshot_lsn(db)};
  qx_version_ref(db->current); /* keeps the inputs alive while unlocked */
  qx_version *pinned = db->current;
  uint64_t bytes_read = input_bytes(c);
  output_set o = {.db = db};
  qx_iter *it = NULL;
  int rc = open_inputs(c, &it);
  pthread_mutex_unlock(&db->mu);
  if (rc == QX_OK && it) {
    rc = merge_into(it, &s, db->opt.sst_file_size, &o);
    qx_iter_destroy(it);
  }
  pthread_mutex_lock(&db->mu);
  qx_version_edit edit = {0};
  if (rc == QX_OK) rc = edit_for(c, &o, &edit);
  if (rc == QX_OK) rc = install(db, &edit, &o);
  qx_edit_free(&edit);
  qx_version_unref(pinned);
  if (rc != QX_OK) {
    output_abandon(&o);
    return rc;
  }
  atomic_fetch_add(&db->counters.compaction_read, bytes_read);
  atomic_fetch_add(&db->counters.compaction_written, o.bytes);
  atomic_fetch_add(&db->counters.compactions, 1);
  free(o.metas);
  return QX_OK;
}

/* qx_db_compact: every level in turn into the next, down to the deepest non-empty one. */
static int run_manual_compaction(qx_db *db) {
  int last = 1;
  for (int l = 1; l < QX_DB_LEVELS; l++)
    if (db->current->count[l]) last = l;
  for (int l = 0; l < last; l++) {
    if (db->current->count[l] == 0) continue;
    compaction c;
    int rc = make_compaction(db->current, l, 0, db->current->count[l], &c);
    c.trivial_move = 0;
    if (rc == QX_OK) rc = run_compaction(db, &c);
    compaction_free(&c);
    if (rc != QX_OK) return rc;
  }
  return QX_OK;
}

static void record_failure(qx_db *db, int rc) {
  if (rc == QX_OK || db->bg_error) return;
  db->bg_error = rc;
  fprintf(stderr, "qaxdb: background work failed, writes stop: %s\n", qx_last_error());
}

/* The flush thread's step: the oldest immutable MemTable, if any. REQUIRES: mu. */
static int flush_step(qx_db *db) {
  if (db->imm_count == 0) return 0;
  record_failure(db, flush_oldest(db));
  pthread_cond_broadcast(&db->work_cv); /* a new level-0 file may call for a compaction */
  return 1;
}

/* The compaction thread's step: a requested full compaction, else the most urgent level.
 * REQUIRES: mu. */
static int compaction_step(qx_db *db) {
  int rc;
  if (db->manual_compaction) {
    rc = run_manual_compaction(db);
    db->manual_compaction = 0;
  } else {
    compaction c = {0};
    int picked = pick_compaction(db, &c);
    rc = picked > 0 ? run_compaction(db, &c) : picked;
    compaction_free(&c);
    if (picked == 0) return 0;
  }
  record_failure(db, rc);
  return 1;
}

/* Runs step until shutdown; both threads wait on work_cv when they have nothing to do. */
static void background_loop(qx_db *db, int (*step)(qx_db *)) {
  pthread_mutex_lock(&db->mu);
  while (!db->shutting_down) {
    if (db->bg_error) {
      db->manual_compaction = 0;
      pthread_cond_broadcast(&db->done_cv);
      pthread_cond_wait(&db->work_cv, &db->mu);
      continue;
    }
    uint64_t cpu = thread_cpu_ns();
    int worked = step(db);
    atomic_fetch_add(&db->counters.compaction_cpu_ns, thread_cpu_ns() - cpu);
    pthread_cond_broadcast(&db->done_cv);
    if (!worked) pthread_cond_wait(&db->work_cv, &db->mu);
  }
  pthread_mutex_unlock(&db->mu);
}

void *qx_flush_main(void *arg) {
  background_loop(arg, flush_step);
  return NULL;
}

void *qx_compaction_main(void *arg) {
  background_loop(arg, compaction_step);
  return NULL;
}
