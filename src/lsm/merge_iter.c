/* The k-way merge of sorted child iterators: a binary min-heap of the valid children ordered
 * by their current internal key. Children never hold equal internal keys (an LSN is unique),
 * so the merge order is total. */
#include "lsm/merge_iter.h"

#include <stdlib.h>

#include "util/error.h"

typedef struct merge_iter {
  qx_iter base;
  qx_iter **children;
  size_t count;
  size_t *heap; /* indexes of valid children; heap[0] is the smallest */
  size_t heap_len;
  int status;
} merge_iter;

static int less(const merge_iter *m, size_t a, size_t b) {
  const qx_ientry *x = qx_iter_entry(m->children[a]), *y = qx_iter_entry(m->children[b]);
  return qx_ikey_cmp(x->key, x->key_len, x->lsn, y->key, y->key_len, y->lsn) < 0;
}

static void sift_down(merge_iter *m, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, min = i;
    if (l < m->heap_len && less(m, m->heap[l], m->heap[min])) min = l;
    if (r < m->heap_len && less(m, m->heap[r], m->heap[min])) min = r;
    if (min == i) return;
    size_t t = m->heap[i];
    m->heap[i] = m->heap[min];
    m->heap[min] = t;
    i = min;
  }
}

/* Rebuilds the heap from the children's positions, noting the first child error. */
static void rebuild(merge_iter *m) {
  m->heap_len = 0;
  for (size_t i = 0; i < m->count; i++) {
    if (qx_iter_valid(m->children[i]))
      m->heap[m->heap_len++] = i;
    else if (m->status == QX_OK)
      m->status = qx_iter_status(m->children[i]);
  }
  for (size_t i = m->heap_len / 2; i-- > 0;)
    sift_down(m, i);
}

static void merge_seek(qx_iter *it, const uint8_t *key, size_t len, uint64_t lsn) {
  merge_iter *m = (merge_iter *)it;
  for (size_t i = 0; i < m->count; i++)
    qx_iter_seek(m->children[i], key, len, lsn);
  rebuild(m);
}

static void merge_seek_first(qx_iter *it) {
  merge_iter *m = (merge_iter *)it;
  for (size_t i = 0; i < m->count; i++)
    qx_iter_seek_first(m->children[i]);
  rebuild(m);
}

static void merge_next(qx_iter *it) {
  merge_iter *m = (merge_iter *)it;
  qx_iter *top = m->children[m->heap[0]];
  qx_iter_next(top);
  if (!qx_iter_valid(top)) {
    if (m->status == QX_OK) m->status = qx_iter_status(top);
    m->heap[0] = m->heap[--m->heap_len];
  }
  if (m->heap_len) sift_down(m, 0);
}

static int merge_valid(const qx_iter *it) {
  const merge_iter *m = (const merge_iter *)it;
  return m->status == QX_OK && m->heap_len > 0;
}

static const qx_ientry *merge_entry(const qx_iter *it) {
  const merge_iter *m = (const merge_iter *)it;
  return qx_iter_entry(m->children[m->heap[0]]);
}

static int merge_status(const qx_iter *it) {
  return ((const merge_iter *)it)->status;
}

static void merge_destroy(qx_iter *it) {
  merge_iter *m = (merge_iter *)it;
  for (size_t i = 0; i < m->count; i++)
    qx_iter_destroy(m->children[i]);
  free(m->children);
  free(m->heap);
  free(m);
}

static const qx_iter_ops merge_ops = {merge_seek,  merge_seek_first, merge_next,   merge_valid,
                                      merge_entry, merge_status,     merge_destroy};

int qx_merge_iter_finish(int status, qx_iter **children, size_t count, qx_iter **out) {
  if (status == QX_OK) return qx_merge_iter_create(children, count, out);
  for (size_t i = 0; i < count; i++)
    qx_iter_destroy(children[i]);
  return status;
}

int qx_merge_iter_create(qx_iter **children, size_t count, qx_iter **out) {
  merge_iter *m = calloc(1, sizeof *m);
  if (m) {
    m->children = malloc((count + 1) * sizeof *m->children);
    m->heap = malloc((count + 1) * sizeof *m->heap);
  }
  if (!m || !m->children || !m->heap) {
    for (size_t i = 0; i < count; i++)
      qx_iter_destroy(children[i]);
    if (m) {
      free(m->children);
      free(m->heap);
      free(m);
    }
    return qx_fail(QX_ERR_NOMEM, "out of memory for an iterator");
  }
  m->base.ops = &merge_ops;
  for (size_t i = 0; i < count; i++)
    m->children[i] = children[i];
  m->count = count;
  *out = &m->base;
  return QX_OK;
}
