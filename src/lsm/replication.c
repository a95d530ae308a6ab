/* The engine's side of replication (lsm/engine.h): the hooks a primary sets to wake its senders
 * and to wait for replicas, and the refusal of callers' writes on a replica or a fenced primary.
 * The replicated apply itself is in write.c, on the common write path. */
#include <stdio.h>

#include "lsm/db_impl.h"
#include "util/error.h"

int qx_db_add_commit_hook(qx_db *db, qx_db_commit_fn fn, void *ctx) {
  pthread_mutex_lock(&db->mu);
  int room = db->on_commit_count < QX_DB_COMMIT_HOOKS;
  if (room) {
    db->on_commit[db->on_commit_count].fn = fn;
    db->on_commit[db->on_commit_count++].ctx = ctx;
  }
  pthread_mutex_unlock(&db->mu);
  return room ? QX_OK
              : qx_fail(QX_ERR_TOO_LARGE, "qx_db_add_commit_hook: %d hooks already",
                        QX_DB_COMMIT_HOOKS);
}

void qx_db_remove_commit_hook(qx_db *db, qx_db_commit_fn fn, void *ctx) {
  pthread_mutex_lock(&db->mu);
  for (int i = 0; i < db->on_commit_count; i++)
    if (db->on_commit[i].fn == fn && db->on_commit[i].ctx == ctx) {
      db->on_commit[i] = db->on_commit[--db->on_commit_count];
      break;
    }
  pthread_mutex_unlock(&db->mu);
}

void qx_db_set_replication_wait(qx_db *db, qx_db_replication_wait_fn fn, void *ctx) {
  pthread_mutex_lock(&db->mu);
  db->replication_wait = fn;
  db->replication_wait_ctx = ctx;
  pthread_mutex_unlock(&db->mu);
}

void qx_db_refuse_writes(qx_db *db, const char *why) {
  pthread_mutex_lock(&db->mu);
  db->refusing_writes = why != NULL;
  snprintf(db->refusal, sizeof db->refusal, "%s", why ? why : "");
  pthread_mutex_unlock(&db->mu);
}
