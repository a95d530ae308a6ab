/* SCRAM-SHA-256 (RFC 5802, RFC 7677) on the server's side, as PostgreSQL runs it: the
 * verifier a users file keeps instead of a password, and the exchange of one authentication
 * (client-first, server-first, client-final, server-final), without channel binding. */
#ifndef QX_SERVER_SCRAM_H
#define QX_SERVER_SCRAM_H

#include <stddef.h>
#include <stdint.h>

#define QX_SCRAM_KEY_LEN 32      /* SHA-256 */
#define QX_SCRAM_SALT_LEN 16     /* of a new verifier (PostgreSQL's) */
#define QX_SCRAM_MAX_SALT 64     /* of a verifier read */
#define QX_SCRAM_ITERATIONS 4096 /* of a new verifier (PostgreSQL's default) */
#define QX_SCRAM_MAX_ITERATIONS 10000000u
#define QX_SCRAM_MAX_MESSAGE 1024 /* longer SCRAM messages are refused */
/* "SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>" at its longest, with its NUL */
#define QX_SCRAM_VERIFIER_TEXT 256

typedef struct qx_scram_verifier {
  uint32_t iterations;
  uint8_t salt[QX_SCRAM_MAX_SALT];
  size_t salt_len;
  uint8_t stored_key[QX_SCRAM_KEY_LEN], server_key[QX_SCRAM_KEY_LEN];
} qx_scram_verifier;

/* The verifier of password (its bytes as given: no SASLprep) with salt and iterations. */
int qx_scram_make_verifier(const char *password, const uint8_t *salt, size_t salt_len,
                           uint32_t iterations, qx_scram_verifier *out);

/* PostgreSQL's text form; parsing fails with QX_ERR_PARSE saying what is wrong. */
void qx_scram_format_verifier(const qx_scram_verifier *v, char out[QX_SCRAM_VERIFIER_TEXT]);
int qx_scram_parse_verifier(const char *text, qx_scram_verifier *out);

/* A verifier for a user who does not exist, so that the exchange looks the same as for one who
 * does: its salt derived from the user name and secret (stable across attempts), its keys
 * random, so no proof matches. */
int qx_scram_mock_verifier(const uint8_t secret[QX_SCRAM_KEY_LEN], const char *user,
                           qx_scram_verifier *out);

/* One exchange's state. */
typedef struct qx_scram {
  qx_scram_verifier verifier;
  char gs2_header[4]; /* "n,," or "y,," */
  char client_first_bare[QX_SCRAM_MAX_MESSAGE + 1];
  char server_first[QX_SCRAM_MAX_MESSAGE + 1];
  char nonce[QX_SCRAM_MAX_MESSAGE + 1]; /* the client's nonce and the server's */
} qx_scram;

/* Takes the client-first message (len bytes) and writes the server-first one into out.
 * server_nonce is printable ASCII without commas. QX_ERR_PARSE for a malformed message, or one
 * asking for what is not supported here (channel binding "p=", an authorization identity). */
int qx_scram_server_first(qx_scram *x, const qx_scram_verifier *v, const char *client_first,
                          size_t len, const char *server_nonce, char out[QX_SCRAM_MAX_MESSAGE + 1]);

/* Takes the client-final message and, if its proof is right, writes the server-final one into
 * out. QX_ERR_DENIED for a wrong proof (compared in constant time), QX_ERR_PARSE for a
 * malformed message. */
int qx_scram_server_final(qx_scram *x, const char *client_final, size_t len,
                          char out[QX_SCRAM_MAX_MESSAGE + 1]);

#endif
