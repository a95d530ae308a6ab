/* Freeing old read views off the readers' threads. The reader that drops the last reference to
 * a view a flush or compaction has replaced would otherwise free its MemTables and unmap and
 * delete the table files the compaction retired: milliseconds of munmap on a read path. */
#ifndef QX_LSM_RECLAIM_H
#define QX_LSM_RECLAIM_H

#include <pthread.h>

struct qx_read_view;

typedef struct qx_reclaimer {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  struct qx_read_view *views; /* handed over, not yet freed; linked by next_retired */
  int running, stopping;
  pthread_t thread;
} qx_reclaimer;

int qx_reclaimer_init(qx_reclaimer *r);
int qx_reclaimer_start(qx_reclaimer *r);
/* Frees what was handed over and stops; later views are freed by whoever releases them. */
void qx_reclaimer_stop(qx_reclaimer *r);
/* Hands rv over to be freed; 0 if the reclaimer is not running (the caller frees it). */
int qx_reclaim_later(qx_reclaimer *r, struct qx_read_view *rv);

#endif
