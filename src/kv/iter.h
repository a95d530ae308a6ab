/* The iterator interface over internal entries (kv/entry.h) that MemTables, table files and the
 * engine's merged views all implement, so that a merge can combine any of them.
 *
 * Thread safety: one iterator is used by one thread at a time. */
#ifndef QX_KV_ITER_H
#define QX_KV_ITER_H

#include "kv/entry.h"
#include "util/require.h"

typedef struct qx_iter qx_iter;

typedef struct qx_iter_ops {
  /* Positions at the first entry >= (key, lsn) in internal order. */
  void (*seek)(qx_iter *it, const uint8_t *key, size_t key_len, uint64_t lsn);
  void (*seek_first)(qx_iter *it);
  void (*next)(qx_iter *it); /* REQUIRES: valid(it) */
  int (*valid)(const qx_iter *it);
  /* REQUIRES: valid(it). The entry stays valid until the iterator moves. */
  const qx_ientry *(*entry)(const qx_iter *it);
  /* QX_OK, or the error (e.g. QX_ERR_CORRUPT) that made the iterator invalid. */
  int (*status)(const qx_iter *it);
  void (*destroy)(qx_iter *it);
} qx_iter_ops;

/* Every iterator implementation embeds this as its first member. */
struct qx_iter {
  const qx_iter_ops *ops;
};

static inline void qx_iter_seek(qx_iter *it, const uint8_t *key, size_t len, uint64_t lsn) {
  it->ops->seek(it, key, len, lsn);
}
static inline void qx_iter_seek_first(qx_iter *it) {
  it->ops->seek_first(it);
}
static inline int qx_iter_valid(const qx_iter *it) {
  return it->ops->valid(it);
}
static inline void qx_iter_next(qx_iter *it) {
  QX_REQUIRE(qx_iter_valid(it));
  it->ops->next(it);
}
static inline const qx_ientry *qx_iter_entry(const qx_iter *it) {
  QX_REQUIRE(qx_iter_valid(it));
  return it->ops->entry(it);
}
static inline int qx_iter_status(const qx_iter *it) {
  return it->ops->status(it);
}
static inline void qx_iter_destroy(qx_iter *it) {
  if (it) it->ops->destroy(it);
}

#endif
