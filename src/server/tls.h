/* TLS for qaxdbd's PostgreSQL connections (OpenSSL): the server's certificate and key, loaded
 * once, and the handshake and encrypted reads and writes of one connection after the client's
 * SSLRequest was answered 'S'. */
#ifndef QX_SERVER_TLS_H
#define QX_SERVER_TLS_H

#include <stddef.h>
#include <sys/types.h>

typedef struct ssl_ctx_st qx_tls_context; /* OpenSSL's SSL_CTX */
typedef struct ssl_st qx_tls;             /* OpenSSL's SSL: one connection */

/* Loads the certificate chain (PEM) and its private key (PEM, not encrypted); QX_ERR_IO or
 * QX_ERR_INVALID_ARG naming the file and OpenSSL's reason. TLS 1.2 and later. */
int qx_tls_context_new(const char *cert_file, const char *key_file, qx_tls_context **out);
void qx_tls_context_free(qx_tls_context *ctx);

/* The server's side of the handshake on fd; NULL (with why in qx_last_error) if it failed. */
qx_tls *qx_tls_accept(qx_tls_context *ctx, int fd);

/* As read and write on a blocking socket: bytes moved (> 0), or <= 0 when the connection
 * failed or closed. */
ssize_t qx_tls_read(qx_tls *tls, void *buf, size_t len);
ssize_t qx_tls_write(qx_tls *tls, const void *buf, size_t len);

/* 1 if decrypted bytes wait to be read. */
int qx_tls_pending(qx_tls *tls);

/* Sends the close alert (if the peer is still there) and frees the connection's state. */
void qx_tls_close(qx_tls *tls);

#endif
