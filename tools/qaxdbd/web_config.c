/* qaxdbd's web settings that need more than a flag's text: where the console's files are when
 * no --console is given (installed next to the binary: BIN/../share/qaxdb/console), and the web
 * token, read from its file or the environment (never a flag: flags show in ps). */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static void find_console(qaxdbd_config *c) {
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return;
  exe[n] = '\0';
  char index[PATH_MAX + 32];
  snprintf(c->console_dir, sizeof c->console_dir, "%s/../share/qaxdb/console", dirname(exe));
  snprintf(index, sizeof index, "%s/index.html", c->console_dir);
  if (access(index, R_OK) == 0) c->server.console_dir = c->console_dir;
}

static int read_token(qaxdbd_config *c) {
  const char *from_env = getenv("QAXDB_WEB_TOKEN");
  if (!c->web_token_file) {
    if (from_env && *from_env) snprintf(c->web_token, sizeof c->web_token, "%s", from_env);
    return 0;
  }
  FILE *f = fopen(c->web_token_file, "r");
  if (!f || !fgets(c->web_token, sizeof c->web_token, f)) {
    fprintf(stderr, "qaxdbd: web token file %s: %s\n", c->web_token_file,
            f ? "empty" : strerror(errno));
    if (f) fclose(f);
    return 2;
  }
  fclose(f);
  c->web_token[strcspn(c->web_token, "\r\n")] = '\0';
  if (!c->web_token[0]) {
    fprintf(stderr, "qaxdbd: web token file %s: the first line is empty\n", c->web_token_file);
    return 2;
  }
  return 0;
}

int qaxdbd_web_settings(qaxdbd_config *c) {
  if (!c->console_flag)
    find_console(c);
  else if (c->console_flag[0])
    c->server.console_dir = c->console_flag;
  int rc = read_token(c);
  c->server.web_token = c->web_token[0] ? c->web_token : NULL;
  return rc;
}
