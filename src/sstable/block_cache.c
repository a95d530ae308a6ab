/* The block cache: an LRU of decompressed blocks under one mutex. A block in use is pinned
 * by a handle and never evicted or freed under its user; capacity is enforced by evicting
 * unpinned blocks from the cold end of the LRU list (pinned blocks may exceed it briefly). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "sstable/block_cache.h"
#include "util/error.h"

#define BUCKETS (1u << 16)

struct qx_cache_handle {
  uint64_t file, offset;
  void *data;
  size_t size;
  int refs;                     /* pins held by readers */
  int in_cache;                 /* reachable through the table; freed when neither */
  qx_cache_handle *chain;       /* next in the hash bucket */
  qx_cache_handle *prev, *next; /* LRU list, newest first */
};

struct qx_block_cache {
  pthread_mutex_t mu;
  size_t capacity, used;
  qx_cache_handle **buckets;
  qx_cache_handle lru; /* sentinel: lru.next is the newest block, lru.prev the coldest */
  atomic_uint_fast64_t hits, misses;
};

int qx_block_cache_create(size_t capacity_bytes, qx_block_cache **out) {
  qx_block_cache *c = calloc(1, sizeof *c);
  if (c) c->buckets = calloc(BUCKETS, sizeof *c->buckets);
  if (!c || !c->buckets) {
    free(c);
    return qx_fail(QX_ERR_NOMEM, "out of memory for the block cache");
  }
  pthread_mutex_init(&c->mu, NULL);
  c->capacity = capacity_bytes;
  c->lru.next = c->lru.prev = &c->lru;
  *out = c;
  return QX_OK;
}

static void free_handle(qx_cache_handle *h) {
  free(h->data);
  free(h);
}

void qx_block_cache_destroy(qx_block_cache *c) {
  if (!c) return;
  for (qx_cache_handle *h = c->lru.next, *next; h != &c->lru; h = next) {
    next = h->next;
    free_handle(h);
  }
  pthread_mutex_destroy(&c->mu);
  free(c->buckets);
  free(c);
}

static size_t bucket_of(uint64_t file, uint64_t offset) {
  uint64_t x = file * 0x9E3779B97F4A7C15u ^ offset;
  x ^= x >> 29;
  return (size_t)(x * 0xBF58476D1CE4E5B9u >> 48) & (BUCKETS - 1);
}

static void lru_unlink(qx_cache_handle *h) {
  h->prev->next = h->next;
  h->next->prev = h->prev;
}

static void lru_push_newest(qx_block_cache *c, qx_cache_handle *h) {
  h->next = c->lru.next;
  h->prev = &c->lru;
  c->lru.next->prev = h;
  c->lru.next = h;
}

/* Takes h out of the hash table and the LRU list. REQUIRES: mu. */
static void remove_entry(qx_block_cache *c, qx_cache_handle *h) {
  qx_cache_handle **p = &c->buckets[bucket_of(h->file, h->offset)];
  while (*p != h)
    p = &(*p)->chain;
  *p = h->chain;
  lru_unlink(h);
  h->in_cache = 0;
  c->used -= h->size;
  if (h->refs == 0) free_handle(h);
}

static void evict(qx_block_cache *c) {
  for (qx_cache_handle *h = c->lru.prev; h != &c->lru && c->used > c->capacity;) {
    qx_cache_handle *newer = h->prev;
    if (h->refs == 0) remove_entry(c, h);
    h = newer;
  }
}

static qx_cache_handle *find(qx_block_cache *c, uint64_t file, uint64_t offset) {
  for (qx_cache_handle *h = c->buckets[bucket_of(file, offset)]; h; h = h->chain)
    if (h->file == file && h->offset == offset) return h;
  return NULL;
}

qx_cache_handle *qx_block_cache_lookup(qx_block_cache *c, uint64_t file, uint64_t offset) {
  pthread_mutex_lock(&c->mu);
  qx_cache_handle *h = find(c, file, offset);
  if (h) {
    h->refs++;
    lru_unlink(h);
    lru_push_newest(c, h);
  }
  pthread_mutex_unlock(&c->mu);
  atomic_fetch_add_explicit(h ? &c->hits : &c->misses, 1, memory_order_relaxed);
  return h;
}

qx_cache_handle *qx_block_cache_insert(qx_block_cache *c, uint64_t file, uint64_t offset,
                                       void *data, size_t size) {
  qx_cache_handle *fresh = calloc(1, sizeof *fresh);
  if (!fresh) {
    free(data);
    return NULL;
  }
  pthread_mutex_lock(&c->mu);
  qx_cache_handle *h = find(c, file, offset);
  if (h) {
    free(data);
    free(fresh);
  } else {
    h = fresh;
    *h = (qx_cache_handle){
        .file = file, .offset = offset, .data = data, .size = size, .in_cache = 1};
    size_t b = bucket_of(file, offset);
    h->chain = c->buckets[b];
    c->buckets[b] = h;
    lru_push_newest(c, h);
    c->used += size;
  }
  h->refs++;
  evict(c);
  pthread_mutex_unlock(&c->mu);
  return h;
}

const void *qx_block_cache_data(const qx_cache_handle *h) {
  return h->data;
}

void qx_block_cache_release(qx_block_cache *c, qx_cache_handle *h) {
  if (!h) return;
  pthread_mutex_lock(&c->mu);
  int orphan = --h->refs == 0 && !h->in_cache;
  if (!orphan && h->refs == 0 && c->used > c->capacity) evict(c);
  pthread_mutex_unlock(&c->mu);
  if (orphan) free_handle(h);
}

void qx_block_cache_erase_file(qx_block_cache *c, uint64_t file) {
  pthread_mutex_lock(&c->mu);
  for (qx_cache_handle *h = c->lru.next, *next; h != &c->lru; h = next) {
    next = h->next;
    if (h->file == file) remove_entry(c, h);
  }
  pthread_mutex_unlock(&c->mu);
}

void qx_block_cache_counters(const qx_block_cache *c, uint64_t *hits, uint64_t *misses,
                             uint64_t *bytes_used) {
  qx_block_cache *m = (qx_block_cache *)c;
  *hits = atomic_load(&m->hits);
  *misses = atomic_load(&m->misses);
  pthread_mutex_lock(&m->mu);
  *bytes_used = m->used;
  pthread_mutex_unlock(&m->mu);
}
