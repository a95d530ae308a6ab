/* qaxdbd's periodic snapshots: a thread that writes a snapshot of the served folder every
 * interval into <dir>/snap-<UTC time>, keeps the newest `keep` of them and logs each
 * (docs/operations.md, backup and restore). */
#ifndef QX_QAXDBD_SNAPSHOTS_H
#define QX_QAXDBD_SNAPSHOTS_H

#include <stdint.h>

#include "qaxdb/db.h"

#define SNAPSHOT_DEFAULT_INTERVAL 1800 /* seconds */
#define SNAPSHOT_DEFAULT_KEEP 2

typedef struct snapshot_timer snapshot_timer;

/* Starts taking a snapshot of db every interval_s seconds (the first one interval_s after the
 * start) into dir, created if needed. */
int snapshot_timer_start(qx_db *db, const char *dir, uint32_t interval_s, uint32_t keep,
                         snapshot_timer **out);
/* Stops the thread (after a snapshot in progress) and frees the timer; NULL is fine. */
void snapshot_timer_stop(snapshot_timer *t);

#endif
