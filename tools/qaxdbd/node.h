/* What qaxdbd runs over its data folder: the engine, replication, the server, and the
 * simulator and periodic snapshots when asked; opened and closed together, and rebuilt from
 * the primary when replication finds this node's log diverged from it. */
#ifndef QX_QAXDBD_NODE_H
#define QX_QAXDBD_NODE_H

#include "config.h"
#include "qaxdb/db.h"
#include "qaxdb/repl.h"
#include "qaxdb/server.h"
#include "simulate.h"
#include "snapshots.h"

typedef struct node {
  qx_db *db;
  qx_repl *repl;
  qx_server *srv;
  venue_feed *feed;
  snapshot_timer *snapshots;
} node;

/* Opens everything c asks for; a replica with an empty or missing folder is copied from its
 * primary first. Says where it serves on the first two lines of standard output (which
 * scripts read the ports from) before the simulator's line. Returns 0, or 1 after logging
 * what failed (everything opened is closed). */
int node_open(qaxdbd_config *c, node *n);
/* Closes what is open; 1 (logged) if the data folder did not close cleanly, else 0. */
int node_close(node *n);

/* If replication found that this replica cannot follow its primary from its own log (its log
 * diverged, or the primary no longer keeps what it needs) and c->auto_rebuild is on: closes
 * the node, moves the folder aside to DIR.diverged-<epoch>-<seconds>, copies the primary into
 * DIR and opens it again. Returns 0, or 1 if the node could not be opened again. */
int node_rebuild_if_needed(qaxdbd_config *c, node *n);

#endif
