/* SCRAM-SHA-256 (src/server/scram.c) against RFC 7677's example exchange (user "user",
 * password "pencil"): the verifier's keys, the server-first and server-final messages for the
 * RFC's nonces, a wrong proof refused, and the malformed or unsupported client messages
 * (channel binding "p=", an authorization identity, a nonce or binding that changed) refused
 * with a reason. Also base64 (src/util/base64.c), which SCRAM writes everything in. */
#include "check.h"
#include "server/scram.h"
#include "util/base64.h"

#define SALT "W22ZaJ0SNY7soEsUEjb6gQ=="
#define CLIENT_NONCE "rOprNGfwEbeRWgbNEkqO"
#define SERVER_NONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
#define CLIENT_FIRST "n,,n=user,r=" CLIENT_NONCE
#define SERVER_FIRST "r=" CLIENT_NONCE SERVER_NONCE ",s=" SALT ",i=4096"
#define PROOF "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define CLIENT_FINAL "c=biws,r=" CLIENT_NONCE SERVER_NONCE ",p=" PROOF
#define SERVER_FINAL "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
/* PostgreSQL's form of the RFC's verifier (StoredKey and ServerKey computed apart, with
 * Python's hashlib). */
#define VERIFIER                                                                                   \
  "SCRAM-SHA-256$4096:" SALT "$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:"                      \
  "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="

static void test_base64(void) {
  static const struct {
    const char *raw, *text;
  } cases[] = {{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char text[16];
    uint8_t raw[16];
    size_t len = 99;
    qx_base64_encode((const uint8_t *)cases[i].raw, strlen(cases[i].raw), text);
    CHECK_STR(text, cases[i].text);
    CHECK(qx_base64_decode(text, strlen(text), raw, sizeof raw, &len) == 0);
    CHECK(len == strlen(cases[i].raw) && memcmp(raw, cases[i].raw, len) == 0);
  }
  uint8_t out[8];
  size_t len;
  const char *bad[] = {"Zg=", "Z===", "Zg=a", "Z!==", "Zm 9v", "Zm9vYmFyYmF6", "=Zm9"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    CHECK(qx_base64_decode(bad[i], strlen(bad[i]), out, 8, &len) != 0); /* the 9-byte one too */
}

static void test_verifier(void) {
  uint8_t salt[32];
  size_t salt_len;
  CHECK(qx_base64_decode(SALT, strlen(SALT), salt, sizeof salt, &salt_len) == 0);
  qx_scram_verifier made, parsed;
  CHECK_OK(qx_scram_make_verifier("pencil", salt, salt_len, 4096, &made));
  char text[QX_SCRAM_VERIFIER_TEXT];
  qx_scram_format_verifier(&made, text);
  CHECK_STR(text, VERIFIER);
  CHECK_OK(qx_scram_parse_verifier(VERIFIER, &parsed));
  CHECK(made.iterations == parsed.iterations && made.salt_len == parsed.salt_len &&
        memcmp(made.salt, parsed.salt, made.salt_len) == 0 &&
        memcmp(made.stored_key, parsed.stored_key, QX_SCRAM_KEY_LEN) == 0 &&
        memcmp(made.server_key, parsed.server_key, QX_SCRAM_KEY_LEN) == 0);

  static const struct {
    const char *text, *why;
  } bad[] = {
      {"md5abcdef", "not a verifier of the form"},
      {"SCRAM-SHA-256$4096:" SALT "$AAAA:AAAA", "StoredKey is not 32 bytes"},
      {"SCRAM-SHA-256$0:" SALT "$x:y", "iteration count"},
      {"SCRAM-SHA-256$40x6:" SALT "$x:y", "iteration count"},
      {"SCRAM-SHA-256$99999999999:" SALT "$x:y", "iteration count"},
      {"SCRAM-SHA-256$4096:W22Z!J0SNY7soEsUEjb6gQ==$x:y", "salt is not"},
      {"SCRAM-SHA-256$4096:$x:y", "salt is not"},
      {"SCRAM-SHA-256$4096:" SALT "$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:short",
       "ServerKey is not 32 bytes"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    CHECK_RC(qx_scram_parse_verifier(bad[i].text, &parsed), QX_ERR_PARSE);
    CHECK(strstr(qx_last_error(), bad[i].why) != NULL);
  }
}

/* Runs the RFC's exchange with client_first and client_final; returns the final status. */
static int exchange(const char *client_first, const char *client_final, char out[]) {
  qx_scram_verifier v;
  qx_scram x;
  CHECK_OK(qx_scram_parse_verifier(VERIFIER, &v));
  int rc = qx_scram_server_first(&x, &v, client_first, strlen(client_first), SERVER_NONCE, out);
  if (rc != QX_OK) return rc;
  CHECK_STR(out, SERVER_FIRST);
  return qx_scram_server_final(&x, client_final, strlen(client_final), out);
}

static void test_exchange(void) {
  char out[QX_SCRAM_MAX_MESSAGE + 1];
  CHECK_OK(exchange(CLIENT_FIRST, CLIENT_FINAL, out));
  CHECK_STR(out, SERVER_FINAL);
  /* A client that could bind the channel but sees the server does not offer it: "y,,", and
   * its base64 "eSws" in client-final. The proof is over other bytes, so it no longer holds. */
  CHECK_RC(
      exchange("y,,n=user,r=" CLIENT_NONCE, "c=eSws,r=" CLIENT_NONCE SERVER_NONCE ",p=" PROOF, out),
      QX_ERR_DENIED);
  /* A wrong proof (one bit changed), and the nonce of another exchange. */
  CHECK_RC(exchange(CLIENT_FIRST,
                    "c=biws,r=" CLIENT_NONCE SERVER_NONCE
                    ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVU=",
                    out),
           QX_ERR_DENIED);
  CHECK(strstr(qx_last_error(), "proof does not match") != NULL);

  static const struct {
    const char *first, *final, *why;
  } bad[] = {
      {"p=tls-server-end-point,,n=user,r=abc", "", "channel binding (p=tls-server-end-point)"},
      {"n,a=admin,n=user,r=abc", "", "authorization identities"},
      {"x,,n=user,r=abc", "", "no gs2 header"},
      {"n,,m=ext,n=user,r=abc", "", "mandatory extensions"},
      {"n,,n=user", "", "no n=<user>,r=<nonce>"},
      {"n,,n=user,r=", "", "no n=<user>,r=<nonce>"},
      {CLIENT_FIRST, "c=eSws,r=" CLIENT_NONCE SERVER_NONCE ",p=" PROOF, "channel binding"},
      {CLIENT_FIRST, "c=biws,r=" CLIENT_NONCE ",p=" PROOF, "the nonce is not"},
      {CLIENT_FIRST, "c=biws,r=" CLIENT_NONCE SERVER_NONCE "x,p=" PROOF, "the nonce is not"},
      {CLIENT_FIRST, "c=biws,r=" CLIENT_NONCE SERVER_NONCE, "no proof"},
      {CLIENT_FIRST, "c=biws,r=" CLIENT_NONCE SERVER_NONCE ",p=AAAA", "not 32 bytes"},
      {CLIENT_FIRST, "c=biws", "channel binding"},
      {CLIENT_FIRST, "", "channel binding"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    CHECK_RC(exchange(bad[i].first, bad[i].final, out), QX_ERR_PARSE);
    if (!strstr(qx_last_error(), bad[i].why)) {
      fprintf(stderr, "case %zu: %s\n", i, qx_last_error());
      CHECK(0);
    }
  }
  /* A NUL inside a message, and one too long. */
  qx_scram_verifier v;
  qx_scram x;
  CHECK_OK(qx_scram_parse_verifier(VERIFIER, &v));
  CHECK_RC(qx_scram_server_first(&x, &v, "n,,n=u\0,r=abc", 13, SERVER_NONCE, out), QX_ERR_PARSE);
  char *huge = malloc(QX_SCRAM_MAX_MESSAGE + 2);
  memset(huge, 'a', QX_SCRAM_MAX_MESSAGE + 1);
  memcpy(huge, "n,,n=u,r=", 9);
  huge[QX_SCRAM_MAX_MESSAGE + 1] = '\0';
  CHECK_RC(qx_scram_server_first(&x, &v, huge, strlen(huge), SERVER_NONCE, out), QX_ERR_PARSE);
  huge[QX_SCRAM_MAX_MESSAGE - 10] = '\0'; /* fits, but the server's nonce makes it too long */
  CHECK_RC(qx_scram_server_first(&x, &v, huge, strlen(huge), SERVER_NONCE, out), QX_ERR_PARSE);
  free(huge);
}

/* A user not in the file gets a salt that stays the same across attempts (an attacker asking
 * twice learns nothing from a change) and differs between names. */
static void test_mock(void) {
  uint8_t secret[QX_SCRAM_KEY_LEN] = {1, 2, 3};
  qx_scram_verifier a1, a2, b;
  CHECK_OK(qx_scram_mock_verifier(secret, "alice", &a1));
  CHECK_OK(qx_scram_mock_verifier(secret, "alice", &a2));
  CHECK_OK(qx_scram_mock_verifier(secret, "bob", &b));
  CHECK(a1.salt_len == QX_SCRAM_SALT_LEN && a1.iterations == QX_SCRAM_ITERATIONS);
  CHECK(memcmp(a1.salt, a2.salt, QX_SCRAM_SALT_LEN) == 0);
  CHECK(memcmp(a1.salt, b.salt, QX_SCRAM_SALT_LEN) != 0);
  CHECK(memcmp(a1.stored_key, a2.stored_key, QX_SCRAM_KEY_LEN) != 0);
}

int main(void) {
  test_base64();
  test_verifier();
  test_exchange();
  test_mock();
  return test_finish("test_scram");
}
