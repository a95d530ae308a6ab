/* The engine's side of replication (lsm/engine.h): the hooks a primary sets to wake its senders
 * and to wait for replicas, and the refusal of callers' writes on a replica or a fenced primary.
 * The replicated apply itself is in write.c, on the common write path. */
#include <stdio.h>

#include "lsm/db_impl.h"

void qx_db_set_commit_hook(qx_db *db, qx_db_commit_fn fn, void *ctx) {
  pthread_mutex_lock(&db->mu);
  db->on_commit = fn;
  db->on_commit_ctx = ctx;
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
