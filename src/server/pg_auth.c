/* SCRAM-SHA-256 authentication of one PostgreSQL connection against the users file, in the
 * protocol's SASL messages: AuthenticationSASL, the client's SASLInitialResponse,
 * AuthenticationSASLContinue, its SASLResponse, AuthenticationSASLFinal. scram.c does the
 * mathematics; this file the messages and the answers a refused client gets. */
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "server/pg_session.h"
#include "server/scram.h"
#include "util/base64.h"
#include "util/error.h"
#include "util/log.h"

#define AUTH_SASL 10
#define AUTH_SASL_CONTINUE 11
#define AUTH_SASL_FINAL 12
#define MECHANISM "SCRAM-SHA-256"
#define SERVER_NONCE_BYTES 18 /* PostgreSQL's */
/* Until the client is authenticated, a message is at most a SCRAM message and its framing:
 * a stranger cannot make the server allocate more. */
#define MAX_AUTH_MESSAGE (QX_SCRAM_MAX_MESSAGE + 64)

static void send_auth(pg_conn *c, int32_t code, const char *data) {
  qx_pg_begin(c, 'R');
  qx_pg_put_i32(c, code);
  qx_pg_put_bytes(c, data, strlen(data));
  qx_pg_end(c);
}

/* Ends the attempt: a FATAL error with sqlstate, sent now. */
static int refuse(pg_conn *c, const char *sqlstate, const char *message) {
  qx_pg_send_error(c, "FATAL", sqlstate, message);
  qx_pg_flush(c);
  return -1;
}

/* Reads the client's next SASL message ('p'); -1 if it is something else or the client left. */
static int read_sasl(pg_conn *c, const uint8_t **body, uint32_t *len) {
  uint8_t type;
  if (qx_pg_read_message(c, &type, body, len) != 0) return -1;
  if (type == 'p') return 0;
  char message[64];
  snprintf(message, sizeof message, "expected a SASL response, got message type 0x%02x", type);
  return refuse(c, "08P01", message); /* protocol_violation */
}

/* The SASLInitialResponse: the mechanism's name, then the client-first message's length and
 * bytes. */
static int take_initial(pg_conn *c, const uint8_t *body, uint32_t len, const char **data,
                        size_t *data_len) {
  size_t name_len = strlen((const char *)body); /* read_message ends the body with a NUL */
  if (name_len + 5 > len) return refuse(c, "08P01", "malformed SASLInitialResponse");
  if (strcmp((const char *)body, MECHANISM) != 0)
    return refuse(c, "08P01", "the client chose a SASL mechanism other than SCRAM-SHA-256");
  const uint8_t *n = body + name_len + 1;
  uint32_t size = (uint32_t)n[0] << 24 | (uint32_t)n[1] << 16 | (uint32_t)n[2] << 8 | n[3];
  if (size != len - name_len - 5) return refuse(c, "08P01", "malformed SASLInitialResponse");
  *data = (const char *)n + 4;
  *data_len = size;
  return 0;
}

/* Sends AuthenticationSASLContinue with the server-first message, for the client-first one. */
static int continue_exchange(session *s, qx_scram *x, const qx_scram_verifier *v) {
  pg_conn *c = &s->conn;
  const uint8_t *body;
  const char *client_first;
  size_t client_first_len;
  uint32_t len;
  if (read_sasl(c, &body, &len) != 0 ||
      take_initial(c, body, len, &client_first, &client_first_len) != 0)
    return -1;
  uint8_t raw[SERVER_NONCE_BYTES];
  char nonce[QX_BASE64_LEN(SERVER_NONCE_BYTES) + 1], server_first[QX_SCRAM_MAX_MESSAGE + 1];
  if (RAND_bytes(raw, sizeof raw) != 1) return refuse(c, "XX000", "no random bytes for SCRAM");
  qx_base64_encode(raw, sizeof raw, nonce);
  if (qx_scram_server_first(x, v, client_first, client_first_len, nonce, server_first) != QX_OK)
    return refuse(c, "08P01", qx_last_error());
  send_auth(c, AUTH_SASL_CONTINUE, server_first);
  return qx_pg_flush(c);
}

int qx_pg_authenticate(session *s) {
  pg_conn *c = &s->conn;
  const char *user = s->startup.user;
  qx_scram_verifier v;
  pthread_mutex_lock(&s->srv->mu); /* a reload may replace the users */
  const qx_scram_verifier *found = qx_users_find(&s->srv->users, user);
  int known = found != NULL;
  if (found) v = *found;
  pthread_mutex_unlock(&s->srv->mu);
  /* An unknown user goes through the same exchange, with a verifier nobody's proof matches:
   * the answers do not tell which names exist. */
  if (!known && qx_scram_mock_verifier(s->srv->mock_secret, user, &v) != QX_OK)
    return refuse(c, "XX000", qx_last_error());
  c->max_message = MAX_AUTH_MESSAGE;
  qx_pg_begin(c, 'R');
  qx_pg_put_i32(c, AUTH_SASL);
  qx_pg_put_str(c, MECHANISM);
  qx_pg_put_u8(c, 0); /* the end of the list of mechanisms */
  qx_pg_end(c);
  qx_scram x;
  const uint8_t *body;
  uint32_t len;
  char server_final[QX_SCRAM_MAX_MESSAGE + 1];
  if (qx_pg_flush(c) != 0 || continue_exchange(s, &x, &v) != 0 || read_sasl(c, &body, &len) != 0)
    return -1;
  int rc = qx_scram_server_final(&x, (const char *)body, len, server_final);
  if (rc == QX_ERR_DENIED || (rc == QX_OK && !known)) {
    char message[128];
    snprintf(message, sizeof message, "password authentication failed for user \"%s\"", user);
    /* Logged as PostgreSQL does, so that guessing shows; the log, unlike the client, may say
     * whether the name exists. */
    qx_log(QX_LOG_WARN, message, "in_users_file=%d", known);
    return refuse(c, "28P01", message); /* invalid_password */
  }
  if (rc != QX_OK) return refuse(c, "08P01", qx_last_error());
  send_auth(c, AUTH_SASL_FINAL, server_final); /* AuthenticationOk follows, in the greeting */
  c->max_message = PG_MAX_MESSAGE;
  return 0;
}
