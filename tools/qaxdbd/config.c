/* qaxdbd's settings from its defaults, a config file and the command line (config.h). */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simulate.h"
#include "snapshots.h"

int qaxdbd_usage(int to_stderr) {
  fprintf(
      to_stderr ? stderr : stdout,
      "usage: qaxdbd [--config FILE] [--data DIR] [--pg-port N] [--http-port N]\n"
      "              [--listen ADDRESS] [--statement-timeout MS] [--query-memory MIB]\n"
      "              [--max-connections N] [--sql-engines N]\n"
      "              [--log-level debug|info|warn|error]\n"
      "              [--users FILE] [--tls-cert FILE --tls-key FILE]\n"
      "              [--simulate] [--simulate-rate EVENTS_PER_S]\n"
      "              [--snapshot-interval SECONDS] [--snapshot-dir DIR] [--snapshot-keep N]\n"
      "              [--node NAME] [--primary HOST:PORT] [--advertise HOST:PORT]\n"
      "              [--durability none|group|replicated] [--replicas-required K]\n"
      "              [--replication-timeout MS] [--repl-user NAME] [--auto-rebuild true|false]\n"
      "              [--etcd URLS] [--cluster NAME] [--ttl SECONDS]\n"
      "              [--console DIR] [--web-token-file FILE] [--web-queue-limit N]\n"
      "       qaxdbd --add-user NAME --users FILE   (the password on standard input)\n\n"
      "Serves the data folder DIR (default %s, created if needed) to PostgreSQL clients:\n"
      "  psql -h 127.0.0.1 -p %d -c 'SELECT count(*) FROM trades'\n"
      "and its metrics and health over HTTP (port %d): /metrics, /health, the web\n"
      "console at / (from --console DIR, default share/qaxdb/console beside the binary's\n"
      "folder) and WebSocket subscriptions and SQL at /ws (docs/formats/websocket.md),\n"
      "which keep the newest --web-queue-limit N records (default %d) for all clients.\n"
      "WebSockets present the token in --web-token-file FILE or $QAXDB_WEB_TOKEN, if set\n"
      "(needed with --users).\n"
      "Port 0 picks a free port; the ports are printed on the first two lines of output.\n"
      "A statement is cancelled after --statement-timeout MS (default 300000; 0: never)\n"
      "and may use --query-memory MIB (default: DuckDB's 80%% of the memory) on one of\n"
      "--sql-engines N (default %d) that run statements at once.\n"
      "--simulate feeds the folder with the seeded venue of qaxdb simulate, %d events/s\n"
      "(--simulate-rate), while it serves.\n"
      "Every --snapshot-interval SECONDS (default %d; 0: never) it writes a snapshot of the\n"
      "folder into --snapshot-dir (default DIR/snapshots) and keeps the newest\n"
      "--snapshot-keep (default %d); `SNAPSHOT TO '/path'` takes one on demand.\n"
      "--config FILE reads settings from an INI file first: `pg_port = 6543` is\n"
      "--pg-port 6543; flags given here override it. SIGHUP reads it again: the log level,\n"
      "statement timeout, connection limit and users file change at once, the rest at the\n"
      "next start.\n"
      "Without --users, connections from loopback are trusted for any user name; with it,\n"
      "every client logs in with SCRAM-SHA-256 as a user of FILE (--add-user adds one or\n"
      "changes the password), and --listen may name any address. --tls-cert and --tls-key\n"
      "(PEM) offer TLS. Logs go to stderr as logfmt lines. Stops cleanly on Ctrl-C or\n"
      "SIGTERM. See docs/server.md.\n"
      "Replication (docs/replication.md): every qaxdbd can serve replicas. --primary\n"
      "HOST:PORT starts this one as a replica of that primary (copying it first into an\n"
      "empty DIR); --etcd URLS lets the nodes of --cluster elect the primary themselves\n"
      "under a lease of --ttl SECONDS (default %d), each reachable at --advertise (default\n"
      "LISTEN:PG_PORT) under its --node name (default node-PG_PORT). --durability\n"
      "replicated acknowledges a write once --replicas-required K (default 1) replicas\n"
      "flushed it, waiting --replication-timeout MS (default %d). Replicas log in to the\n"
      "primary as --repl-user (default qaxdb) with the password in $QAXDB_REPL_PASSWORD.\n"
      "A replica whose log diverged from the primary's is copied from it again, its folder\n"
      "kept as DIR.diverged-EPOCH-SECONDS (--auto-rebuild false: it waits instead).\n",
      QAXDBD_DEFAULT_DATA, QX_SERVER_DEFAULT_PG_PORT, QX_SERVER_DEFAULT_HTTP_PORT,
      QX_SERVER_DEFAULT_WEB_QUEUE, QX_SERVER_DEFAULT_SQL_ENGINES, VENUE_DEFAULT_RATE,
      SNAPSHOT_DEFAULT_INTERVAL, SNAPSHOT_DEFAULT_KEEP, QX_REPL_DEFAULT_TTL_S,
      QX_REPL_DEFAULT_TIMEOUT_MS);
  return to_stderr ? 2 : 0;
}

/* Parses a decimal number in [0, max]. */
static int parse_number(const char *text, unsigned long long max, unsigned long long *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(text, &end, 10);
  if (!*text || *text == '-' || *end || errno || v > max) return 0;
  *out = v;
  return 1;
}

static int parse_bool(const char *value, int *out) {
  *out = strcmp(value, "true") == 0;
  return *out || strcmp(value, "false") == 0;
}

/* The replication settings (see apply). */
static int apply_replication(qaxdbd_config *c, const char *name, const char *value) {
  unsigned long long n = 0;
  int ok = 1;
  if (strcmp(name, "node") == 0) {
    c->repl.node_name = value;
  } else if (strcmp(name, "primary") == 0) {
    c->repl.primary = value;
  } else if (strcmp(name, "advertise") == 0) {
    c->repl.advertise = value;
  } else if (strcmp(name, "durability") == 0) {
    ok = qx_durability_parse(value, &c->server.durability) == QX_OK;
  } else if (strcmp(name, "replicas-required") == 0) {
    ok = parse_number(value, QX_REPL_MAX_REPLICAS, &n);
    c->repl.replicas_required = (int)n;
  } else if (strcmp(name, "replication-timeout") == 0) {
    ok = parse_number(value, UINT32_MAX, &n) && n > 0;
    c->repl.replication_timeout_ms = (uint32_t)n;
  } else if (strcmp(name, "repl-user") == 0) {
    c->repl.user = value;
  } else if (strcmp(name, "auto-rebuild") == 0) {
    ok = parse_bool(value, &c->auto_rebuild);
  } else if (strcmp(name, "etcd") == 0) {
    c->repl.etcd = value;
  } else if (strcmp(name, "cluster") == 0) {
    c->repl.cluster = value;
  } else if (strcmp(name, "ttl") == 0) {
    ok = parse_number(value, 3600, &n) && n > 0;
    c->repl.ttl_s = (int)n;
  } else {
    ok = 0;
  }
  return ok;
}

/* Applies setting name (a flag without its dashes) to value; 0 if either is not one. */
static int apply(qaxdbd_config *c, const char *name, const char *value) {
  unsigned long long n = 0;
  int ok = 1;
  if (strcmp(name, "data") == 0) {
    c->data = value;
  } else if (strcmp(name, "listen") == 0) {
    c->server.listen_address = value;
  } else if (strcmp(name, "pg-port") == 0) {
    ok = parse_number(value, 65535, &n);
    c->server.pg_port = (int)n;
  } else if (strcmp(name, "http-port") == 0) {
    ok = parse_number(value, 65535, &n);
    c->server.http_port = (int)n;
  } else if (strcmp(name, "statement-timeout") == 0) {
    ok = parse_number(value, UINT32_MAX, &n);
    c->server.statement_timeout_ms = (uint32_t)n;
  } else if (strcmp(name, "max-connections") == 0) {
    ok = parse_number(value, 100000, &n) && n > 0;
    c->server.max_connections = (int)n;
  } else if (strcmp(name, "query-memory") == 0) {
    ok = parse_number(value, 1ull << 40, &n);
    c->server.query_memory_limit = n << 20;
  } else if (strcmp(name, "simulate") == 0) {
    ok = strcmp(value, "true") == 0 || strcmp(value, "false") == 0;
    c->simulate = strcmp(value, "true") == 0;
  } else if (strcmp(name, "simulate-rate") == 0) {
    ok = parse_number(value, 1000000, &n) && n > 0;
    c->simulate_rate = (uint32_t)n;
    c->simulate = 1;
  } else if (strcmp(name, "snapshot-interval") == 0) {
    ok = parse_number(value, UINT32_MAX, &n);
    c->snapshot_interval = (uint32_t)n;
  } else if (strcmp(name, "snapshot-keep") == 0) {
    ok = parse_number(value, 1000, &n) && n > 0;
    c->snapshot_keep = (uint32_t)n;
  } else if (strcmp(name, "snapshot-dir") == 0) {
    c->snapshot_dir = value;
  } else if (strcmp(name, "sql-engines") == 0) {
    ok = parse_number(value, 64, &n) && n > 0;
    c->server.sql_engines = (int)n;
  } else if (strcmp(name, "users") == 0) {
    c->server.users_file = value;
  } else if (strcmp(name, "tls-cert") == 0) {
    c->server.tls_cert_file = value;
  } else if (strcmp(name, "tls-key") == 0) {
    c->server.tls_key_file = value;
  } else if (strcmp(name, "console") == 0) {
    c->console_flag = value;
  } else if (strcmp(name, "web-token-file") == 0) {
    c->web_token_file = value;
  } else if (strcmp(name, "web-queue-limit") == 0) {
    ok = parse_number(value, 1u << 24, &n) && n >= 16;
    c->server.web_queue_limit = (uint32_t)n;
  } else if (strcmp(name, "log-level") == 0) {
    ok = qx_log_level_by_name(value, &c->log_level);
  } else {
    ok = apply_replication(c, name, value);
  }
  return ok;
}

typedef struct file_reading {
  qaxdbd_config *c;
  char why[256];
} file_reading;

/* libinih's handler: one `name = value`; 0 stops the reading at this line. */
static int take_line(void *user, const char *section, const char *name, const char *value) {
  file_reading *r = user;
  qaxdbd_config *c = r->c;
  char key[64];
  snprintf(key, sizeof key, "%s", name);
  for (char *p = key; *p; p++)
    if (*p == '_') *p = '-';
  if (*section && strcmp(section, "qaxdbd") != 0) {
    snprintf(r->why, sizeof r->why, "unknown section [%s] (settings go in [qaxdbd] or before any)",
             section);
    return 0;
  }
  if (strcmp(key, "config") == 0 || c->string_count == CONFIG_STRINGS_MAX ||
      !(c->strings[c->string_count] = strdup(value))) {
    snprintf(r->why, sizeof r->why, "%s cannot be set here", name);
    return 0;
  }
  if (!apply(c, key, c->strings[c->string_count++])) {
    snprintf(r->why, sizeof r->why, "bad setting %s = %s (see qaxdbd --help)", name, value);
    return 0;
  }
  return 1;
}

static int read_file(qaxdbd_config *c, const char *path) {
  file_reading r = {c, "cannot be read"};
  int line = ini_parse(path, take_line, &r);
  if (line == 0) return 0;
  if (line < 0)
    fprintf(stderr, "qaxdbd: config file %s: %s\n", path,
            line == -1 ? strerror(errno) : "out of memory");
  else
    fprintf(stderr, "qaxdbd: config file %s:%d: %s\n", path, line, r.why);
  return 2;
}

/* Where in argv the config file's name is (0: none): it is read before the flags, which
 * override it. */
static int config_file_at(int argc, char **argv) {
  int at = 0;
  for (int i = 1; i + 1 < argc; i++)
    if (strcmp(argv[i], "--config") == 0) at = ++i;
  return at;
}

static void set_defaults(qaxdbd_config *c) {
  memset(c, 0, sizeof *c);
  c->data = QAXDBD_DEFAULT_DATA;
  c->simulate_rate = VENUE_DEFAULT_RATE;
  c->log_level = QX_LOG_INFO;
  c->snapshot_interval = SNAPSHOT_DEFAULT_INTERVAL;
  c->snapshot_keep = SNAPSHOT_DEFAULT_KEEP;
  qx_server_options_init(&c->server);
  qx_repl_options_init(&c->repl);
  c->auto_rebuild = 1;
}

/* The node's name and address from the ports when not given. */
static void fill_replication(qaxdbd_config *c) {
  if (!c->repl.node_name) {
    snprintf(c->node_name, sizeof c->node_name, "node-%d", c->server.pg_port);
    c->repl.node_name = c->node_name;
  }
  if (!c->repl.advertise) {
    snprintf(c->advertise, sizeof c->advertise, "%s:%d", c->server.listen_address,
             c->server.pg_port);
    c->repl.advertise = c->advertise;
  }
  c->repl.password = getenv("QAXDB_REPL_PASSWORD");
}

/* Settings that only make sense together. */
static int check(const qaxdbd_config *c) {
  if (c->add_user && !c->server.users_file) {
    fprintf(stderr, "qaxdbd: --add-user needs --users FILE, the file to add the user to\n");
    return 2;
  }
  if (!c->server.tls_cert_file != !c->server.tls_key_file) {
    fprintf(stderr, "qaxdbd: TLS needs both --tls-cert and --tls-key\n");
    return 2;
  }
  if (c->repl.etcd && c->server.pg_port == 0 && c->repl.advertise == c->advertise) {
    fprintf(stderr, "qaxdbd: --etcd needs --advertise HOST:PORT or a fixed --pg-port, for "
                    "the other nodes to reach this one\n");
    return 2;
  }
  if (c->repl.etcd && c->repl.primary) {
    fprintf(stderr, "qaxdbd: --etcd elects the primary: --primary is for clusters without it\n");
    return 2;
  }
  return 0;
}

int qaxdbd_config_read(int argc, char **argv, qaxdbd_config *c) {
  set_defaults(c);
  int at = config_file_at(argc, argv);
  c->config_file = at ? argv[at] : NULL;
  if (at && read_file(c, argv[at]) != 0) return 2;
  for (int i = 1; i < argc; i++) {
    const char *flag = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(flag, "--help") == 0 || strcmp(flag, "-h") == 0) return qaxdbd_usage(0) - 1;
    if (strcmp(flag, "--simulate") == 0) {
      c->simulate = 1;
      continue;
    }
    if (strncmp(flag, "--", 2) != 0 || !value) {
      fprintf(stderr, "qaxdbd: unexpected argument %s (see qaxdbd --help)\n", flag);
      return 2;
    }
    i++;
    if (strcmp(flag, "--add-user") == 0) {
      c->add_user = value;
    } else if (strcmp(flag, "--config") != 0 && !apply(c, flag + 2, value)) {
      fprintf(stderr, "qaxdbd: bad argument %s %s (see qaxdbd --help)\n", flag, value);
      return 2;
    }
  }
  fill_replication(c);
  return qaxdbd_web_settings(c) ? 2 : check(c);
}

void qaxdbd_config_free(qaxdbd_config *c) {
  for (int i = 0; i < c->string_count; i++)
    free(c->strings[i]);
  c->string_count = 0;
}
