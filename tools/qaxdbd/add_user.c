/* qaxdbd --add-user (add_user.h): the password comes from standard input (prompted for,
 * without echo, on a terminal) and only its SCRAM-SHA-256 verifier, with a fresh random salt,
 * is written to the users file. */
#include "add_user.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "qaxdb/status.h"
#include "server/scram.h"
#include "server/users.h"
#include "util/error.h"

#define MAX_PASSWORD 1024

/* Reads the first line of stdin into password, without its line ending; -1 if there is none
 * or it is empty or too long. On a terminal, prompts and turns echo off meanwhile. */
static int read_password(const char *name, char password[MAX_PASSWORD + 2]) {
  struct termios saved, quiet;
  int tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
  if (tty) {
    fprintf(stderr, "password for %s: ", name);
    quiet = saved;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  int ok = fgets(password, MAX_PASSWORD + 2, stdin) != NULL;
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    fputc('\n', stderr);
  }
  size_t len = ok ? strcspn(password, "\r\n") : 0;
  if (ok && len > MAX_PASSWORD) ok = 0;
  password[len] = '\0';
  return ok && len > 0 ? 0 : -1;
}

int add_user(const char *users_file, const char *name) {
  if (!qx_user_name_ok(name)) {
    fprintf(stderr,
            "qaxdbd: %s is not a user name for the users file: 1 to %d bytes, no spaces or "
            "control characters, not starting with #\n",
            name, QX_USER_NAME_MAX);
    return 2;
  }
  char password[MAX_PASSWORD + 2];
  if (read_password(name, password) != 0) {
    fprintf(stderr, "qaxdbd: no password on standard input (one line, 1 to %d bytes)\n",
            MAX_PASSWORD);
    return 2;
  }
  uint8_t salt[QX_SCRAM_SALT_LEN];
  qx_scram_verifier v;
  int replaced = 0;
  int rc = RAND_bytes(salt, sizeof salt) == 1 ? QX_OK : qx_fail(QX_ERR_IO, "no random bytes");
  if (rc == QX_OK)
    rc = qx_scram_make_verifier(password, salt, sizeof salt, QX_SCRAM_ITERATIONS, &v);
  OPENSSL_cleanse(password, sizeof password);
  if (rc == QX_OK) rc = qx_users_put(users_file, name, &v, &replaced);
  if (rc != QX_OK) {
    fprintf(stderr, "qaxdbd: cannot add %s to %s: %s: %s\n", name, users_file, qx_strerror(rc),
            qx_last_error());
    return 1;
  }
  printf(replaced ? "qaxdbd: changed the password of user %s in %s\n"
                  : "qaxdbd: added user %s to %s\n",
         name, users_file);
  return 0;
}
