/* SCRAM-SHA-256 (scram.h): the key derivations of RFC 5802 section 3 with OpenSSL's SHA-256,
 * HMAC and PBKDF2, and the parsing of the client's two messages. The server keeps StoredKey
 * and ServerKey only: it checks a proof without ever holding the password. */
#include "server/scram.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/base64.h"
#include "util/error.h"

#define PREFIX "SCRAM-SHA-256$"

static void hmac(const uint8_t *key, size_t key_len, const void *data, size_t len,
                 uint8_t out[QX_SCRAM_KEY_LEN]) {
  unsigned int out_len = QX_SCRAM_KEY_LEN;
  HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &out_len);
}

int qx_scram_make_verifier(const char *password, const uint8_t *salt, size_t salt_len,
                           uint32_t iterations, qx_scram_verifier *out) {
  if (salt_len == 0 || salt_len > QX_SCRAM_MAX_SALT || iterations == 0 ||
      iterations > QX_SCRAM_MAX_ITERATIONS)
    return qx_fail(QX_ERR_INVALID_ARG, "SCRAM: a salt of %zu bytes or %u iterations", salt_len,
                   iterations);
  uint8_t salted[QX_SCRAM_KEY_LEN], client_key[QX_SCRAM_KEY_LEN];
  if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)salt_len, (int)iterations,
                        EVP_sha256(), QX_SCRAM_KEY_LEN, salted) != 1)
    return qx_fail(QX_ERR_NOMEM, "SCRAM: PBKDF2 failed");
  memset(out, 0, sizeof *out);
  out->iterations = iterations;
  memcpy(out->salt, salt, salt_len);
  out->salt_len = salt_len;
  hmac(salted, sizeof salted, "Client Key", 10, client_key);
  SHA256(client_key, sizeof client_key, out->stored_key);
  hmac(salted, sizeof salted, "Server Key", 10, out->server_key);
  OPENSSL_cleanse(salted, sizeof salted); /* either would let its holder log in */
  OPENSSL_cleanse(client_key, sizeof client_key);
  return QX_OK;
}

void qx_scram_format_verifier(const qx_scram_verifier *v, char out[QX_SCRAM_VERIFIER_TEXT]) {
  char salt[QX_BASE64_LEN(QX_SCRAM_MAX_SALT) + 1], stored[QX_BASE64_LEN(QX_SCRAM_KEY_LEN) + 1],
      server[QX_BASE64_LEN(QX_SCRAM_KEY_LEN) + 1];
  qx_base64_encode(v->salt, v->salt_len, salt);
  qx_base64_encode(v->stored_key, QX_SCRAM_KEY_LEN, stored);
  qx_base64_encode(v->server_key, QX_SCRAM_KEY_LEN, server);
  snprintf(out, QX_SCRAM_VERIFIER_TEXT, PREFIX "%u:%s$%s:%s", v->iterations, salt, stored, server);
}

/* Decodes the base64 field [from, to) of a verifier into exactly want bytes (any number up to
 * QX_SCRAM_MAX_SALT if want is 0). */
static int verifier_field(const char *from, const char *to, const char *what, uint8_t *out,
                          size_t want, size_t *out_len) {
  size_t cap = want ? want : QX_SCRAM_MAX_SALT, len = 0;
  if (qx_base64_decode(from, (size_t)(to - from), out, cap, &len) != 0 || len == 0 ||
      (want && len != want))
    return want ? qx_fail(QX_ERR_PARSE, "the %s is not %zu bytes in base64", what, want)
                : qx_fail(QX_ERR_PARSE, "the %s is not 1 to %d bytes in base64", what,
                          QX_SCRAM_MAX_SALT);
  if (out_len) *out_len = len;
  return QX_OK;
}

static int parse_iterations(const char *from, const char *to, uint32_t *out) {
  uint64_t n = 0;
  for (const char *p = from; p < to && n <= QX_SCRAM_MAX_ITERATIONS; p++) {
    if (*p < '0' || *p > '9') return qx_fail(QX_ERR_PARSE, "the iteration count is not a number");
    n = n * 10 + (uint64_t)(*p - '0');
  }
  if (from == to || n == 0 || n > QX_SCRAM_MAX_ITERATIONS)
    return qx_fail(QX_ERR_PARSE, "the iteration count is not a number from 1 to %u",
                   QX_SCRAM_MAX_ITERATIONS);
  *out = (uint32_t)n;
  return QX_OK;
}

int qx_scram_parse_verifier(const char *text, qx_scram_verifier *out) {
  memset(out, 0, sizeof *out);
  const char *colon1 = strchr(text, ':'), *dollar = colon1 ? strchr(colon1, '$') : NULL,
             *colon2 = dollar ? strchr(dollar, ':') : NULL;
  if (strncmp(text, PREFIX, strlen(PREFIX)) != 0 || !colon2)
    return qx_fail(QX_ERR_PARSE, "not a verifier of the form " PREFIX
                                 "<iterations>:<salt>$<StoredKey>:<ServerKey>");
  const char *end = colon2 + strlen(colon2);
  int rc = parse_iterations(text + strlen(PREFIX), colon1, &out->iterations);
  if (rc == QX_OK) rc = verifier_field(colon1 + 1, dollar, "salt", out->salt, 0, &out->salt_len);
  if (rc == QX_OK)
    rc = verifier_field(dollar + 1, colon2, "StoredKey", out->stored_key, QX_SCRAM_KEY_LEN, NULL);
  if (rc == QX_OK)
    rc = verifier_field(colon2 + 1, end, "ServerKey", out->server_key, QX_SCRAM_KEY_LEN, NULL);
  return rc;
}

int qx_scram_mock_verifier(const uint8_t secret[QX_SCRAM_KEY_LEN], const char *user,
                           qx_scram_verifier *out) {
  uint8_t salt[QX_SCRAM_KEY_LEN];
  memset(out, 0, sizeof *out);
  hmac(secret, QX_SCRAM_KEY_LEN, user, strlen(user), salt);
  memcpy(out->salt, salt, QX_SCRAM_SALT_LEN);
  out->salt_len = QX_SCRAM_SALT_LEN;
  out->iterations = QX_SCRAM_ITERATIONS;
  if (RAND_bytes(out->stored_key, QX_SCRAM_KEY_LEN) != 1 ||
      RAND_bytes(out->server_key, QX_SCRAM_KEY_LEN) != 1)
    return qx_fail(QX_ERR_IO, "SCRAM: no random bytes");
  return QX_OK;
}

/* ---- the exchange -------------------------------------------------------------------------- */

/* Copies a client message into text, NUL-terminated; it must be short and hold no NUL. */
static int take_message(const char *message, size_t len, const char *which,
                        char text[QX_SCRAM_MAX_MESSAGE + 1]) {
  if (len > QX_SCRAM_MAX_MESSAGE || memchr(message, '\0', len))
    return qx_fail(QX_ERR_PARSE, "malformed SCRAM %s message", which);
  memcpy(text, message, len);
  text[len] = '\0';
  return QX_OK;
}

/* RFC 5802's printable: a nonce is ASCII 0x21-0x7e except ','. */
static int printable(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (s[i] < 0x21 || s[i] > 0x7e || s[i] == ',') return 0;
  return len > 0;
}

/* The gs2 header: "n,," (no channel binding) or "y,," (the client could, but sees the server
 * does not offer it) are taken; "p=..." and an authorization identity are not. */
static int take_gs2_header(qx_scram *x, const char *msg) {
  if (strncmp(msg, "p=", 2) == 0)
    return qx_fail(QX_ERR_PARSE,
                   "SCRAM channel binding (%.*s) is not supported: connect "
                   "without it (channel_binding=disable or prefer)",
                   (int)strcspn(msg, ","), msg);
  if ((msg[0] != 'n' && msg[0] != 'y') || msg[1] != ',')
    return qx_fail(QX_ERR_PARSE, "malformed SCRAM client-first message: no gs2 header");
  if (msg[2] != ',')
    return qx_fail(QX_ERR_PARSE, "SCRAM authorization identities (a=) are not supported");
  memcpy(x->gs2_header, msg, 3);
  x->gs2_header[3] = '\0';
  return QX_OK;
}

int qx_scram_server_first(qx_scram *x, const qx_scram_verifier *v, const char *client_first,
                          size_t len, const char *server_nonce,
                          char out[QX_SCRAM_MAX_MESSAGE + 1]) {
  char msg[QX_SCRAM_MAX_MESSAGE + 1];
  memset(x, 0, sizeof *x);
  x->verifier = *v;
  int rc = take_message(client_first, len, "client-first", msg);
  if (rc == QX_OK) rc = take_gs2_header(x, msg);
  if (rc != QX_OK) return rc;
  const char *bare = msg + 3; /* the user name in it is ignored: the startup packet's counts */
  if (strncmp(bare, "m=", 2) == 0)
    return qx_fail(QX_ERR_PARSE, "SCRAM mandatory extensions (m=) are not supported");
  const char *r = strchr(bare, ',');
  if (strncmp(bare, "n=", 2) != 0 || !r || strncmp(r, ",r=", 3) != 0 ||
      !printable(r + 3, strcspn(r + 3, ",")))
    return qx_fail(QX_ERR_PARSE, "malformed SCRAM client-first message: no n=<user>,r=<nonce>");
  char salt[QX_BASE64_LEN(QX_SCRAM_MAX_SALT) + 1];
  qx_base64_encode(v->salt, v->salt_len, salt);
  int nonce_len =
      snprintf(x->nonce, sizeof x->nonce, "%.*s%s", (int)strcspn(r + 3, ","), r + 3, server_nonce);
  int out_len =
      snprintf(out, QX_SCRAM_MAX_MESSAGE + 1, "r=%s,s=%s,i=%u", x->nonce, salt, v->iterations);
  if (nonce_len > QX_SCRAM_MAX_MESSAGE || out_len > QX_SCRAM_MAX_MESSAGE)
    return qx_fail(QX_ERR_PARSE, "malformed SCRAM client-first message: its nonce is too long");
  memcpy(x->client_first_bare, bare, strlen(bare) + 1);
  memcpy(x->server_first, out, (size_t)out_len + 1);
  return QX_OK;
}

/* Checks client-final's channel binding (the gs2 header again, in base64) and nonce; returns
 * where its proof attribute ",p=" begins, or NULL. */
static const char *check_client_final(const qx_scram *x, const char *msg) {
  char binding[QX_BASE64_LEN(3) + 1];
  qx_base64_encode((const uint8_t *)x->gs2_header, 3, binding);
  size_t binding_len = strlen(binding), nonce_len = strlen(x->nonce);
  const char *r = msg + 2 + binding_len, *proof = strrchr(msg, ',');
  if (strncmp(msg, "c=", 2) != 0 || strncmp(msg + 2, binding, binding_len) != 0 ||
      strncmp(r, ",r=", 3) != 0) {
    qx_record_failure("SCRAM client-final message: its channel binding is not the "
                      "client-first's gs2 header");
    return NULL;
  }
  if (strncmp(r + 3, x->nonce, nonce_len) != 0 || (r[3 + nonce_len] && r[3 + nonce_len] != ',')) {
    qx_record_failure("SCRAM client-final message: the nonce is not the server-first's");
    return NULL;
  }
  if (proof <= r || strncmp(proof, ",p=", 3) != 0) {
    qx_record_failure("malformed SCRAM client-final message: no proof (p=) at its end");
    return NULL;
  }
  return proof;
}

int qx_scram_server_final(qx_scram *x, const char *client_final, size_t len,
                          char out[QX_SCRAM_MAX_MESSAGE + 1]) {
  char msg[QX_SCRAM_MAX_MESSAGE + 1], auth[3 * (QX_SCRAM_MAX_MESSAGE + 1)];
  int rc = take_message(client_final, len, "client-final", msg);
  if (rc != QX_OK) return rc;
  const char *proof_at = check_client_final(x, msg);
  if (!proof_at) return QX_ERR_PARSE;
  uint8_t proof[QX_SCRAM_KEY_LEN], signature[QX_SCRAM_KEY_LEN], stored[QX_SCRAM_KEY_LEN];
  size_t proof_len;
  if (qx_base64_decode(proof_at + 3, strlen(proof_at + 3), proof, sizeof proof, &proof_len) != 0 ||
      proof_len != sizeof proof)
    return qx_fail(QX_ERR_PARSE, "malformed SCRAM client-final message: the proof is not 32 "
                                 "bytes in base64");
  /* AuthMessage: client-first-bare "," server-first "," client-final-without-proof */
  int auth_len = snprintf(auth, sizeof auth, "%s,%s,%.*s", x->client_first_bare, x->server_first,
                          (int)(proof_at - msg), msg);
  hmac(x->verifier.stored_key, QX_SCRAM_KEY_LEN, auth, (size_t)auth_len, signature);
  for (size_t i = 0; i < sizeof proof; i++)
    proof[i] ^= signature[i]; /* now the ClientKey, if the client knows the password */
  SHA256(proof, sizeof proof, stored);
  if (CRYPTO_memcmp(stored, x->verifier.stored_key, QX_SCRAM_KEY_LEN) != 0)
    return qx_fail(QX_ERR_DENIED, "SCRAM: the client's proof does not match the verifier");
  hmac(x->verifier.server_key, QX_SCRAM_KEY_LEN, auth, (size_t)auth_len, signature);
  char server_signature[QX_BASE64_LEN(QX_SCRAM_KEY_LEN) + 1];
  qx_base64_encode(signature, sizeof signature, server_signature);
  snprintf(out, QX_SCRAM_MAX_MESSAGE + 1, "v=%s", server_signature);
  return QX_OK;
}
