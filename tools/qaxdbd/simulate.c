/* The venue feed (simulate.h): one event per period, each event's records one batch at
 * durability `none`, as `qaxdb simulate` writes them. */
#include "simulate.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "sim/batch.h"
#include "sim/sim.h"
#include "util/clock.h"
#include "util/error.h"

struct venue_feed {
  qx_db *db;
  sim *sim;
  int64_t period_ns;
  sim_batch batch;
  _Atomic int stopping;
  uint64_t events;
  pthread_t thread;
};

static int write_batch(venue_feed *f) {
  int rc = qx_db_write_records(f->db, f->batch.records, f->batch.count, QX_DURABILITY_NONE, NULL);
  if (rc != QX_OK)
    fprintf(stderr, "qaxdbd: the simulator stops: %s: %s\n", qx_strerror(rc), qx_last_error());
  return rc;
}

/* Sleeps until the monotonic clock reads at_ns, or a little before, if it is ahead. */
static void sleep_until(int64_t at_ns) {
  int64_t wait = at_ns - qx_monotonic_ns();
  if (wait <= 0) return;
  struct timespec ts = {wait / 1000000000, wait % 1000000000};
  nanosleep(&ts, NULL);
}

static void *feed_main(void *arg) {
  venue_feed *f = arg;
  f->batch.count = 0;
  qx_sim_reference_data(f->sim, qx_sim_batch_collect, &f->batch);
  if (write_batch(f) != QX_OK) return NULL;
  int64_t next = qx_monotonic_ns();
  while (!atomic_load(&f->stopping)) {
    f->batch.count = 0;
    qx_sim_next(f->sim, qx_sim_batch_collect, &f->batch);
    if (write_batch(f) != QX_OK) return NULL;
    f->events++;
    next += f->period_ns;
    sleep_until(next);
  }
  return NULL;
}

int venue_feed_start(qx_db *db, uint32_t events_per_s, venue_feed **out) {
  venue_feed *f = calloc(1, sizeof *f);
  if (!f) return qx_fail(QX_ERR_NOMEM, "simulator");
  f->db = db;
  f->period_ns = 1000000000 / (events_per_s ? events_per_s : 1);
  sim_config config;
  qx_sim_config_init(&config);
  config.first_id = qx_db_last_lsn(db) + 1; /* ids above the last LSN are new: see simulate */
  int rc = qx_sim_create(&config, &f->sim);
  if (rc == QX_OK && pthread_create(&f->thread, NULL, feed_main, f) != 0)
    rc = qx_fail(QX_ERR_NOMEM, "simulator: cannot start its thread");
  if (rc != QX_OK) {
    qx_sim_destroy(f->sim);
    free(f);
    return rc;
  }
  *out = f;
  return QX_OK;
}

uint64_t venue_feed_stop(venue_feed *f) {
  if (!f) return 0;
  atomic_store(&f->stopping, 1);
  pthread_join(f->thread, NULL);
  uint64_t events = f->events;
  qx_sim_destroy(f->sim);
  free(f);
  return events;
}
