/* The peer of qaxdb-bench-dist's WebSocket fan-out: a plain libwebsockets broadcast server with no
 * database. The writer publishes records into an in-memory window; one service thread frames them
 * as qaxdb's binary batches (docs/formats/websocket.md) and sends each client what it has not had.
 */
#ifndef QX_BENCH_WS_BROADCAST_PEER_H
#define QX_BENCH_WS_BROADCAST_PEER_H

#include <stdint.h>

typedef struct ws_peer ws_peer;

/* Listens on a free loopback port for up to clients connections; NULL (with a message) if it
 * cannot. */
ws_peer *ws_peer_start(int clients);
int ws_peer_port(const ws_peer *p);

/* From the one writer thread: adds a record to the window (it gets the next LSN, returned), and
 * wakes the service thread to send what was added. */
uint64_t ws_peer_publish(ws_peer *p, int table_id, uint16_t version, int64_t ts_ns,
                         const void *record, uint32_t size);
void ws_peer_wake(ws_peer *p);

/* Clients that fell more than the window behind and skipped records (their LSNs show the gap). */
uint64_t ws_peer_skips(ws_peer *p);
void ws_peer_stop(ws_peer *p);

#endif
