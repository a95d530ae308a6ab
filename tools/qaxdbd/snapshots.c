/* The periodic snapshots (snapshots.h): wait an interval, snapshot into a folder named by the
 * time, then delete the oldest beyond the number to keep. Folders of other names are left
 * alone, so a snapshot taken by hand into the same folder is never deleted by the rotation. */
#include "snapshots.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lsm/snapshot_folder.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/log.h"

#define PREFIX "snap-"
#define MAX_KEPT 1024

struct snapshot_timer {
  qx_db *db;
  char dir[PATH_MAX - 64];
  uint32_t interval_s, keep;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int stopping;
  pthread_t thread;
};

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Deletes the oldest snap-* folders (names sort by time) beyond the newest t->keep. */
static void rotate(const snapshot_timer *t) {
  DIR *d = opendir(t->dir);
  if (!d) return;
  char *names[MAX_KEPT] = {0};
  size_t n = 0;
  struct dirent *de;
  while (n < MAX_KEPT && (de = readdir(d)) != NULL) {
    if (strncmp(de->d_name, PREFIX, strlen(PREFIX)) == 0 && !strstr(de->d_name, ".tmp") &&
        (names[n] = strdup(de->d_name)) != NULL)
      n++;
  }
  closedir(d);
  qsort(names, n, sizeof *names, by_name);
  for (size_t i = 0; i < n; i++) {
    if (i + t->keep < n) {
      char path[PATH_MAX];
      snprintf(path, sizeof path, "%s/%s", t->dir, names[i]);
      qx_snapfolder_remove(path);
      qx_log(QX_LOG_INFO, "deleted the old snapshot", "path=\"%s\"", path);
    }
    free(names[i]);
  }
}

static void take_one(const snapshot_timer *t) {
  char name[32], path[PATH_MAX];
  time_t now = time(NULL);
  struct tm tm;
  strftime(name, sizeof name, PREFIX "%Y%m%dT%H%M%SZ", gmtime_r(&now, &tm));
  snprintf(path, sizeof path, "%s/%s", t->dir, name);
  int64_t start = qx_monotonic_ns();
  uint64_t lsn = 0;
  int rc = qx_db_snapshot(t->db, path, &lsn);
  if (rc != QX_OK) {
    qx_log(QX_LOG_ERROR, qx_last_error(), "what=\"the periodic snapshot failed\" status=\"%s\"",
           qx_strerror(rc));
    return;
  }
  qx_log(QX_LOG_INFO, "snapshot", "lsn=%" PRIu64 " path=\"%s\" seconds=%.2f", lsn, path,
         (double)(qx_monotonic_ns() - start) / 1e9);
  rotate(t);
}

static void *run(void *arg) {
  snapshot_timer *t = arg;
  pthread_mutex_lock(&t->mu);
  while (!t->stopping) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += t->interval_s;
    while (!t->stopping && pthread_cond_timedwait(&t->cv, &t->mu, &until) != ETIMEDOUT) {
    }
    if (t->stopping) break;
    pthread_mutex_unlock(&t->mu);
    take_one(t);
    pthread_mutex_lock(&t->mu);
  }
  pthread_mutex_unlock(&t->mu);
  return NULL;
}

int snapshot_timer_start(qx_db *db, const char *dir, uint32_t interval_s, uint32_t keep,
                         snapshot_timer **out) {
  snapshot_timer *t = calloc(1, sizeof *t);
  if (!t) return qx_fail(QX_ERR_NOMEM, "out of memory for the snapshot timer");
  *t = (snapshot_timer){.db = db, .interval_s = interval_s, .keep = keep};
  int n = snprintf(t->dir, sizeof t->dir, "%s", dir);
  int rc = n > 0 && (size_t)n < sizeof t->dir
               ? qx_mkdir_p(t->dir)
               : qx_fail(QX_ERR_INVALID_ARG, "snapshot folder path too long: %s", dir);
  pthread_mutex_init(&t->mu, NULL);
  pthread_cond_init(&t->cv, NULL);
  if (rc == QX_OK && pthread_create(&t->thread, NULL, run, t) != 0)
    rc = qx_fail(QX_ERR_NOMEM, "cannot start the snapshot thread");
  if (rc != QX_OK) {
    free(t);
    return rc;
  }
  *out = t;
  return QX_OK;
}

void snapshot_timer_stop(snapshot_timer *t) {
  if (!t) return;
  pthread_mutex_lock(&t->mu);
  t->stopping = 1;
  pthread_cond_signal(&t->cv);
  pthread_mutex_unlock(&t->mu);
  pthread_join(t->thread, NULL);
  free(t);
}
