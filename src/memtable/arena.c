/* The MemTable arena (see arena.h). An allocation larger than a quarter chunk gets a chunk of
 * its own, so a 64 KiB value does not waste most of a chunk. */
#include "memtable/arena.h"

#include <stdlib.h>

struct arena_chunk {
  arena_chunk *next;
  size_t size;
  /* followed by the chunk's bytes, 8-byte aligned */
};

#define CHUNK_HEADER ((sizeof(arena_chunk) + 7) & ~(size_t)7)

void qx_arena_init(arena *a, size_t chunk_size) {
  a->chunks = NULL;
  a->next = NULL;
  a->left = 0;
  a->chunk_size = chunk_size;
  atomic_init(&a->usage, 0);
}

void qx_arena_free(arena *a) {
  for (arena_chunk *c = a->chunks, *next; c; c = next) {
    next = c->next;
    free(c);
  }
  a->chunks = NULL;
  a->left = 0;
}

static char *new_chunk(arena *a, size_t size) {
  arena_chunk *c = malloc(CHUNK_HEADER + size);
  if (!c) return NULL;
  c->size = size;
  c->next = a->chunks;
  a->chunks = c;
  atomic_fetch_add_explicit(&a->usage, CHUNK_HEADER + size, memory_order_relaxed);
  return (char *)c + CHUNK_HEADER;
}

void *qx_arena_alloc(arena *a, size_t size) {
  size = (size + 7) & ~(size_t)7;
  if (size > a->chunk_size / 4) return new_chunk(a, size);
  if (size > a->left) {
    char *p = new_chunk(a, a->chunk_size);
    if (!p) return NULL;
    a->next = p;
    a->left = a->chunk_size;
  }
  void *p = a->next;
  a->next += size;
  a->left -= size;
  return p;
}

size_t qx_arena_usage(const arena *a) {
  return atomic_load_explicit(&((arena *)a)->usage, memory_order_relaxed);
}
