/* Adapters from the benchmark's kv_engine interface to qaxdb, RocksDB and LevelDB (see
 * kv_engines.h). Every call that fails stops the benchmark with the engine's message. */
#include "kv_engines.h"

#include <leveldb/c.h>
#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>

#include "qaxdb/db.h"

static void die(const char *engine, const char *what, const char *detail) {
  fprintf(stderr, "qaxdb-bench-lsm: %s: %s: %s\n", engine, what, detail ? detail : "");
  exit(1);
}

static void check_qx(int rc, const char *what) {
  if (rc != QX_OK) die("qaxdb", what, qx_last_error());
}

/* ---- qaxdb ---- */

static void *qx_open_(const char *dir, const kv_config *cfg) {
  qx_db_options o;
  qx_db_options_init(&o);
  o.memtable_size = cfg->memtable_bytes;
  o.block_cache_size = cfg->cache_bytes;
  o.bloom_bits_per_key = cfg->bloom_bits;
  /* Raw key-value writes never reach Parquet; without the converter the engine does the same
   * work as the peers. */
  o.olap = 0;
  qx_db *db;
  check_qx(qx_db_open(dir, &o, &db, NULL), "open");
  return db;
}

static void qx_put_(void *db, const void *k, size_t kl, const void *v, size_t vl) {
  check_qx(qx_db_put(db, k, kl, v, vl, QX_DURABILITY_NONE, NULL), "put");
}

static int qx_get_(void *db, const void *k, size_t kl) {
  qx_db_value v;
  int rc = qx_db_get(db, NULL, k, kl, &v);
  if (rc == QX_ERR_NOT_FOUND) return 0;
  check_qx(rc, "get");
  volatile uint8_t sink = ((const uint8_t *)v.data)[0] ^ ((const uint8_t *)v.data)[v.size - 1];
  (void)sink;
  qx_db_value_release(&v);
  return 1;
}

typedef struct qx_bench_iter {
  qx_db *db;
  qx_db_iter *it;
} qx_bench_iter;

static void *qx_iter_create_(void *db) {
  qx_bench_iter *b = calloc(1, sizeof *b);
  b->db = db;
  return b;
}

static void qx_iter_seek_(void *p, const void *k, size_t kl) {
  qx_bench_iter *b = p;
  qx_db_iter_destroy(b->it);
  check_qx(qx_db_iter_create(b->db, NULL, k, kl, NULL, 0, &b->it), "iterator");
}

static int qx_iter_valid_(void *p) {
  return qx_db_iter_valid(((qx_bench_iter *)p)->it);
}

static size_t qx_iter_next_(void *p) {
  qx_bench_iter *b = p;
  size_t len;
  qx_db_iter_value(b->it, &len);
  qx_db_iter_next(b->it);
  return len;
}

static void qx_iter_destroy_(void *p) {
  qx_bench_iter *b = p;
  qx_db_iter_destroy(b->it);
  free(b);
}

static void qx_flush_(void *db) {
  check_qx(qx_db_flush(db), "flush");
}
static void qx_compact_(void *db) {
  check_qx(qx_db_compact(db), "compact");
}
static void qx_close_(void *db) {
  check_qx(qx_db_close(db), "close");
}

const kv_engine kv_qaxdb = {"qaxdb",          qx_open_,      qx_put_,        qx_get_,
                            qx_iter_create_,  qx_iter_seek_, qx_iter_valid_, qx_iter_next_,
                            qx_iter_destroy_, qx_flush_,     qx_compact_,    qx_close_};

/* ---- RocksDB ---- */

typedef struct rocks {
  rocksdb_t *db;
  rocksdb_options_t *options;
  rocksdb_block_based_table_options_t *table;
  rocksdb_cache_t *cache;
  rocksdb_writeoptions_t *write;
  rocksdb_readoptions_t *read;
} rocks;

static void check_err(const char *engine, const char *what, char *err) {
  if (err) die(engine, what, err);
}

static void *rocks_open(const char *dir, const kv_config *cfg) {
  rocks *r = calloc(1, sizeof *r);
  r->options = rocksdb_options_create();
  rocksdb_options_set_create_if_missing(r->options, 1);
  rocksdb_options_set_write_buffer_size(r->options, cfg->memtable_bytes);
  rocksdb_options_set_compression(r->options, rocksdb_no_compression);
  r->table = rocksdb_block_based_options_create();
  rocksdb_block_based_options_set_filter_policy(r->table,
                                                rocksdb_filterpolicy_create_bloom(cfg->bloom_bits));
  r->cache = rocksdb_cache_create_lru(cfg->cache_bytes);
  rocksdb_block_based_options_set_block_cache(r->table, r->cache);
  rocksdb_options_set_block_based_table_factory(r->options, r->table);
  char *err = NULL;
  r->db = rocksdb_open(r->options, dir, &err);
  check_err("rocksdb", "open", err);
  r->write = rocksdb_writeoptions_create();
  r->read = rocksdb_readoptions_create();
  return r;
}

static void rocks_put(void *p, const void *k, size_t kl, const void *v, size_t vl) {
  rocks *r = p;
  char *err = NULL;
  rocksdb_put(r->db, r->write, k, kl, v, vl, &err);
  check_err("rocksdb", "put", err);
}

static int rocks_get(void *p, const void *k, size_t kl) {
  rocks *r = p;
  char *err = NULL;
  rocksdb_pinnableslice_t *s = rocksdb_get_pinned(r->db, r->read, k, kl, &err);
  check_err("rocksdb", "get", err);
  if (!s) return 0;
  size_t len;
  const char *v = rocksdb_pinnableslice_value(s, &len);
  int found = v != NULL;
  if (found) {
    volatile char sink = (char)(v[0] ^ v[len - 1]);
    (void)sink;
  }
  rocksdb_pinnableslice_destroy(s);
  return found;
}

static void *rocks_iter_create(void *p) {
  rocks *r = p;
  return rocksdb_create_iterator(r->db, r->read);
}

static void rocks_iter_seek(void *it, const void *k, size_t kl) {
  if (k)
    rocksdb_iter_seek(it, k, kl);
  else
    rocksdb_iter_seek_to_first(it);
}

static int rocks_iter_valid(void *it) {
  return rocksdb_iter_valid(it);
}

static size_t rocks_iter_next(void *it) {
  size_t len;
  rocksdb_iter_value(it, &len);
  rocksdb_iter_next(it);
  return len;
}

static void rocks_iter_destroy(void *it) {
  rocksdb_iter_destroy(it);
}

static void rocks_flush(void *p) {
  rocks *r = p;
  rocksdb_flushoptions_t *f = rocksdb_flushoptions_create();
  rocksdb_flushoptions_set_wait(f, 1);
  char *err = NULL;
  rocksdb_flush(r->db, f, &err);
  rocksdb_flushoptions_destroy(f);
  check_err("rocksdb", "flush", err);
}

static void rocks_compact(void *p) {
  rocksdb_compact_range(((rocks *)p)->db, NULL, 0, NULL, 0);
}

static void rocks_close(void *p) {
  rocks *r = p;
  rocksdb_close(r->db);
  rocksdb_writeoptions_destroy(r->write);
  rocksdb_readoptions_destroy(r->read);
  rocksdb_options_destroy(r->options);
  rocksdb_block_based_options_destroy(r->table);
  rocksdb_cache_destroy(r->cache);
  free(r);
}

const kv_engine kv_rocksdb = {"rocksdb",        rocks_open,        rocks_put,
                              rocks_get,        rocks_iter_create, rocks_iter_seek,
                              rocks_iter_valid, rocks_iter_next,   rocks_iter_destroy,
                              rocks_flush,      rocks_compact,     rocks_close};

/* ---- LevelDB ---- */

typedef struct level {
  leveldb_t *db;
  leveldb_options_t *options;
  leveldb_filterpolicy_t *bloom;
  leveldb_cache_t *cache;
  leveldb_writeoptions_t *write;
  leveldb_readoptions_t *read;
} level;

static void *level_open(const char *dir, const kv_config *cfg) {
  level *l = calloc(1, sizeof *l);
  l->options = leveldb_options_create();
  leveldb_options_set_create_if_missing(l->options, 1);
  leveldb_options_set_write_buffer_size(l->options, cfg->memtable_bytes);
  leveldb_options_set_compression(l->options, leveldb_no_compression);
  l->bloom = leveldb_filterpolicy_create_bloom(cfg->bloom_bits);
  leveldb_options_set_filter_policy(l->options, l->bloom);
  l->cache = leveldb_cache_create_lru(cfg->cache_bytes);
  leveldb_options_set_cache(l->options, l->cache);
  char *err = NULL;
  l->db = leveldb_open(l->options, dir, &err);
  check_err("leveldb", "open", err);
  l->write = leveldb_writeoptions_create();
  l->read = leveldb_readoptions_create();
  return l;
}

static void level_put(void *p, const void *k, size_t kl, const void *v, size_t vl) {
  level *l = p;
  char *err = NULL;
  leveldb_put(l->db, l->write, k, kl, v, vl, &err);
  check_err("leveldb", "put", err);
}

static int level_get(void *p, const void *k, size_t kl) {
  level *l = p;
  char *err = NULL;
  size_t len;
  char *v = leveldb_get(l->db, l->read, k, kl, &len, &err); /* LevelDB's C API copies */
  check_err("leveldb", "get", err);
  if (!v) return 0;
  volatile char sink = (char)(v[0] ^ v[len - 1]);
  (void)sink;
  leveldb_free(v);
  return 1;
}

static void *level_iter_create(void *p) {
  level *l = p;
  return leveldb_create_iterator(l->db, l->read);
}

static void level_iter_seek(void *it, const void *k, size_t kl) {
  if (k)
    leveldb_iter_seek(it, k, kl);
  else
    leveldb_iter_seek_to_first(it);
}

static int level_iter_valid(void *it) {
  return leveldb_iter_valid(it);
}

static size_t level_iter_next(void *it) {
  size_t len;
  leveldb_iter_value(it, &len);
  leveldb_iter_next(it);
  return len;
}

static void level_iter_destroy(void *it) {
  leveldb_iter_destroy(it);
}

/* LevelDB has no flush call; compacting an empty key range flushes the MemTable only. */
static void level_flush(void *p) {
  leveldb_compact_range(((level *)p)->db, "~", 1, "~~", 2);
}
static void level_compact(void *p) {
  leveldb_compact_range(((level *)p)->db, NULL, 0, NULL, 0);
}

static void level_close(void *p) {
  level *l = p;
  leveldb_close(l->db);
  leveldb_writeoptions_destroy(l->write);
  leveldb_readoptions_destroy(l->read);
  leveldb_options_destroy(l->options);
  leveldb_filterpolicy_destroy(l->bloom);
  leveldb_cache_destroy(l->cache);
  free(l);
}

const kv_engine kv_leveldb = {"leveldb",        level_open,        level_put,
                              level_get,        level_iter_create, level_iter_seek,
                              level_iter_valid, level_iter_next,   level_iter_destroy,
                              level_flush,      level_compact,     level_close};
