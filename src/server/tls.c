/* TLS (tls.h) with OpenSSL over the connection's blocking socket. OpenSSL writes with write(),
 * which raises SIGPIPE once the peer is gone: the connection threads block SIGPIPE
 * (server.c), so a write fails with EPIPE instead. */
#include "server/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>

#include "util/error.h"

/* OpenSSL's reason for the last failure on this thread ("no reason" if it gave none). */
static const char *openssl_reason(char buf[256]) {
  unsigned long e = ERR_get_error();
  if (!e) return "no reason given";
  ERR_error_string_n(e, buf, 256);
  ERR_clear_error(); /* the rest of the queue would be read as the next failure's */
  return buf;
}

int qx_tls_context_new(const char *cert_file, const char *key_file, qx_tls_context **out) {
  char why[256];
  *out = NULL;
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) return qx_fail(QX_ERR_NOMEM, "TLS: %s", openssl_reason(why));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  int rc = QX_OK;
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1)
    rc = qx_fail(QX_ERR_IO, "TLS certificate %s: %s", cert_file, openssl_reason(why));
  else if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1)
    rc = qx_fail(QX_ERR_IO, "TLS key %s: %s", key_file, openssl_reason(why));
  else if (SSL_CTX_check_private_key(ctx) != 1)
    rc = qx_fail(QX_ERR_INVALID_ARG, "TLS key %s does not match the certificate %s: %s", key_file,
                 cert_file, openssl_reason(why));
  if (rc != QX_OK) {
    SSL_CTX_free(ctx);
    return rc;
  }
  *out = ctx;
  return QX_OK;
}

void qx_tls_context_free(qx_tls_context *ctx) {
  SSL_CTX_free(ctx);
}

qx_tls *qx_tls_accept(qx_tls_context *ctx, int fd) {
  char why[256];
  SSL *ssl = SSL_new(ctx);
  if (!ssl) {
    qx_record_failure("TLS: %s", openssl_reason(why));
    return NULL;
  }
  if (SSL_set_fd(ssl, fd) != 1 || SSL_accept(ssl) != 1) {
    qx_record_failure("TLS handshake failed: %s", openssl_reason(why));
    SSL_free(ssl);
    return NULL;
  }
  return ssl;
}

/* After a failed read or write: OpenSSL forbids a close alert once the connection broke (a
 * socket error, a protocol error), so the close will only free it. */
static ssize_t failed(qx_tls *tls, int ret) {
  int e = SSL_get_error(tls, ret);
  if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_SSL) SSL_set_quiet_shutdown(tls, 1);
  ERR_clear_error();
  return -1;
}

ssize_t qx_tls_read(qx_tls *tls, void *buf, size_t len) {
  size_t got = 0;
  int ret = SSL_read_ex(tls, buf, len, &got);
  return ret == 1 ? (ssize_t)got : failed(tls, ret);
}

ssize_t qx_tls_write(qx_tls *tls, const void *buf, size_t len) {
  size_t sent = 0;
  int ret = SSL_write_ex(tls, buf, len, &sent);
  return ret == 1 ? (ssize_t)sent : failed(tls, ret);
}

int qx_tls_pending(qx_tls *tls) {
  return SSL_pending(tls) > 0;
}

void qx_tls_close(qx_tls *tls) {
  if (!tls) return;
  SSL_shutdown(tls);
  ERR_clear_error();
  SSL_free(tls);
}
