/* The users file (docs/formats/users.md): who may connect to qaxdbd, each user with the
 * SCRAM-SHA-256 verifier of their password. Read once when the server starts; qaxdbd
 * --add-user writes entries. */
#ifndef QX_SERVER_USERS_H
#define QX_SERVER_USERS_H

#include <stddef.h>

#include "server/scram.h"

#define QX_USER_NAME_MAX 63 /* bytes; PostgreSQL's NAMEDATALEN - 1 */

typedef struct qx_user {
  char name[QX_USER_NAME_MAX + 1];
  qx_scram_verifier verifier;
} qx_user;

typedef struct qx_users {
  qx_user *users;
  size_t count, cap;
} qx_users;

/* Reads the users file at path. QX_ERR_PARSE naming "path:line" and what is wrong there;
 * QX_ERR_IO if it cannot be read. */
int qx_users_load(const char *path, qx_users *out);
/* The same for text in memory (len bytes); path only names it in errors. */
int qx_users_parse(const char *path, const char *text, size_t len, qx_users *out);

/* The verifier of the user called name, or NULL. */
const qx_scram_verifier *qx_users_find(const qx_users *users, const char *name);

void qx_users_free(qx_users *users);

/* Whether name may be a user's name in the file: 1 to QX_USER_NAME_MAX bytes, no whitespace
 * or control characters, not starting with '#'. */
int qx_user_name_ok(const char *name);

/* Adds the user to the file at path (created, mode 0600, if it does not exist), or replaces
 * the verifier of one already there; every other line is kept. The file is replaced whole by
 * a rename, so a reader sees it before or after. *replaced: 1 if the user existed. */
int qx_users_put(const char *path, const char *name, const qx_scram_verifier *v, int *replaced);

#endif
