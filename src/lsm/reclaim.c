/* The reclaimer thread (see reclaim.h): a list of retired read views, emptied in turn. */
#include "lsm/reclaim.h"

#include "lsm/db_impl.h"
#include "util/error.h"

int qx_reclaimer_init(qx_reclaimer *r) {
  if (pthread_mutex_init(&r->mu, NULL) || pthread_cond_init(&r->cv, NULL))
    return qx_fail(QX_ERR_NOMEM, "cannot create the reclaimer's locks");
  return QX_OK;
}

static void *reclaimer_main(void *arg) {
  qx_reclaimer *r = arg;
  pthread_mutex_lock(&r->mu);
  for (;;) {
    while (r->views) {
      qx_read_view *list = r->views;
      r->views = NULL;
      pthread_mutex_unlock(&r->mu);
      while (list) {
        qx_read_view *next = list->next_retired;
        qx_view_free(list);
        list = next;
      }
      pthread_mutex_lock(&r->mu);
    }
    if (r->stopping) break;
    pthread_cond_wait(&r->cv, &r->mu);
  }
  r->running = 0;
  pthread_mutex_unlock(&r->mu);
  return NULL;
}

int qx_reclaimer_start(qx_reclaimer *r) {
  r->running = 1;
  if (pthread_create(&r->thread, NULL, reclaimer_main, r) == 0) return QX_OK;
  r->running = 0;
  return qx_fail(QX_ERR_NOMEM, "cannot start the reclaimer thread");
}

void qx_reclaimer_stop(qx_reclaimer *r) {
  pthread_mutex_lock(&r->mu);
  int running = r->running;
  r->stopping = 1;
  pthread_cond_signal(&r->cv);
  pthread_mutex_unlock(&r->mu);
  if (running) pthread_join(r->thread, NULL);
}

int qx_reclaim_later(qx_reclaimer *r, qx_read_view *rv) {
  pthread_mutex_lock(&r->mu);
  int taken = r->running;
  if (taken) {
    rv->next_retired = r->views;
    r->views = rv;
    pthread_cond_signal(&r->cv);
  }
  pthread_mutex_unlock(&r->mu);
  return taken;
}
