/* qaxdbd --add-user NAME --users FILE: adds a user to the users file, or sets a new password
 * for one already there, with the password read from standard input. */
#ifndef QAXDBD_ADD_USER_H
#define QAXDBD_ADD_USER_H

/* Returns the exit code, having said what happened on stdout or stderr. */
int add_user(const char *users_file, const char *name);

#endif
