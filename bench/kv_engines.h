/* The three key-value engines the LSM benchmark drives through one interface: qaxdb's engine,
 * RocksDB and LevelDB, each configured alike (MemTable size, bloom bits, block cache, no
 * compression) so that the workloads compare the engines, not their defaults. */
#ifndef QX_BENCH_KV_ENGINES_H
#define QX_BENCH_KV_ENGINES_H

#include <stddef.h>
#include <stdint.h>

typedef struct kv_config {
  uint64_t memtable_bytes;
  uint64_t cache_bytes;
  int bloom_bits;
} kv_config;

typedef struct kv_engine {
  const char *name;
  void *(*open)(const char *dir, const kv_config *cfg); /* exits on failure */
  void (*put)(void *db, const void *key, size_t klen, const void *value, size_t vlen);
  /* 1 if found; reads the value's first and last byte so the value is really fetched. */
  int (*get)(void *db, const void *key, size_t klen);
  void *(*iter_create)(void *db);
  void (*iter_seek)(void *it, const void *key, size_t klen); /* NULL key: the first */
  int (*iter_valid)(void *it);
  size_t (*iter_next)(void *it); /* returns the value length of the entry it left */
  void (*iter_destroy)(void *it);
  void (*flush)(void *db);   /* MemTable to table files, waiting */
  void (*compact)(void *db); /* everything into the last level, waiting */
  void (*close)(void *db);
} kv_engine;

extern const kv_engine kv_qaxdb, kv_rocksdb, kv_leveldb;

#endif
