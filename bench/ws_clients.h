/* The WebSocket client harness of qaxdb-bench-dist's fan-out part: many loopback clients in one
 * libwebsockets context served by one thread, each subscribing to trades
 * (docs/formats/websocket.md) and measuring each record's delivery latency (receipt wall clock
 * minus the record's ts_ns). */
#ifndef QX_BENCH_WS_CLIENTS_H
#define QX_BENCH_WS_CLIENTS_H

#include <stdint.h>

#include "util/histogram.h"

typedef struct ws_clients ws_clients;

/* What the clients saw since the last ws_clients_reset, summed over every client. */
typedef struct ws_client_stats {
  histogram latency;     /* delivery latency per record, ns */
  uint64_t records;      /* records received, written since the reset */
  uint64_t earlier;      /* records received that were written before it: not measured */
  uint64_t frames;       /* record batches received */
  uint64_t out_of_order; /* records whose LSN was not above the previous one of its client */
  uint64_t catchups, lives, errors, heartbeats; /* messages of those types */
  uint64_t closes;                              /* connections closed or failed */
  int64_t first_ns, last_ns;                    /* wall clock of the first and last receipt */
  char problem[160]; /* the first error message or close reason, "" if none */
} ws_client_stats;

/* Connects count clients to ws://127.0.0.1:port/ws and subscribes each to trades in binary or
 * JSON; waits until every one is subscribed. Returns NULL (with a message) if they are not
 * within timeout_s. */
ws_clients *ws_clients_start(int port, int count, int binary, int timeout_s);
/* Zeroes the counters; records stamped before since_ns (wall clock) count only as earlier. */
void ws_clients_reset(ws_clients *c, int64_t since_ns);
void ws_clients_stats(ws_clients *c, ws_client_stats *out);
/* Closes every connection and frees the harness. */
void ws_clients_stop(ws_clients *c);

#endif
