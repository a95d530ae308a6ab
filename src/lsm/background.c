/* The background threads: one flushes immutable MemTables to level 0, the other compacts
 * levels, so that a long compaction never keeps a full MemTable from its flush (which would
 * stall writers).
 *
 * Leveled compaction: level 0 is compacted into level 1 when it holds l0_compaction_trigger
 * files; a level L >= 1 is compacted into L+1 when its bytes exceed its target (l1_size *
 * 10^(L-1)), one file at a time in round-robin key order. A compaction merges its inputs with
 * a k-way merge into new files split at sst_file_size (table_merge.c has the drop rules) and
 * installs them through the version set. Work runs without the mutex; only picking and
 * installing hold it (see db_impl.h). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lsm/db_impl.h"
#include "lsm/merge_iter.h"
#include "lsm/table_merge.h"
#include "util/error.h"
#include "util/require.h"
#include "util/thread.h"

typedef struct compaction {
  int level, output_level;
  qx_file **inputs[2]; /* files of level and of output_level */
  uint32_t count[2];
  int trivial_move; /* one file, nothing below it overlaps: move it without rewriting */
} compaction;

static uint64_t thread_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A merge into new files for db, its outputs at output_level. REQUIRES: mu. */
static qx_table_merge merge_for(qx_db *db, const qx_version *v, int output_level,
                                uint64_t split_bytes) {
  QX_REQUIRE_HELD(&db->mu);
  qx_table_merge m = {.vs = &db->vset,
                      .version = v,
                      .output_level = output_level,
                      .oldest_snapshot = qx_oldest_snapshot_lsn(db),
                      .split_bytes = split_bytes};
  qx_sst_options_init(&m.sst);
  m.sst.compression = db->opt.compression;
  m.sst.bloom_bits_per_key = db->opt.bloom_bits_per_key;
  return m;
}

/* ---- flush ---- */

int qx_flush_memtable(qx_db *db, qx_memtable *mt) {
  QX_REQUIRE_HELD(&db->mu);
  uint64_t checkpoint = qx_memtable_max_lsn(mt);
  qx_table_merge m = merge_for(db, db->vset.current, -1, 0);
  qx_iter *it;
  int rc = qx_memtable_iter_create(mt, &it);
  if (rc != QX_OK) return rc;
  pthread_mutex_unlock(&db->mu);
  rc = qx_table_merge_run(&m, it);
  qx_iter_destroy(it);
  pthread_mutex_lock(&db->mu);
  if (rc != QX_OK) return rc;
  qx_version_edit edit = {.has_checkpoint = 1, .checkpoint_lsn = checkpoint};
  for (size_t i = 0; i < m.count && rc == QX_OK; i++)
    rc = qx_edit_add(&edit, 0, &m.metas[i]);
  if (rc == QX_OK) rc = qx_vset_install(&db->vset, &edit);
  qx_edit_free(&edit);
  qx_table_merge_free(&m); /* a failed install may have named the files: open sorts it out */
  if (rc != QX_OK) return rc;
  qx_count(&db->counters, QX_TOTAL_FLUSH_BYTES, m.bytes);
  qx_count(&db->counters, QX_TOTAL_FLUSHES, 1);
  return QX_OK;
}

/* Flushes the oldest immutable MemTable. REQUIRES: mu, imm_count > 0. */
static int flush_oldest(qx_db *db) {
  QX_REQUIRE_HELD(&db->mu);
  QX_REQUIRE(db->imm_count > 0);
  qx_memtable *mt = db->imm[db->imm_count - 1];
  int rc = qx_flush_memtable(db, mt);
  if (rc != QX_OK) return rc;
  db->imm_count--;
  qx_memtable_unref(mt);
  rc = qx_view_install(db);
  return rc == QX_OK ? qx_vset_trim_wal(&db->vset) : rc;
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
  const qx_version *v = db->vset.current;
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
  rc = qx_merge_iter_finish(rc, children, made, out);
  free(children);
  return rc;
}

static int edit_for(const compaction *c, const qx_table_merge *o, qx_version_edit *edit) {
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
  const qx_file *f = c->inputs[0][0];
  qx_version_edit edit = {0};
  int rc = qx_edit_remove(&edit, c->level, f->meta.file_number);
  if (rc == QX_OK) rc = qx_edit_add(&edit, c->output_level, &f->meta);
  if (rc == QX_OK) rc = qx_vset_install(&db->vset, &edit);
  qx_edit_free(&edit);
  return rc;
}

/* Runs c: merges its inputs without the mutex, then installs. REQUIRES: mu. */
static int run_compaction(qx_db *db, compaction *c) {
  QX_REQUIRE_HELD(&db->mu);
  remember_position(db, c);
  if (c->trivial_move) return run_trivial_move(db, c);
  qx_version *pinned = db->vset.current; /* keeps the inputs alive while unlocked */
  qx_version_ref(pinned);
  qx_table_merge m = merge_for(db, pinned, c->output_level, db->opt.sst_file_size);
  uint64_t bytes_read = input_bytes(c);
  qx_iter *it = NULL;
  int rc = open_inputs(c, &it);
  pthread_mutex_unlock(&db->mu);
  if (rc == QX_OK) {
    rc = qx_table_merge_run(&m, it);
    qx_iter_destroy(it);
  }
  pthread_mutex_lock(&db->mu);
  qx_version_edit edit = {0};
  if (rc == QX_OK) rc = edit_for(c, &m, &edit);
  if (rc == QX_OK) rc = qx_vset_install(&db->vset, &edit);
  qx_edit_free(&edit);
  qx_version_unref_later(pinned, &db->reclaimer); /* may retire files: not under mu */
  qx_table_merge_free(&m); /* a failed install may have named the files: open sorts it out */
  if (rc != QX_OK) return rc;
  qx_count(&db->counters, QX_TOTAL_COMPACTION_READ, bytes_read);
  qx_count(&db->counters, QX_TOTAL_COMPACTION_WRITTEN, m.bytes);
  qx_count(&db->counters, QX_TOTAL_COMPACTIONS, 1);
  return QX_OK;
}

/* qx_db_compact: every level in turn into the next, down to the deepest non-empty one. */
static int run_manual_compaction(qx_db *db) {
  int last = 1;
  for (int l = 1; l < QX_DB_LEVELS; l++)
    if (db->vset.current->count[l]) last = l;
  for (int l = 0; l < last; l++) {
    if (db->vset.current->count[l] == 0) continue;
    compaction c;
    int rc = make_compaction(db->vset.current, l, 0, db->vset.current->count[l], &c);
    c.trivial_move = 0;
    if (rc == QX_OK) rc = run_compaction(db, &c);
    compaction_free(&c);
    if (rc != QX_OK) return rc;
  }
  return QX_OK;
}

/* The flush thread's step: the oldest immutable MemTable, if any. REQUIRES: mu. */
static int flush_step(qx_db *db) {
  QX_REQUIRE_HELD(&db->mu);
  if (db->imm_count == 0) return 0;
  qx_db_fail(db, flush_oldest(db));
  pthread_cond_broadcast(&db->work_cv); /* a new level-0 file may call for a compaction */
  return 1;
}

/* The compaction thread's step: a requested full compaction, else the most urgent level.
 * REQUIRES: mu. */
static int compaction_step(qx_db *db) {
  QX_REQUIRE_HELD(&db->mu);
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
  qx_db_fail(db, rc);
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
    qx_count(&db->counters, QX_TOTAL_BACKGROUND_CPU_NS, thread_cpu_ns() - cpu);
    pthread_cond_broadcast(&db->done_cv);
    if (!worked) pthread_cond_wait(&db->work_cv, &db->mu);
  }
  pthread_mutex_unlock(&db->mu);
}

void *qx_flush_main(void *arg) {
  qx_thread_name("qx-flush");
  background_loop(arg, flush_step);
  return NULL;
}

void *qx_compaction_main(void *arg) {
  qx_thread_name("qx-compact");
  background_loop(arg, compaction_step);
  return NULL;
}
