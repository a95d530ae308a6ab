/* The idle-priority job thread (see idle_runner.h): one pending job, handed over under a mutex,
 * with the job's failure message copied back to the waiting thread. */
#include "query/idle_runner.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/error.h"
#include "util/require.h"

struct qx_idle_runner {
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  qx_idle_job job; /* pending, NULL when none */
  void *arg;
  int done, rc, stopping;
  char error[1024];
};

/* REQUIRES: mu. Runs the pending job without the lock and publishes its outcome. */
static void run_pending(qx_idle_runner *r) {
  QX_REQUIRE_HELD(&r->mu);
  qx_idle_job job = r->job;
  void *arg = r->arg;
  pthread_mutex_unlock(&r->mu);
  int rc = job(arg);
  pthread_mutex_lock(&r->mu);
  r->rc = rc;
  if (rc != QX_OK) snprintf(r->error, sizeof r->error, "%s", qx_last_error());
  r->job = NULL;
  r->done = 1;
  pthread_cond_broadcast(&r->cv);
}

static void *runner_main(void *arg) {
  qx_idle_runner *r = arg;
  struct sched_param none = {0};
  /* Lowering the policy needs no privilege; if it fails, jobs still run, at normal priority. */
  pthread_setschedparam(pthread_self(), SCHED_IDLE, &none);
  pthread_mutex_lock(&r->mu);
  while (!r->stopping) {
    if (r->job)
      run_pending(r);
    else
      pthread_cond_wait(&r->cv, &r->mu);
  }
  pthread_mutex_unlock(&r->mu);
  return NULL;
}

int qx_idle_runner_run(qx_idle_runner *r, qx_idle_job job, void *arg) {
  pthread_mutex_lock(&r->mu);
  r->job = job;
  r->arg = arg;
  r->done = 0;
  pthread_cond_broadcast(&r->cv);
  while (!r->done)
    pthread_cond_wait(&r->cv, &r->mu);
  int rc = r->rc == QX_OK ? QX_OK : qx_fail(r->rc, "%s", r->error);
  pthread_mutex_unlock(&r->mu);
  return rc;
}

int qx_idle_runner_start(qx_idle_job first, void *arg, qx_idle_runner **out) {
  qx_idle_runner *r = calloc(1, sizeof *r);
  if (!r) return qx_fail(QX_ERR_NOMEM, "out of memory for the query thread");
  pthread_mutex_init(&r->mu, NULL);
  pthread_cond_init(&r->cv, NULL);
  if (pthread_create(&r->thread, NULL, runner_main, r) != 0) {
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r);
    return qx_fail(QX_ERR_NOMEM, "cannot start the query thread");
  }
  int rc = qx_idle_runner_run(r, first, arg);
  if (rc != QX_OK) {
    qx_idle_runner_stop(r);
    return rc;
  }
  *out = r;
  return QX_OK;
}

void qx_idle_runner_stop(qx_idle_runner *r) {
  if (!r) return;
  pthread_mutex_lock(&r->mu);
  r->stopping = 1;
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
  pthread_join(r->thread, NULL);
  pthread_cond_destroy(&r->cv);
  pthread_mutex_destroy(&r->mu);
  free(r);
}
