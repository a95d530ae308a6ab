/* The read side of the engine: read views, snapshots, point lookups and ordered iterators.
 * Nothing here takes the engine's mutex (see db_impl.h). */
#include <sched.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "lsm/db_impl.h"
#include "lsm/merge_iter.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/require.h"

/* ---- views ---- */

qx_read_view *qx_view_acquire(qx_db *db) {
  pthread_mutex_lock(&db->view_mu);
  qx_read_view *rv = db->view;
  atomic_fetch_add_explicit(&rv->refs, 1, memory_order_relaxed);
  pthread_mutex_unlock(&db->view_mu);
  return rv;
}

static void view_free(qx_deferred *item) {
  qx_read_view *rv = (qx_read_view *)((char *)item - offsetof(qx_read_view, deferred));
  qx_memtable_unref(rv->mem);
  for (int i = 0; i < rv->imm_count; i++)
    qx_memtable_unref(rv->imm[i]);
  qx_version_unref(rv->version);
  free(rv);
}

void qx_view_release(qx_read_view *rv) {
  if (atomic_fetch_sub_explicit(&rv->refs, 1, memory_order_acq_rel) != 1) return;
  qx_defer_free(rv->reclaimer, &rv->deferred);
}

int qx_view_install(qx_db *db) {
  QX_REQUIRE_HELD(&db->mu);
  qx_read_view *rv = calloc(1, sizeof *rv);
  if (!rv) return qx_fail(QX_ERR_NOMEM, "out of memory for a read view");
  atomic_init(&rv->refs, 1);
  rv->reclaimer = &db->reclaimer;
  rv->deferred.free_fn = view_free;
  rv->mem = db->mem;
  qx_memtable_ref(rv->mem);
  for (int i = 0; i < db->imm_count; i++) {
    rv->imm[i] = db->imm[i];
    qx_memtable_ref(rv->imm[i]);
  }
  rv->imm_count = db->imm_count;
  rv->version = db->vset.current;
  qx_version_ref(rv->version);
  rv->cache = db->cache;
  atomic_store(&db->l0_files, (int)db->vset.current->count[0]);
  pthread_mutex_lock(&db->view_mu);
  qx_read_view *old = db->view;
  db->view = rv;
  pthread_mutex_unlock(&db->view_mu);
  if (old) qx_view_release(old);
  return QX_OK;
}

/* ---- snapshots ---- */

static uint64_t visible_lsn(qx_db *db) {
  return atomic_load_explicit(&db->visible_lsn, memory_order_acquire);
}

/* Links s into the list, which stays ordered by LSN. REQUIRES: snap_mu. */
static void link_snapshot(qx_db *db, qx_snapshot *s) {
  QX_REQUIRE_HELD(&db->snap_mu);
  qx_snapshot *after = db->snapshots.prev;
  while (after != &db->snapshots && after->lsn > s->lsn)
    after = after->prev;
  s->prev = after;
  s->next = after->next;
  after->next->prev = s;
  after->next = s;
  db->snapshot_count++;
}

qx_snapshot *qx_db_snapshot_create(qx_db *db) {
  qx_snapshot *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  pthread_mutex_lock(&db->snap_mu);
  s->lsn = visible_lsn(db); /* under snap_mu, so no later snapshot can be older */
  link_snapshot(db, s);
  pthread_mutex_unlock(&db->snap_mu);
  return s;
}

qx_snapshot *qx_db_snapshot_create_at(qx_db *db, uint64_t lsn) {
  /* A writer holding mu has put lsn in the WAL and is inserting it into the MemTable; a read
   * at lsn must wait for that, or it would miss records the WAL already holds. A second is
   * far beyond any insert: the writer has failed and will not publish lsn. */
  int64_t give_up = qx_monotonic_ns() + 1000000000;
  while (visible_lsn(db) < lsn) {
    if (qx_monotonic_ns() > give_up) return NULL;
    sched_yield();
  }
  qx_snapshot *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->lsn = lsn;
  pthread_mutex_lock(&db->snap_mu);
  link_snapshot(db, s);
  pthread_mutex_unlock(&db->snap_mu);
  return s;
}

void qx_db_snapshot_release(qx_db *db, qx_snapshot *s) {
  if (!s) return;
  pthread_mutex_lock(&db->snap_mu);
  s->prev->next = s->next;
  s->next->prev = s->prev;
  db->snapshot_count--;
  pthread_mutex_unlock(&db->snap_mu);
  free(s);
}

uint64_t qx_snapshot_lsn(const qx_snapshot *s) {
  return s->lsn;
}

uint64_t qx_oldest_snapshot_lsn(qx_db *db) {
  pthread_mutex_lock(&db->snap_mu);
  uint64_t lsn = db->snapshots.next != &db->snapshots ? db->snapshots.next->lsn : visible_lsn(db);
  pthread_mutex_unlock(&db->snap_mu);
  return lsn;
}

/* ---- splitting a key range ---- */

static int starts_with(const uint8_t *key, size_t len, const uint8_t *prefix, size_t prefix_len) {
  return len >= prefix_len && memcmp(key, prefix, prefix_len) == 0;
}

size_t qx_db_split_keys(qx_db *db, const uint8_t *prefix, size_t prefix_len, size_t max,
                        qx_split_key *out) {
  qx_read_view *rv = qx_view_acquire(db);
  const qx_version *v = rv->version;
  size_t n = 0;
  /* Level 0 files overlap each other: their boundaries split nothing evenly. Deeper levels are
   * sorted, so the files starting inside the prefix are consecutive. */
  for (int level = QX_DB_LEVELS - 1; level >= 1 && n == 0; level--) {
    uint32_t first = 0, count = 0;
    for (uint32_t i = 0; i < v->count[level]; i++) {
      const qx_sst_meta *m = &v->files[level][i]->meta;
      if (!starts_with(m->smallest, m->smallest_len, prefix, prefix_len)) continue;
      if (count++ == 0) first = i;
    }
    size_t last_at = 0; /* the first part starts at the prefix, not at a file */
    for (size_t part = 1; part <= max && count > 1; part++) {
      size_t at = part * count / (max + 1);
      if (at == last_at) continue;
      last_at = at;
      const qx_sst_meta *m = &v->files[level][first + at]->meta;
      memcpy(out[n].key, m->smallest, m->smallest_len);
      out[n++].len = m->smallest_len;
    }
  }
  qx_view_release(rv);
  return n;
}

/* ---- point lookups ---- */

/* Searches the table files of v, newest data first. Returns 1 found, 0 absent, < 0 error. */
static int get_from_files(const qx_version *v, const uint8_t *key, size_t len, uint64_t lsn,
                          qx_ientry *e, qx_cache_handle **pin) {
  for (uint32_t i = 0; i < v->count[0]; i++) {
    const qx_file *f = v->files[0][i];
    if (!qx_file_overlaps(f, key, len, key, len)) continue;
    int rc = qx_sst_get(f->sst, key, len, lsn, e, pin);
    if (rc != 0) return rc;
  }
  for (int l = 1; l < QX_DB_LEVELS; l++) {
    uint32_t i = qx_level_find(v, l, key, len);
    if (i == v->count[l] || !qx_file_overlaps(v->files[l][i], key, len, key, len)) continue;
    int rc = qx_sst_get(v->files[l][i]->sst, key, len, lsn, e, pin);
    if (rc != 0) return rc;
  }
  return 0;
}

static int get_in_view(const qx_read_view *rv, const uint8_t *key, size_t len, uint64_t lsn,
                       qx_ientry *e, qx_cache_handle **pin) {
  *pin = NULL;
  if (qx_memtable_get(rv->mem, key, len, lsn, e)) return 1;
  for (int i = 0; i < rv->imm_count; i++)
    if (qx_memtable_get(rv->imm[i], key, len, lsn, e)) return 1;
  return get_from_files(rv->version, key, len, lsn, e, pin);
}

int qx_db_get(qx_db *db, const qx_snapshot *snapshot, const void *key, size_t key_len,
              qx_db_value *value) {
  memset(value, 0, sizeof *value);
  if (key_len == 0 || key_len > QX_DB_MAX_KEY)
    return qx_fail(QX_ERR_INVALID_ARG, "key length %zu outside 1..%d", key_len, QX_DB_MAX_KEY);
  qx_read_view *rv = qx_view_acquire(db);
  uint64_t lsn = snapshot ? snapshot->lsn : visible_lsn(db);
  qx_ientry e;
  qx_cache_handle *pin = NULL;
  int rc = get_in_view(rv, key, key_len, lsn, &e, &pin);
  if (rc == 1 && e.kind == QX_KIND_PUT) {
    *value = (qx_db_value){e.value, e.value_len, e.lsn, {rv, pin}};
    return QX_OK;
  }
  if (pin) qx_block_cache_release(rv->cache, pin);
  qx_view_release(rv);
  return rc < 0 ? rc : QX_ERR_NOT_FOUND;
}

void qx_db_value_release(qx_db_value *value) {
  qx_read_view *rv = value->pin_[0];
  if (!rv) return;
  if (value->pin_[1]) qx_block_cache_release(rv->cache, value->pin_[1]);
  qx_view_release(rv);
  memset(value, 0, sizeof *value);
}

/* ---- iterators ---- */

struct qx_db_iter {
  qx_read_view *rv;
  qx_iter *merged;
  uint64_t lsn;
  uint8_t to[QX_DB_MAX_KEY];
  size_t to_len;
  int has_to;
  uint8_t key[QX_DB_MAX_KEY]; /* the current user key (copied: blocks may move) */
  size_t key_len;
  int has_key;
  const qx_ientry *current;
  int status;
};

/* Advances to the newest visible version of the next user key that is not deleted. */
static void settle(qx_db_iter *it) {
  it->current = NULL;
  while (qx_iter_valid(it->merged)) {
    const qx_ientry *e = qx_iter_entry(it->merged);
    if (it->has_to && qx_user_key_cmp(e->key, e->key_len, it->to, it->to_len) >= 0) return;
    int same = it->has_key && qx_user_key_cmp(e->key, e->key_len, it->key, it->key_len) == 0;
    if (e->lsn <= it->lsn && !same) {
      memcpy(it->key, e->key, e->key_len);
      it->key_len = e->key_len;
      it->has_key = 1;
      if (e->kind == QX_KIND_PUT) {
        it->current = e;
        return;
      }
    }
    qx_iter_next(it->merged);
  }
  it->status = qx_iter_status(it->merged);
}

/* Keeps *child if creating it (status rc) succeeded. */
static int add_child(qx_iter **children, size_t *n, int rc, qx_iter *const *child) {
  if (rc == QX_OK) children[(*n)++] = *child;
  return rc;
}

static int build_children(const qx_read_view *rv, qx_iter **children, size_t *n) {
  qx_iter *child = NULL;
  int rc = add_child(children, n, qx_memtable_iter_create(rv->mem, &child), &child);
  for (int i = 0; i < rv->imm_count && rc == QX_OK; i++)
    rc = add_child(children, n, qx_memtable_iter_create(rv->imm[i], &child), &child);
  const qx_version *v = rv->version;
  for (uint32_t i = 0; i < v->count[0] && rc == QX_OK; i++)
    rc = add_child(children, n, qx_sst_iter_create(v->files[0][i]->sst, &child), &child);
  for (int l = 1; l < QX_DB_LEVELS && rc == QX_OK; l++)
    if (v->count[l]) rc = add_child(children, n, qx_level_iter_create(v, l, &child), &child);
  return rc;
}

static int open_merged(const qx_read_view *rv, qx_iter **out) {
  const qx_version *v = rv->version;
  size_t cap = 1 + QX_MAX_IMMUTABLE + v->count[0] + QX_DB_LEVELS, n = 0;
  qx_iter **children = calloc(cap, sizeof *children);
  if (!children) return qx_fail(QX_ERR_NOMEM, "out of memory for an iterator");
  int rc = build_children(rv, children, &n);
  rc = qx_merge_iter_finish(rc, children, n, out);
  free(children);
  return rc;
}

int qx_db_iter_create(qx_db *db, const qx_snapshot *snapshot, const void *from, size_t from_len,
                      const void *to, size_t to_len, qx_db_iter **out) {
  if ((from && (from_len == 0 || from_len > QX_DB_MAX_KEY)) || (to && to_len > QX_DB_MAX_KEY))
    return qx_fail(QX_ERR_INVALID_ARG, "iterator bound longer than %d bytes", QX_DB_MAX_KEY);
  qx_db_iter *it = calloc(1, sizeof *it);
  if (!it) return qx_fail(QX_ERR_NOMEM, "out of memory for an iterator");
  it->rv = qx_view_acquire(db);
  it->lsn = snapshot ? snapshot->lsn : visible_lsn(db);
  if (to) {
    memcpy(it->to, to, to_len);
    it->to_len = to_len;
    it->has_to = 1;
  }
  int rc = open_merged(it->rv, &it->merged);
  if (rc != QX_OK) {
    qx_view_release(it->rv);
    free(it);
    return rc;
  }
  qx_db_iter_seek(it, from, from_len);
  *out = it;
  return QX_OK;
}

void qx_db_iter_seek(qx_db_iter *it, const void *key, size_t key_len) {
  it->has_key = 0;
  if (key && key_len > 0 && key_len <= QX_DB_MAX_KEY)
    qx_iter_seek(it->merged, key, key_len, UINT64_MAX);
  else
    qx_iter_seek_first(it->merged);
  settle(it);
}

/* The smallest key greater than every key with this prefix; 0 if there is none. */
static size_t prefix_end(const uint8_t *prefix, size_t len, uint8_t *out) {
  while (len > 0 && prefix[len - 1] == 0xFF)
    len--;
  if (len == 0) return 0;
  memcpy(out, prefix, len);
  out[len - 1]++;
  return len;
}

int qx_db_iter_create_prefix(qx_db *db, const qx_snapshot *snapshot, const void *prefix,
                             size_t prefix_len, qx_db_iter **out) {
  if (prefix_len == 0 || prefix_len > QX_DB_MAX_KEY)
    return qx_fail(QX_ERR_INVALID_ARG, "prefix length %zu outside 1..%d", prefix_len,
                   QX_DB_MAX_KEY);
  uint8_t end[QX_DB_MAX_KEY];
  size_t end_len = prefix_end(prefix, prefix_len, end);
  return qx_db_iter_create(db, snapshot, prefix, prefix_len, end_len ? end : NULL, end_len, out);
}

int qx_db_iter_valid(const qx_db_iter *it) {
  return it->current != NULL;
}

void qx_db_iter_next(qx_db_iter *it) {
  qx_iter_next(it->merged);
  settle(it);
}

const void *qx_db_iter_key(const qx_db_iter *it, size_t *len) {
  *len = it->key_len;
  return it->key;
}

const void *qx_db_iter_value(const qx_db_iter *it, size_t *len) {
  *len = it->current->value_len;
  return it->current->value;
}

uint64_t qx_db_iter_lsn(const qx_db_iter *it) {
  return it->current->lsn;
}

int qx_db_iter_status(const qx_db_iter *it) {
  return it->status;
}

void qx_db_iter_destroy(qx_db_iter *it) {
  if (!it) return;
  qx_iter_destroy(it->merged);
  qx_view_release(it->rv);
  free(it);
}
