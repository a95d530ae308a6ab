/* Frees done later, on a thread of their own. A reader that drops the last reference to
 * something expensive to free (an old read view: MemTables to unmap, table files to unmap and
 * delete) hands it here instead of paying milliseconds on its read path.
 *
 * Thread-safety contract:
 *   1. qx_defer_free may be called from any thread at any time between init and destroy.
 *   2. Items are freed by the queue's thread, in no particular order; after qx_deferred_stop
 *      every item handed over has been freed, and later items are freed at once by the caller.
 * An item is intrusive: the owner embeds a qx_deferred and says how to free the whole. */
#ifndef QX_UTIL_DEFERRED_H
#define QX_UTIL_DEFERRED_H

#include <pthread.h>

typedef struct qx_deferred {
  struct qx_deferred *next;
  void (*free_fn)(struct qx_deferred *item); /* frees the object embedding item */
} qx_deferred;

typedef struct qx_deferred_queue {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  qx_deferred *items; /* handed over, not yet freed */
  int running, stopping;
  pthread_t thread;
} qx_deferred_queue;

int qx_deferred_init(qx_deferred_queue *q);
int qx_deferred_start(qx_deferred_queue *q);
/* Frees everything handed over and stops the thread. */
void qx_deferred_stop(qx_deferred_queue *q);
/* Frees item on the queue's thread, or right here if the thread is not running. */
void qx_defer_free(qx_deferred_queue *q, qx_deferred *item);

#endif
