/* qaxdbd --simulate: the seeded venue of `qaxdb simulate` writing into the served database from
 * a thread of its own, at a steady rate, until the server stops: a live venue to query, tail
 * and watch. */
#ifndef QX_QAXDBD_SIMULATE_H
#define QX_QAXDBD_SIMULATE_H

#include <stdint.h>

#include "qaxdb/db.h"

#define VENUE_DEFAULT_RATE 1000 /* events/s: about 4,000 records/s, 3 GB of data an hour */

typedef struct venue_feed venue_feed;

/* Starts feeding db events_per_s simulated events a second, continuing its ids after the
 * folder's last LSN. */
int venue_feed_start(qx_db *db, uint32_t events_per_s, venue_feed **out);

/* Stops the feed (after the event in progress) and returns how many events it wrote. */
uint64_t venue_feed_stop(venue_feed *feed);

#endif
