/* qaxdbd: the qaxdb server. Owns a data folder (./qaxdb-data by default, created if needed)
 * and answers SQL over it on the PostgreSQL wire protocol (127.0.0.1:5433 by default) until
 * SIGINT or SIGTERM, which close it cleanly. With --add-user, edits the users file instead. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "add_user.h"
#include "qaxdb/db.h"
#include "qaxdb/server.h"
#include "simulate.h"

#define DEFAULT_DATA "./qaxdb-data"

static int usage(FILE *out, int rc) {
  fprintf(out,
          "usage: qaxdbd [--data DIR] [--pg-port N] [--http-port N] [--listen ADDRESS]\n"
          "              [--users FILE] [--tls-cert FILE --tls-key FILE]\n"
          "              [--statement-timeout MS] [--query-memory MIB]\n"
          "              [--simulate] [--simulate-rate EVENTS_PER_S]\n"
          "       qaxdbd --add-user NAME --users FILE   (the password on standard input)\n\n"
          "Serves the data folder DIR (default %s, created if needed) to PostgreSQL clients:\n"
          "  psql -h 127.0.0.1 -p %d -c 'SELECT count(*) FROM trades'\n"
          "and its metrics and health over HTTP (port %d): /metrics, /health.\n"
          "Port 0 picks a free port; the ports are printed on the first two lines of output.\n"
          "A statement is cancelled after --statement-timeout MS (default 300000; 0: never)\n"
          "and may use --query-memory MIB (default: DuckDB's 80%% of the memory).\n"
          "--simulate feeds the folder with the seeded venue of qaxdb simulate, %d events/s\n"
          "(--simulate-rate), while it serves.\n"
          "Without --users, connections from loopback are trusted for any user name; with it,\n"
          "every client logs in with SCRAM-SHA-256 as a user of FILE (--add-user adds one or\n"
          "changes the password), and --listen may name any address. --tls-cert and --tls-key\n"
          "(PEM) offer TLS. Stops cleanly on Ctrl-C or SIGTERM. See docs/server.md.\n",
          DEFAULT_DATA, QX_SERVER_DEFAULT_PG_PORT, QX_SERVER_DEFAULT_HTTP_PORT, VENUE_DEFAULT_RATE);
  return rc;
}

typedef struct args {
  const char *data;
  const char *add_user; /* --add-user NAME: edit the users file, do not serve */
  qx_server_options server;
  int simulate;
  uint32_t simulate_rate; /* events/s */
} args;

/* Parses a decimal number in [0, max]. */
static int parse_number(const char *text, unsigned long long max, unsigned long long *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(text, &end, 10);
  if (!*text || *text == '-' || *end || errno || v > max) return 0;
  *out = v;
  return 1;
}

/* 0 to go on, else the exit code. */
static int parse_args(int argc, char **argv, args *a) {
  a->data = DEFAULT_DATA;
  a->simulate_rate = VENUE_DEFAULT_RATE;
  qx_server_options_init(&a->server);
  for (int i = 1; i < argc; i++) {
    const char *flag = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(flag, "--help") == 0 || strcmp(flag, "-h") == 0) return usage(stdout, 0) - 1;
    if (strcmp(flag, "--simulate") == 0) {
      a->simulate = 1;
      continue;
    }
    if (!value) {
      fprintf(stderr, "qaxdbd: unexpected argument %s (see qaxdbd --help)\n", flag);
      return 2;
    }
    i++;
    unsigned long long n = 0;
    int ok = 1;
    if (strcmp(flag, "--data") == 0) {
      a->data = value;
    } else if (strcmp(flag, "--listen") == 0) {
      a->server.listen_address = value;
    } else if (strcmp(flag, "--users") == 0) {
      a->server.users_file = value;
    } else if (strcmp(flag, "--add-user") == 0) {
      a->add_user = value;
    } else if (strcmp(flag, "--tls-cert") == 0) {
      a->server.tls_cert_file = value;
    } else if (strcmp(flag, "--tls-key") == 0) {
      a->server.tls_key_file = value;
    } else if (strcmp(flag, "--pg-port") == 0) {
      ok = parse_number(value, 65535, &n);
      a->server.pg_port = (int)n;
    } else if (strcmp(flag, "--http-port") == 0) {
      ok = parse_number(value, 65535, &n);
      a->server.http_port = (int)n;
    } else if (strcmp(flag, "--statement-timeout") == 0) {
      ok = parse_number(value, UINT32_MAX, &n);
      a->server.statement_timeout_ms = (uint32_t)n;
    } else if (strcmp(flag, "--simulate-rate") == 0) {
      ok = parse_number(value, 1000000, &n) && n > 0;
      a->simulate_rate = (uint32_t)n;
      a->simulate = 1;
    } else if (strcmp(flag, "--query-memory") == 0) {
      ok = parse_number(value, 1ull << 40, &n);
      a->server.query_memory_limit = n << 20;
    } else {
      ok = 0;
    }
    if (!ok) {
      fprintf(stderr, "qaxdbd: bad argument %s %s (see qaxdbd --help)\n", flag, value);
      return 2;
    }
  }
  if (a->add_user && !a->server.users_file) {
    fprintf(stderr, "qaxdbd: --add-user needs --users FILE, the file to add the user to\n");
    return 2;
  }
  if (!a->server.tls_cert_file != !a->server.tls_key_file) {
    fprintf(stderr, "qaxdbd: TLS needs both --tls-cert and --tls-key\n");
    return 2;
  }
  return 0;
}

/* Waits for SIGINT or SIGTERM, blocked in every thread (they are started after this blocks
 * them), so that the main thread takes them in order. */
static int wait_for_stop(const sigset_t *stops) {
  int sig = 0;
  sigwait(stops, &sig);
  return sig;
}

/* Says where to connect: the first two lines, which scripts read the ports from. */
static void announce(const args *a, const qx_server *srv) {
  const char *host = a->server.listen_address;
  int port = qx_server_pg_port(srv);
  const char *users = a->server.users_file;
  printf("qaxdbd: serving %s on %s:%d (PostgreSQL wire protocol%s%s%s): psql -h %s -p %d\n",
         a->data, host, port, users ? "; users of " : "; loopback trusted", users ? users : "",
         a->server.tls_cert_file ? "; TLS offered" : "", host, port);
  printf("qaxdbd: metrics at http://%s:%d/metrics, health at /health\n", host,
         qx_server_http_port(srv));
}

int main(int argc, char **argv) {
  args a = {0};
  int rc = parse_args(argc, argv, &a);
  if (rc != 0) return rc < 0 ? 0 : rc;
  if (a.add_user) return add_user(a.server.users_file, a.add_user);
  sigset_t stops;
  sigemptyset(&stops);
  sigaddset(&stops, SIGINT);
  sigaddset(&stops, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stops, NULL);
  qx_db *db = NULL;
  rc = qx_db_open(a.data, NULL, &db, NULL);
  if (rc != QX_OK) {
    fprintf(stderr, "qaxdbd: cannot open %s: %s: %s\n", a.data, qx_strerror(rc), qx_last_error());
    return 1;
  }
  qx_server *srv = NULL;
  rc = qx_server_start(db, &a.server, &srv);
  if (rc != QX_OK) {
    fprintf(stderr, "qaxdbd: cannot start: %s: %s\n", qx_strerror(rc), qx_last_error());
    qx_db_close(db);
    return 1;
  }
  announce(&a, srv);
  venue_feed *feed = NULL;
  if (a.simulate && (rc = venue_feed_start(db, a.simulate_rate, &feed)) != QX_OK)
    fprintf(stderr, "qaxdbd: the simulator did not start: %s: %s\n", qx_strerror(rc),
            qx_last_error());
  if (feed) printf("qaxdbd: simulating the venue, %u events/s\n", a.simulate_rate);
  fflush(stdout);
  int sig = wait_for_stop(&stops);
  fprintf(stderr, "qaxdbd: %s: stopping\n", strsignal(sig));
  if (feed)
    fprintf(stderr, "qaxdbd: the simulator wrote %llu events\n",
            (unsigned long long)venue_feed_stop(feed));
  qx_server_stop(srv);
  rc = qx_db_close(db);
  if (rc != QX_OK) {
    fprintf(stderr, "qaxdbd: close: %s: %s\n", qx_strerror(rc), qx_last_error());
    return 1;
  }
  fprintf(stderr, "qaxdbd: stopped cleanly\n");
  return 0;
}
