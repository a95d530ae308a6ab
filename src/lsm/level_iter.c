/* Iteration over one sorted level: the level's files one after another, each file's iterator
 * opened only when the walk reaches it, so a short range scan touches one or two files. */
#include <stdlib.h>

#include "lsm/merge_iter.h"
#include "util/error.h"

typedef struct level_iter {
  qx_iter base;
  const qx_version *version;
  int level;
  uint32_t index; /* file under file_iter; count when exhausted */
  qx_iter *file_iter;
  int status;
} level_iter;

static void open_file(level_iter *li, uint32_t index) {
  if (li->file_iter && index == li->index) return; /* a seek within the same file */
  qx_iter_destroy(li->file_iter);
  li->file_iter = NULL;
  li->index = index;
  if (index >= li->version->count[li->level]) return;
  int rc = qx_sst_iter_create(li->version->files[li->level][index]->sst, &li->file_iter);
  if (rc != QX_OK) li->status = rc;
}

/* Moves to the first entry of the following files while the current one is used up. */
static void skip_exhausted(level_iter *li) {
  while (li->status == QX_OK && li->file_iter && !qx_iter_valid(li->file_iter)) {
    int rc = qx_iter_status(li->file_iter);
    if (rc != QX_OK) {
      li->status = rc;
      return;
    }
    open_file(li, li->index + 1);
    if (li->file_iter) qx_iter_seek_first(li->file_iter);
  }
}

static void level_seek(qx_iter *it, const uint8_t *key, size_t len, uint64_t lsn) {
  level_iter *li = (level_iter *)it;
  open_file(li, qx_level_find(li->version, li->level, key, len));
  if (li->file_iter) qx_iter_seek(li->file_iter, key, len, lsn);
  skip_exhausted(li);
}

static void level_seek_first(qx_iter *it) {
  level_iter *li = (level_iter *)it;
  open_file(li, 0);
  if (li->file_iter) qx_iter_seek_first(li->file_iter);
  skip_exhausted(li);
}

static void level_next(qx_iter *it) {
  level_iter *li = (level_iter *)it;
  qx_iter_next(li->file_iter);
  skip_exhausted(li);
}

static int level_valid(const qx_iter *it) {
  const level_iter *li = (const level_iter *)it;
  return li->status == QX_OK && li->file_iter && qx_iter_valid(li->file_iter);
}

static const qx_ientry *level_entry(const qx_iter *it) {
  return qx_iter_entry(((const level_iter *)it)->file_iter);
}

static int level_status(const qx_iter *it) {
  return ((const level_iter *)it)->status;
}

static void level_destroy(qx_iter *it) {
  level_iter *li = (level_iter *)it;
  qx_iter_destroy(li->file_iter);
  free(li);
}

static const qx_iter_ops level_ops = {level_seek,  level_seek_first, level_next,   level_valid,
                                      level_entry, level_status,     level_destroy};

int qx_level_iter_create(const qx_version *v, int level, qx_iter **out) {
  level_iter *li = calloc(1, sizeof *li);
  if (!li) return qx_fail(QX_ERR_NOMEM, "out of memory for an iterator");
  li->base.ops = &level_ops;
  li->version = v;
  li->level = level;
  li->index = v->count[level];
  *out = &li->base;
  return QX_OK;
}
