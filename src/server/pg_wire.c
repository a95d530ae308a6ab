/* The PostgreSQL v3 wire format (pg_wire.h): framing only, over the socket or TLS; what a
 * session says is in pg_session.c. */
#include "server/pg_wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PROTOCOL_3_0 196608u
#define SSL_REQUEST 80877103u
#define GSSENC_REQUEST 80877104u
#define CANCEL_REQUEST 80877102u
#define MAX_STARTUP 10000u

void qx_pg_conn_init(pg_conn *c, int fd, qx_tls_context *tls_context) {
  memset(c, 0, sizeof *c);
  c->fd = fd;
  c->tls_context = tls_context;
  c->max_message = PG_MAX_MESSAGE;
}

void qx_pg_conn_free(pg_conn *c) {
  qx_tls_close(c->tls);
  free(c->in);
  qx_buffer_free(&c->out);
}

static int read_exactly(pg_conn *c, void *buf, size_t len) {
  for (size_t got = 0; got < len;) {
    ssize_t n = c->tls ? qx_tls_read(c->tls, (uint8_t *)buf + got, len - got)
                       : read(c->fd, (uint8_t *)buf + got, len - got);
    if (n < 0 && !c->tls && errno == EINTR) continue;
    if (n <= 0) return -1;
    got += (size_t)n;
  }
  return 0;
}

int qx_pg_pending(const pg_conn *c) {
  return c->tls && qx_tls_pending(c->tls);
}

static uint32_t get_u32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int ensure_in(pg_conn *c, size_t len) {
  if (len <= c->in_cap) return 0;
  uint8_t *grown = realloc(c->in, len);
  if (!grown) return -1;
  c->in = grown;
  c->in_cap = len;
  return 0;
}

/* Copies the value of key among the startup packet's NUL-terminated pairs into out. */
static void startup_value(const uint8_t *body, size_t len, const char *key, char *out,
                          size_t out_size) {
  const char *p = (const char *)body, *end = (const char *)body + len;
  while (p < end && *p) {
    const char *value = memchr(p, '\0', (size_t)(end - p));
    if (!value || ++value >= end) return;
    const char *next = memchr(value, '\0', (size_t)(end - value));
    if (!next) return;
    if (strcmp(p, key) == 0) snprintf(out, out_size, "%s", value);
    p = next + 1;
  }
}

/* Answers an SSLRequest or GSSENCRequest: 'S' and the handshake for TLS when the server has
 * it, 'N' otherwise (the client goes on in the clear or gives up). */
static int answer_encryption_request(pg_conn *c, uint32_t code, const char **why) {
  int tls = code == SSL_REQUEST && c->tls_context;
  *why = "SSLRequest on a connection already encrypted";
  if (c->tls) return -1;
  qx_pg_put_u8(c, tls ? 'S' : 'N');
  *why = "the connection closed during startup";
  if (qx_pg_flush(c) != 0) return -1;
  if (!tls) return 0;
  /* read_exactly took the request's bytes only: nothing the client sent in the clear before
   * the handshake can be mistaken for what it sends over TLS. */
  c->tls = qx_tls_accept(c->tls_context, c->fd);
  *why = "the TLS handshake failed";
  c->failed = !c->tls; /* the client expects TLS records: an error in the clear is noise */
  return c->tls ? 0 : -1;
}

int qx_pg_read_startup(pg_conn *c, pg_startup_kind *kind, pg_startup *s, uint32_t cancel_key[2],
                       const char **why) {
  memset(s, 0, sizeof *s);
  for (;;) {
    uint8_t head[8];
    *why = "the connection closed during startup";
    if (read_exactly(c, head, 8) != 0) return -1;
    uint32_t len = get_u32(head), code = get_u32(head + 4);
    *why = "malformed startup packet";
    if (len < 8 || len > MAX_STARTUP || ensure_in(c, len - 8) != 0) return -1;
    if (read_exactly(c, c->in, len - 8) != 0) return -1;
    if (code == SSL_REQUEST || code == GSSENC_REQUEST) {
      if (answer_encryption_request(c, code, why) != 0) return -1;
      continue;
    }
    if (code == CANCEL_REQUEST && len == 16) {
      *kind = PG_STARTUP_CANCEL;
      cancel_key[0] = get_u32(c->in);
      cancel_key[1] = get_u32(c->in + 4);
      return 0;
    }
    *why = "unsupported frontend protocol (qaxdbd speaks 3.0)";
    if (code != PROTOCOL_3_0) return -1;
    *kind = PG_STARTUP_SESSION;
    startup_value(c->in, len - 8, "user", s->user, sizeof s->user);
    startup_value(c->in, len - 8, "database", s->database, sizeof s->database);
    startup_value(c->in, len - 8, "application_name", s->application_name,
                  sizeof s->application_name);
    if (!s->database[0]) snprintf(s->database, sizeof s->database, "%s", s->user);
    return 0;
  }
}

int qx_pg_read_message(pg_conn *c, uint8_t *type, const uint8_t **body, uint32_t *len) {
  uint8_t head[5];
  if (read_exactly(c, head, 5) != 0) return -1;
  uint32_t n = get_u32(head + 1);
  if (n < 4 || n - 4 > c->max_message || ensure_in(c, n - 4 + 1) != 0) return -1;
  if (read_exactly(c, c->in, n - 4) != 0) return -1;
  c->in[n - 4] = 0; /* so that a string field at the end is terminated even if the peer lied */
  *type = head[0];
  *body = c->in;
  *len = n - 4;
  return 0;
}

static void put(pg_conn *c, const void *data, size_t len) {
  if (c->failed) return;
  qx_buffer_put(&c->out, data, len);
  c->failed = c->out.failed;
}

void qx_pg_begin(pg_conn *c, uint8_t type) {
  put(c, &type, 1);
  c->message_start = c->out.len;
  qx_pg_put_i32(c, 0); /* the length, filled in by pg_end */
}

void qx_pg_put_u8(pg_conn *c, uint8_t v) {
  put(c, &v, 1);
}

void qx_pg_put_i16(pg_conn *c, int16_t v) {
  uint8_t b[2] = {(uint8_t)((uint16_t)v >> 8), (uint8_t)v};
  put(c, b, 2);
}

void qx_pg_put_i32(pg_conn *c, int32_t v) {
  uint32_t u = (uint32_t)v;
  uint8_t b[4] = {(uint8_t)(u >> 24), (uint8_t)(u >> 16), (uint8_t)(u >> 8), (uint8_t)u};
  put(c, b, 4);
}

void qx_pg_put_bytes(pg_conn *c, const void *data, size_t len) {
  put(c, data, len);
}

void qx_pg_put_str(pg_conn *c, const char *s) {
  put(c, s, strlen(s) + 1);
}

void qx_pg_end(pg_conn *c) {
  if (c->failed) return;
  uint32_t len = (uint32_t)(c->out.len - c->message_start);
  uint8_t *p = c->out.p + c->message_start;
  p[0] = (uint8_t)(len >> 24);
  p[1] = (uint8_t)(len >> 16);
  p[2] = (uint8_t)(len >> 8);
  p[3] = (uint8_t)len;
}

int qx_pg_flush(pg_conn *c) {
  for (size_t sent = 0; !c->failed && sent < c->out.len;) {
    ssize_t n =
        c->tls ? qx_tls_write(c->tls, c->out.p + sent, c->out.len - sent)
               : send(c->fd, c->out.p + sent, c->out.len - sent, MSG_NOSIGNAL); /* no SIGPIPE */
    if (n < 0 && !c->tls && errno == EINTR) continue;
    if (n <= 0) c->failed = 1;
    if (n > 0) sent += (size_t)n;
  }
  c->out.len = 0;
  return c->failed ? -1 : 0;
}
