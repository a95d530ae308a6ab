/* qaxdbd's settings: the embedded defaults, then a config file (--config FILE, INI through
 * libinih), then the command line, each overriding the one before. A config file's
 * `name = value` is the flag --name VALUE (`_` and `-` alike), so every flag can be set in
 * either place (docs/server.md). */
#ifndef QX_QAXDBD_CONFIG_H
#define QX_QAXDBD_CONFIG_H

#include <limits.h>
#include <stdint.h>

#include "qaxdb/log.h"
#include "qaxdb/repl.h"
#include "qaxdb/server.h"

#define QAXDBD_DEFAULT_DATA "./qaxdb-data"
#define CONFIG_STRINGS_MAX 32 /* settings a config file may give as text */

typedef struct qaxdbd_config {
  const char *data;
  qx_server_options server;
  qx_repl_options repl; /* node_name and advertise filled from the ports if not given */
  char node_name[64], advertise[160];
  int auto_rebuild; /* a replica that diverged is rebuilt from the primary (1, default) */
  int simulate;
  uint32_t simulate_rate; /* events/s */
  qx_log_level log_level;
  uint32_t snapshot_interval, snapshot_keep; /* seconds (0: none), snapshots kept */
  const char *snapshot_dir;                  /* NULL: <data>/snapshots */
  const char *config_file;                   /* NULL: none */
  const char *add_user;       /* --add-user NAME: edit the users file, do not serve */
  const char *console_flag;   /* --console DIR ("" none; NULL: next to the binary) */
  const char *web_token_file; /* --web-token-file FILE (else $QAXDB_WEB_TOKEN) */
  char console_dir[PATH_MAX], web_token[256];
  char *strings[CONFIG_STRINGS_MAX]; /* the config file's text values, owned */
  int string_count;
} qaxdbd_config;

/* Reads the settings: the defaults, the config file argv names, then argv. Returns 0 to go on;
 * otherwise prints why (the file and line for a config file) and returns the exit code (-1:
 * --help was printed, exit 0). */
int qaxdbd_config_read(int argc, char **argv, qaxdbd_config *c);
void qaxdbd_config_free(qaxdbd_config *c);

int qaxdbd_usage(int to_stderr);

/* web_config.c: the console's folder (the flag's, or share/qaxdb/console next to the binary's
 * folder, if there is one) and the web token (from its file or the environment) into
 * c->server. 0, or 2 with the reason printed. */
int qaxdbd_web_settings(qaxdbd_config *c);

#endif
