/* The HTTP answers of the server's HTTP port that are not files: GET /metrics (Prometheus text
 * format) and GET /health (200 while the database takes writes, 503 with the failure that
 * stopped it). The body is built whole, then written once the socket takes it. */
#include <string.h>

#include "util/error.h"
#include "web/web_impl.h"

static int answer(web_conn *c, struct lws *wsi, unsigned status, const char *type) {
  uint8_t head[LWS_PRE + 512], *start = head + LWS_PRE, *p = start, *end = head + sizeof head - 1;
  size_t len = c->http_body.len - LWS_PRE;
  if (lws_add_http_common_headers(wsi, status, type, len, &p, end) ||
      lws_finalize_write_http_header(wsi, start, &p, end))
    return -1;
  lws_callback_on_writable(wsi);
  return 0;
}

int qx_web_http_request(qx_web *web, web_conn *c, struct lws *wsi) {
  static const uint8_t headroom[LWS_PRE];
  char path[256] = "";
  lws_hdr_copy(wsi, path, sizeof path, WSI_TOKEN_GET_URI);
  c->http_body.len = 0;
  c->http_body.failed = 0;
  qx_buffer_put(&c->http_body, headroom, LWS_PRE);
  const char *text = "text/plain; charset=utf-8";
  if (!path[0]) {
    qx_buffer_puts(&c->http_body, "only GET\n");
    return answer(c, wsi, HTTP_STATUS_METHOD_NOT_ALLOWED, text);
  }
  if (strcmp(path, "/metrics") == 0) {
    if (qx_server_metrics(web->srv, &c->http_body) == QX_OK)
      return answer(c, wsi, HTTP_STATUS_OK, "text/plain; version=0.0.4; charset=utf-8");
    c->http_body.len = LWS_PRE;
    qx_buffer_puts(&c->http_body, qx_last_error());
    return answer(c, wsi, HTTP_STATUS_INTERNAL_SERVER_ERROR, text);
  }
  if (strcmp(path, "/health") == 0) {
    int healthy = qx_db_health(web->srv->db) == QX_OK;
    qx_buffer_puts(&c->http_body, healthy ? "ok\n" : qx_last_error());
    return answer(c, wsi, healthy ? HTTP_STATUS_OK : HTTP_STATUS_SERVICE_UNAVAILABLE, text);
  }
  qx_buffer_puts(&c->http_body, "not found: try /, /ws, /metrics or /health\n");
  return answer(c, wsi, HTTP_STATUS_NOT_FOUND, text);
}

int qx_web_http_writable(web_conn *c, struct lws *wsi) {
  if (c->http_body.len <= LWS_PRE) return 0; /* no answer waits: a wake meant for WebSockets */
  size_t len = c->http_body.len - LWS_PRE;
  int written = lws_write(wsi, c->http_body.p + LWS_PRE, len, LWS_WRITE_HTTP_FINAL);
  qx_buffer_free(&c->http_body); /* libwebsockets keeps what the socket did not take yet */
  if (written != (int)len) return -1;
  return lws_http_transaction_completed(wsi) ? -1 : 0;
}
