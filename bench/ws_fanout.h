/* qaxdb-bench-dist's WebSocket fan-out part: records written at a fixed rate delivered to many
 * WebSocket clients by qaxdbd's /ws (in process) and by a plain libwebsockets broadcast (the peer),
 * with delivery latency per record and the writer's own latency with and without the clients. */
#ifndef QX_BENCH_WS_FANOUT_H
#define QX_BENCH_WS_FANOUT_H

#define WS_MAX_RATES 4

typedef struct ws_fanout_settings {
  int clients;
  int rates[WS_MAX_RATES]; /* records/s written, one run per rate; 0 ends the list */
  int seconds;             /* of writing, per phase */
  int json;                /* also measure qaxdb's JSON records (the peer frames binary only) */
} ws_fanout_settings;

void ws_fanout_settings_init(ws_fanout_settings *s, int quick);
/* Runs every case and prints the tables and JSON lines to stdout; 0, or 1 if a case failed. */
int ws_fanout_run(const ws_fanout_settings *s);

#endif
