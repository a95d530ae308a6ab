/* The PostgreSQL v3 wire format on one connection: the startup packet, typed messages in, and
 * messages out built in a buffer and sent with one write, over the socket or, once the client
 * asked for it, TLS. Byte layouts follow the protocol's "Message Formats" chapter; every
 * integer is big-endian. */
#ifndef QX_SERVER_PG_WIRE_H
#define QX_SERVER_PG_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "util/grow.h"

#include "server/tls.h"

#define PG_MAX_MESSAGE (64u << 20) /* longer messages are refused, not buffered */

typedef struct pg_wire_conn { /* not libpq's struct pg_conn: the replica side uses both */
  int fd;
  qx_tls_context *tls_context; /* the server's, if it offers TLS; else NULL */
  qx_tls *tls;                 /* set once the client's SSLRequest led to a handshake */
  uint32_t max_message;        /* longer messages end the connection (PG_MAX_MESSAGE) */
  uint8_t *in;                 /* the body of the last message read */
  size_t in_cap;
  qx_buffer out;        /* messages built, not yet sent */
  size_t message_start; /* where the message being built began */
  int failed;           /* a write failed or memory ran out: the connection is done */
} pg_conn;

typedef struct pg_startup {
  char user[64], database[64], application_name[64];
} pg_startup;

typedef enum pg_startup_kind {
  PG_STARTUP_SESSION, /* protocol 3.0: a session with the parameters in pg_startup */
  PG_STARTUP_CANCEL,  /* a CancelRequest for the backend with process_id and secret */
} pg_startup_kind;

/* tls_context: the server's TLS, or NULL if it offers none. */
void qx_pg_conn_init(pg_conn *c, int fd, qx_tls_context *tls_context);
void qx_pg_conn_free(pg_conn *c); /* ends TLS; the socket is the caller's */

/* Reads the startup packet. An SSLRequest is answered 'S' and followed by the TLS handshake if
 * the server has a tls_context, else 'N' (as is a GSSENCRequest); then the packet that follows
 * is read. Returns 0, or -1 (with why in why) for a closed connection, a failed handshake, a
 * protocol other than 3.0, or a malformed packet. */
int qx_pg_read_startup(pg_conn *c, pg_startup_kind *kind, pg_startup *s, uint32_t cancel_key[2],
                       const char **why);

/* Reads one message: its type, and its body (len bytes, valid until the next read). Returns 0,
 * or -1 when the connection closed or sent a message over max_message bytes. */
int qx_pg_read_message(pg_conn *c, uint8_t *type, const uint8_t **body, uint32_t *len);

/* 1 if bytes the peer sent are already read off the socket (TLS decrypts whole records): a
 * poll of the socket would not see them. */
int qx_pg_pending(const pg_conn *c);

/* Building messages: begin, put the fields, end (which fills in the length). */
void qx_pg_begin(pg_conn *c, uint8_t type);
void qx_pg_put_u8(pg_conn *c, uint8_t v);
void qx_pg_put_i16(pg_conn *c, int16_t v);
void qx_pg_put_i32(pg_conn *c, int32_t v);
void qx_pg_put_bytes(pg_conn *c, const void *data, size_t len);
void qx_pg_put_str(pg_conn *c, const char *s); /* with its terminating NUL */
void qx_pg_end(pg_conn *c);

/* Sends what was built; 0, or -1 if the peer is gone. */
int qx_pg_flush(pg_conn *c);

#endif
