/* The MemTable's skiplist (contract and invariants in memtable.h).
 *
 * A node is one allocation in the arena: the header, its tower of next pointers (height
 * 1..MAX_HEIGHT, chosen with probability 1/4 per extra level), then the key and the value,
 * each 8-byte aligned so the value can be used in place as a record. The writer links a node
 * bottom-up with release stores after filling it; readers follow next pointers with acquire
 * loads. max_height may be seen larger than the highest linked node: readers then start at a
 * head pointer that is still NULL and simply drop a level, which is harmless. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "memtable/arena.h"
#include "memtable/memtable.h"
#include "util/error.h"
#include "util/require.h"

#define MAX_HEIGHT 12
#define BRANCHING 4

typedef struct node node;
struct node {
  uint64_t lsn;
  const uint8_t *key;
  const void *value;
  uint32_t key_len;
  uint32_t value_len;
  uint8_t kind;
  _Atomic(node *) next[]; /* height entries */
};

struct qx_memtable {
  atomic_int refs;
  arena arena;
  size_t size_limit;
  node *head;
  atomic_int max_height;
  atomic_uint_fast64_t entries;
  atomic_uint_fast64_t max_lsn;
  uint64_t rng; /* the writer's */
};

static node *next_of(const node *n, int level) {
  return atomic_load_explicit(&((node *)n)->next[level], memory_order_acquire);
}

static int node_cmp(const node *n, const uint8_t *key, size_t len, uint64_t lsn) {
  return qx_ikey_cmp(n->key, n->key_len, n->lsn, key, len, lsn);
}

/* The first node >= (key, lsn); fills prev[level] with the last node before it per level when
 * prev is not NULL. */
static node *find_ge(const qx_memtable *mt, const uint8_t *key, size_t len, uint64_t lsn,
                     node **prev) {
  node *x = mt->head;
  int level = atomic_load_explicit(&((qx_memtable *)mt)->max_height, memory_order_relaxed) - 1;
  for (;;) {
    node *n = next_of(x, level);
    if (n && node_cmp(n, key, len, lsn) < 0) {
      x = n;
      continue;
    }
    if (prev) prev[level] = x;
    if (level == 0) return n;
    level--;
  }
}

static int random_height(qx_memtable *mt) {
  int h = 1;
  while (h < MAX_HEIGHT) {
    mt->rng ^= mt->rng << 13;
    mt->rng ^= mt->rng >> 7;
    mt->rng ^= mt->rng << 17;
    if (mt->rng % BRANCHING != 0) break;
    h++;
  }
  return h;
}

static node *new_node(qx_memtable *mt, int height, const uint8_t *key, size_t key_len,
                      const void *value, size_t value_len) {
  size_t header = sizeof(node) + (size_t)height * sizeof(_Atomic(node *));
  size_t key_at = (header + 7) & ~(size_t)7, value_at = key_at + ((key_len + 7) & ~(size_t)7);
  uint8_t *p = qx_arena_alloc(&mt->arena, value_at + value_len);
  if (!p) return NULL;
  node *n = (node *)p;
  if (key_len) memcpy(p + key_at, key, key_len);
  if (value_len) memcpy(p + value_at, value, value_len);
  n->key = p + key_at;
  n->value = p + value_at;
  n->key_len = (uint32_t)key_len;
  n->value_len = (uint32_t)value_len;
  for (int i = 0; i < height; i++)
    atomic_init(&n->next[i], NULL);
  return n;
}

int qx_memtable_create(size_t size_limit, qx_memtable **out) {
  qx_memtable *mt = calloc(1, sizeof *mt);
  if (!mt) return qx_fail(QX_ERR_NOMEM, "out of memory for a MemTable");
  size_t chunk = size_limit / 16;
  chunk = chunk < (16u << 10) ? (16u << 10) : chunk > (1u << 20) ? (1u << 20) : chunk;
  qx_arena_init(&mt->arena, chunk);
  atomic_init(&mt->refs, 1);
  atomic_init(&mt->max_height, 1);
  mt->size_limit = size_limit;
  mt->rng = 0x9E3779B97F4A7C15u;
  mt->head = new_node(mt, MAX_HEIGHT, NULL, 0, NULL, 0);
  if (!mt->head) {
    qx_arena_free(&mt->arena);
    free(mt);
    return qx_fail(QX_ERR_NOMEM, "out of memory for a MemTable");
  }
  *out = mt;
  return QX_OK;
}

void qx_memtable_ref(qx_memtable *mt) {
  atomic_fetch_add_explicit(&mt->refs, 1, memory_order_relaxed);
}

void qx_memtable_unref(qx_memtable *mt) {
  if (!mt || atomic_fetch_sub_explicit(&mt->refs, 1, memory_order_acq_rel) != 1) return;
  qx_arena_free(&mt->arena);
  free(mt);
}

int qx_memtable_add(qx_memtable *mt, const uint8_t *key, size_t key_len, uint64_t lsn, uint8_t kind,
                    const void *value, size_t value_len) {
  QX_REQUIRE(key_len <= QX_DB_MAX_KEY && value_len <= QX_DB_MAX_VALUE);
  node *prev[MAX_HEIGHT];
  node *at = find_ge(mt, key, key_len, lsn, prev);
  QX_REQUIRE(!at || node_cmp(at, key, key_len, lsn) != 0); /* (key, lsn) not present */
  (void)at; /* only the check above reads it, and release builds compile that out */
  int height = random_height(mt);
  int max = atomic_load_explicit(&mt->max_height, memory_order_relaxed);
  for (int i = max; i < height; i++)
    prev[i] = mt->head;
  node *n = new_node(mt, height, key, key_len, value, value_len);
  if (!n) return qx_fail(QX_ERR_NOMEM, "out of memory for a MemTable entry");
  n->lsn = lsn;
  n->kind = kind;
  if (height > max) atomic_store_explicit(&mt->max_height, height, memory_order_relaxed);
  for (int i = 0; i < height; i++) {
    atomic_store_explicit(&n->next[i], next_of(prev[i], i), memory_order_relaxed);
    atomic_store_explicit(&prev[i]->next[i], n, memory_order_release);
  }
  atomic_fetch_add_explicit(&mt->entries, 1, memory_order_relaxed);
  if (lsn > atomic_load_explicit(&mt->max_lsn, memory_order_relaxed))
    atomic_store_explicit(&mt->max_lsn, lsn, memory_order_relaxed);
  return QX_OK;
}

static void fill_entry(const node *n, qx_ientry *out) {
  *out = (qx_ientry){n->key, n->key_len, n->kind, n->lsn, n->value, n->value_len};
}

int qx_memtable_get(const qx_memtable *mt, const uint8_t *key, size_t key_len,
                    uint64_t snapshot_lsn, qx_ientry *out) {
  node *n = find_ge(mt, key, key_len, snapshot_lsn, NULL);
  if (!n || qx_user_key_cmp(n->key, n->key_len, key, key_len) != 0) return 0;
  fill_entry(n, out);
  return 1;
}

size_t qx_memtable_memory_usage(const qx_memtable *mt) {
  return qx_arena_usage(&mt->arena);
}

int qx_memtable_full(const qx_memtable *mt) {
  return qx_memtable_memory_usage(mt) >= mt->size_limit;
}

uint64_t qx_memtable_entry_count(const qx_memtable *mt) {
  return atomic_load_explicit(&((qx_memtable *)mt)->entries, memory_order_relaxed);
}

uint64_t qx_memtable_max_lsn(const qx_memtable *mt) {
  return atomic_load_explicit(&((qx_memtable *)mt)->max_lsn, memory_order_relaxed);
}

/* ---- iterator ---- */

typedef struct mt_iter {
  qx_iter base;
  qx_memtable *mt;
  node *at;
  qx_ientry entry;
} mt_iter;

static void settle(mt_iter *it, node *n) {
  it->at = n;
  if (n) fill_entry(n, &it->entry);
}

static void mt_seek(qx_iter *i, const uint8_t *key, size_t len, uint64_t lsn) {
  mt_iter *it = (mt_iter *)i;
  settle(it, find_ge(it->mt, key, len, lsn, NULL));
}

static void mt_seek_first(qx_iter *i) {
  mt_iter *it = (mt_iter *)i;
  settle(it, next_of(it->mt->head, 0));
}

static void mt_next(qx_iter *i) {
  mt_iter *it = (mt_iter *)i;
  settle(it, next_of(it->at, 0));
}

static int mt_valid(const qx_iter *i) {
  return ((const mt_iter *)i)->at != NULL;
}
static const qx_ientry *mt_entry(const qx_iter *i) {
  return &((const mt_iter *)i)->entry;
}
static int mt_status(const qx_iter *i) {
  (void)i;
  return QX_OK;
}

static void mt_destroy(qx_iter *i) {
  mt_iter *it = (mt_iter *)i;
  qx_memtable_unref(it->mt);
  free(it);
}

static const qx_iter_ops mt_ops = {mt_seek,  mt_seek_first, mt_next,   mt_valid,
                                   mt_entry, mt_status,     mt_destroy};

int qx_memtable_iter_create(qx_memtable *mt, qx_iter **out) {
  mt_iter *it = calloc(1, sizeof *it);
  if (!it) return qx_fail(QX_ERR_NOMEM, "out of memory for an iterator");
  it->base.ops = &mt_ops;
  it->mt = mt;
  qx_memtable_ref(mt);
  *out = &it->base;
  return QX_OK;
}
