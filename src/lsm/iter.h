/* Internal entries and the iterator interface shared by memtables, SSTables and the LSM engine.
 *
 * An internal entry is (user key, LSN, kind, value). Entries are ordered by user key ascending
 * (memcmp; a key that is a prefix of another sorts first), then by LSN descending, so that the
 * first entry at or after (key, snapshot_lsn) is the newest version of key visible at that
 * snapshot. A delete is an entry of kind QX_KIND_DELETE with an empty value (a tombstone).
 *
 * Thread safety: one iterator is used by one thread at a time. */
#ifndef QX_LSM_ITER_H
#define QX_LSM_ITER_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define QX_DB_MAX_KEY 256     /* longest user key */
#define QX_DB_MAX_VALUE 65536 /* longest value */

enum qx_entry_kind { QX_KIND_DELETE = 0, QX_KIND_PUT = 1 };

typedef struct qx_ientry {
  const uint8_t *key;
  uint32_t key_len;
  uint8_t kind; /* enum qx_entry_kind */
  uint64_t lsn;
  const void *value; /* 8-byte aligned; valid until the iterator moves or is destroyed */
  uint32_t value_len;
} qx_ientry;

/* Compares user keys as bytes. */
static inline int qx_user_key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen) {
  int c = memcmp(a, b, alen < blen ? alen : blen);
  if (c != 0) return c;
  return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/* Compares internal keys: user key ascending, then LSN descending. */
static inline int qx_ikey_cmp(const uint8_t *a, size_t alen, uint64_t alsn, const uint8_t *b,
                              size_t blen, uint64_t blsn) {
  int c = qx_user_key_cmp(a, alen, b, blen);
  if (c != 0) return c;
  return alsn > blsn ? -1 : alsn < blsn ? 1 : 0;
}

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
static inline void qx_iter_next(qx_iter *it) {
  it->ops->next(it);
}
static inline int qx_iter_valid(const qx_iter *it) {
  return it->ops->valid(it);
}
static inline const qx_ientry *qx_iter_entry(const qx_iter *it) {
  return it->ops->entry(it);
}
static inline int qx_iter_status(const qx_iter *it) {
  return it->ops->status(it);
}
static inline void qx_iter_destroy(qx_iter *it) {
  if (it) it->ops->destroy(it);
}

#endif
