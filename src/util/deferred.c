/* The deferred-free thread (see deferred.h): a list of items, emptied in turn. */
#include "util/deferred.h"

#include "util/error.h"
#include "util/thread.h"

int qx_deferred_init(qx_deferred_queue *q) {
  *q = (qx_deferred_queue){0};
  if (pthread_mutex_init(&q->mu, NULL) || pthread_cond_init(&q->cv, NULL))
    return qx_fail(QX_ERR_NOMEM, "cannot create the deferred-free queue's locks");
  return QX_OK;
}

static void free_all(qx_deferred *list) {
  while (list) {
    qx_deferred *next = list->next;
    list->free_fn(list);
    list = next;
  }
}

static void *deferred_main(void *arg) {
  qx_deferred_queue *q = arg;
  qx_thread_name("qx-deferred");
  pthread_mutex_lock(&q->mu);
  for (;;) {
    while (q->items) {
      qx_deferred *list = q->items;
      q->items = NULL;
      pthread_mutex_unlock(&q->mu);
      free_all(list);
      pthread_mutex_lock(&q->mu);
    }
    if (q->stopping) break;
    pthread_cond_wait(&q->cv, &q->mu);
  }
  q->running = 0;
  pthread_mutex_unlock(&q->mu);
  return NULL;
}

int qx_deferred_start(qx_deferred_queue *q) {
  q->running = 1;
  if (pthread_create(&q->thread, NULL, deferred_main, q) == 0) return QX_OK;
  q->running = 0;
  return qx_fail(QX_ERR_NOMEM, "cannot start the deferred-free thread");
}

void qx_deferred_stop(qx_deferred_queue *q) {
  pthread_mutex_lock(&q->mu);
  int running = q->running;
  q->stopping = 1;
  pthread_cond_signal(&q->cv);
  pthread_mutex_unlock(&q->mu);
  if (running) pthread_join(q->thread, NULL);
}

void qx_defer_free(qx_deferred_queue *q, qx_deferred *item) {
  pthread_mutex_lock(&q->mu);
  int taken = q->running && !q->stopping;
  if (taken) {
    item->next = q->items;
    q->items = item;
    pthread_cond_signal(&q->cv);
  }
  pthread_mutex_unlock(&q->mu);
  if (!taken) item->free_fn(item);
}
