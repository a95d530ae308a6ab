/* The server's HTTP port (qx_server_options.http_port): GET /metrics and /health, the WebSocket
 * subscriptions and read-only SQL at /ws (docs/formats/websocket.md), and the web console's
 * files at /, served by libwebsockets on one thread. */
#ifndef QX_WEB_H
#define QX_WEB_H

#include "qaxdb/server.h"
#include "util/grow.h"

typedef struct qx_web qx_web;

/* Listens on the server's address and HTTP port and starts serving. */
int qx_web_start(qx_server *srv, qx_web **out);
int qx_web_port(const qx_web *web);
/* Says goodbye to every WebSocket, stops the threads and frees web. */
void qx_web_stop(qx_web *web);
/* The WebSocket metrics (qaxdb_web_*) in Prometheus text format, on the service thread. */
void qx_web_metrics(qx_web *web, qx_buffer *b);

#endif
