/* The users file (users.h, docs/formats/users.md): one "name verifier" per line, '#' comments.
 * Every line is checked when it is read, so that a typo stops the server from starting with
 * an error naming the file and line, instead of locking a user out at the first login. */
#include "server/users.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/error.h"
#include "util/fileio.h"
#include "util/grow.h"

#define MAX_LINE 1024        /* a verifier with the longest salt fits well within */
#define MAX_FILE (16u << 20) /* a users file is small: anything larger is a mistake */
#define SPACE " \t\r"        /* between fields; a CR ends a line written on Windows */

int qx_user_name_ok(const char *name) {
  size_t len = strlen(name);
  if (len == 0 || len > QX_USER_NAME_MAX || name[0] == '#') return 0;
  for (const char *p = name; *p; p++)
    if ((unsigned char)*p <= ' ' || *p == 0x7f) return 0;
  return 1;
}

/* One line's fields; both NULL on a blank or comment line. */
typedef struct fields {
  const char *name, *verifier;
} fields;

/* Splits line (NUL-terminated, cut in place) into its name and verifier; -1 if it has one
 * field, or more than two. */
static int split_line(char *line, fields *f) {
  f->name = f->verifier = NULL;
  char *p = line + strspn(line, SPACE);
  if (!*p || *p == '#') return 0;
  f->name = p;
  p += strcspn(p, SPACE);
  if (!*p) return -1;
  *p++ = '\0';
  p += strspn(p, SPACE);
  f->verifier = p;
  p += strcspn(p, SPACE);
  if (*p) *p++ = '\0';
  return *f->verifier && !p[strspn(p, SPACE)] ? 0 : -1;
}

/* Checks one line's fields and adds its user to out. */
static int add_line(const char *path, size_t line_no, const fields *f, qx_users *out) {
  if (!qx_user_name_ok(f->name))
    return qx_fail(QX_ERR_PARSE,
                   "%s:%zu: bad user name: 1 to %d bytes, no spaces or control characters, "
                   "not starting with #",
                   path, line_no, QX_USER_NAME_MAX);
  if (qx_users_find(out, f->name))
    return qx_fail(QX_ERR_PARSE, "%s:%zu: user %s appears twice", path, line_no, f->name);
  int rc = qx_grow((void **)&out->users, &out->cap, out->count + 1, sizeof *out->users, "users");
  if (rc != QX_OK) return rc;
  qx_user *u = &out->users[out->count];
  snprintf(u->name, sizeof u->name, "%s", f->name);
  rc = qx_scram_parse_verifier(f->verifier, &u->verifier);
  if (rc != QX_OK) {
    char why[256];
    snprintf(why, sizeof why, "%s", qx_last_error());
    return qx_fail(rc, "%s:%zu: user %s: %s", path, line_no, f->name, why);
  }
  out->count++;
  return QX_OK;
}

/* Copies the line at text (up to a newline or end) into line; -1 if it is too long or holds a
 * NUL. *next: where the next line begins. */
static int take_line(const char *text, const char *end, char line[MAX_LINE + 1],
                     const char **next) {
  const char *nl = memchr(text, '\n', (size_t)(end - text));
  size_t len = (size_t)((nl ? nl : end) - text);
  *next = nl ? nl + 1 : end;
  if (len > MAX_LINE || memchr(text, '\0', len)) return -1;
  memcpy(line, text, len);
  line[len] = '\0';
  return 0;
}

int qx_users_parse(const char *path, const char *text, size_t len, qx_users *out) {
  memset(out, 0, sizeof *out);
  char line[MAX_LINE + 1];
  size_t line_no = 0;
  int rc = QX_OK;
  for (const char *p = text, *end = text + len; rc == QX_OK && p < end;) {
    fields f;
    line_no++;
    if (take_line(p, end, line, &p) != 0)
      rc = qx_fail(QX_ERR_PARSE, "%s:%zu: a line longer than %d bytes, or with a NUL byte", path,
                   line_no, MAX_LINE);
    else if (split_line(line, &f) != 0)
      rc = qx_fail(QX_ERR_PARSE,
                   "%s:%zu: expected a user name and its verifier, SCRAM-SHA-256$<iterations>:"
                   "<salt>$<StoredKey>:<ServerKey>, separated by spaces",
                   path, line_no);
    else if (f.name)
      rc = add_line(path, line_no, &f, out);
  }
  if (rc != QX_OK) qx_users_free(out);
  return rc;
}

/* Reads the whole file at path into b; a file that does not exist is empty if missing_ok. */
static int read_whole(const char *path, int missing_ok, qx_buffer *b) {
  FILE *f = fopen(path, "rbe");
  if (!f && errno == ENOENT && missing_ok) return QX_OK;
  if (!f) return qx_fail_errno(QX_ERR_IO, errno, "users file %s", path);
  char chunk[4096];
  size_t n;
  while (b->len <= MAX_FILE && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
    qx_buffer_put(b, chunk, n);
  int failed = ferror(f);
  fclose(f);
  if (failed) return qx_fail(QX_ERR_IO, "users file %s: read failed", path);
  if (b->len > MAX_FILE)
    return qx_fail(QX_ERR_PARSE, "users file %s: larger than %u MiB", path, MAX_FILE >> 20);
  return b->failed ? qx_fail(QX_ERR_NOMEM, "users file %s: out of memory", path) : QX_OK;
}

int qx_users_load(const char *path, qx_users *out) {
  qx_buffer b = {0};
  memset(out, 0, sizeof *out);
  int rc = read_whole(path, 0, &b);
  if (rc == QX_OK) rc = qx_users_parse(path, b.len ? (const char *)b.p : "", b.len, out);
  qx_buffer_free(&b);
  return rc;
}

const qx_scram_verifier *qx_users_find(const qx_users *users, const char *name) {
  for (size_t i = 0; i < users->count; i++)
    if (strcmp(users->users[i].name, name) == 0) return &users->users[i].verifier;
  return NULL;
}

void qx_users_free(qx_users *users) {
  free(users->users);
  memset(users, 0, sizeof *users);
}

/* ---- writing an entry ---------------------------------------------------------------------- */

/* The file's text (already checked) with the user's line replaced, or added at the end. */
static void rewrite(const qx_buffer *old, const char *name, const qx_scram_verifier *v,
                    qx_buffer *out, int *replaced) {
  char line[MAX_LINE + 1], verifier[QX_SCRAM_VERIFIER_TEXT];
  qx_scram_format_verifier(v, verifier);
  *replaced = 0;
  const char *text = old->len ? (const char *)old->p : "";
  for (const char *p = text, *end = text + old->len; p < end;) {
    const char *start = p;
    fields f;
    take_line(p, end, line, &p);
    split_line(line, &f);
    if (f.name && strcmp(f.name, name) == 0) {
      qx_buffer_printf(out, "%s %s\n", name, verifier);
      *replaced = 1;
    } else {
      qx_buffer_put(out, start, (size_t)(p - start));
      if (p == end && p[-1] != '\n') qx_buffer_put(out, "\n", 1);
    }
  }
  if (!*replaced) qx_buffer_printf(out, "%s %s\n", name, verifier);
}

/* Writes data to path through a temporary file renamed over it, synced, mode 0600. */
static int replace_file(const char *path, const qx_buffer *data) {
  char tmp[PATH_MAX], dir[PATH_MAX];
  if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
    return qx_fail(QX_ERR_INVALID_ARG, "users file path too long: %s", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return qx_fail_errno(QX_ERR_IO, errno, "create %s", tmp);
  int rc = qx_pwrite_all(fd, data->p, data->len, 0, tmp);
  if (rc == QX_OK && fsync(fd) != 0) rc = qx_fail_errno(QX_ERR_IO, errno, "fsync %s", tmp);
  close(fd);
  if (rc == QX_OK && rename(tmp, path) != 0)
    rc = qx_fail_errno(QX_ERR_IO, errno, "rename %s to %s", tmp, path);
  if (rc != QX_OK) {
    unlink(tmp);
    return rc;
  }
  snprintf(dir, sizeof dir, "%s", path);
  return qx_fsync_dir(dirname(dir));
}

int qx_users_put(const char *path, const char *name, const qx_scram_verifier *v, int *replaced) {
  if (!qx_user_name_ok(name))
    return qx_fail(QX_ERR_INVALID_ARG,
                   "%s is not a user name for the users file: 1 to %d bytes, no spaces or "
                   "control characters, not starting with #",
                   name, QX_USER_NAME_MAX);
  qx_buffer old = {0}, out = {0};
  qx_users users;
  int rc = read_whole(path, 1, &old);
  if (rc == QX_OK) rc = qx_users_parse(path, old.len ? (const char *)old.p : "", old.len, &users);
  if (rc == QX_OK) {
    qx_users_free(&users);
    rewrite(&old, name, v, &out, replaced);
    rc = out.failed ? qx_fail(QX_ERR_NOMEM, "users file %s: out of memory", path)
                    : replace_file(path, &out);
  }
  qx_buffer_free(&old);
  qx_buffer_free(&out);
  return rc;
}
