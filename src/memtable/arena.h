/* A bump allocator for one MemTable: memory is carved out of large chunks and freed all at
 * once when the MemTable goes. Allocation is for the single writer; memory_usage may be read
 * from any thread. */
#ifndef QX_MEMTABLE_ARENA_H
#define QX_MEMTABLE_ARENA_H

#include <stdatomic.h>
#include <stddef.h>

typedef struct arena_chunk arena_chunk;

typedef struct arena {
  arena_chunk *chunks; /* newest first */
  char *next;          /* free space in the newest chunk */
  size_t left;
  size_t chunk_size;
  atomic_size_t usage; /* bytes taken from the system */
} arena;

void qx_arena_init(arena *a, size_t chunk_size);
void qx_arena_free(arena *a);
/* size bytes, 8-byte aligned, or NULL if the system is out of memory. */
void *qx_arena_alloc(arena *a, size_t size);
size_t qx_arena_usage(const arena *a);

#endif
