/* qaxdbd: the qaxdb server. Owns a data folder (./qaxdb-data by default, created if needed)
 * and answers SQL over it on the PostgreSQL wire protocol (127.0.0.1:5433 by default) until
 * SIGINT or SIGTERM, which close it cleanly. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qaxdb/db.h"
#include "qaxdb/server.h"
#include "simulate.h"
#include "snapshots.h"

#define DEFAULT_DATA "./qaxdb-data"

static int usage(FILE *out, int rc) {
  fprintf(out,
          "usage: qaxdbd [--data DIR] [--pg-port N] [--http-port N] [--listen ADDRESS]\n"
          "              [--statement-timeout MS] [--query-memory MIB]\n"
          "              [--simulate] [--simulate-rate EVENTS_PER_S]\n"
          "              [--snapshot-interval SECONDS] [--snapshot-dir DIR] [--snapshot-keep N]\n\n"
          "Serves the data folder DIR (default %s, created if needed) to PostgreSQL clients:\n"
          "  psql -h 127.0.0.1 -p %d -c 'SELECT count(*) FROM trades'\n"
          "and its metrics and health over HTTP (port %d): /metrics, /health.\n"
          "Port 0 picks a free port; the ports are printed on the first two lines of output.\n"
          "A statement is cancelled after --statement-timeout MS (default 300000; 0: never)\n"
          "and may use --query-memory MIB (default: DuckDB's 80%% of the memory).\n"
          "--simulate feeds the folder with the seeded venue of qaxdb simulate, %d events/s\n"
          "(--simulate-rate), while it serves.\n"
          "Every --snapshot-interval SECONDS (default %d; 0: never) it writes a snapshot of the\n"
          "folder into --snapshot-dir (default DIR/snapshots) and keeps the newest\n"
          "--snapshot-keep (default %d); `SNAPSHOT TO '/path'` takes one on demand.\n"
          "Connections from loopback are trusted for any user name. Stops cleanly on Ctrl-C\n"
          "or SIGTERM. See docs/server.md.\n",
          DEFAULT_DATA, QX_SERVER_DEFAULT_PG_PORT, QX_SERVER_DEFAULT_HTTP_PORT, VENUE_DEFAULT_RATE,
          SNAPSHOT_DEFAULT_INTERVAL, SNAPSHOT_DEFAULT_KEEP);
  return rc;
}

typedef struct args {
  const char *data;
  qx_server_options server;
  int simulate;
  uint32_t simulate_rate;                    /* events/s */
  uint32_t snapshot_interval, snapshot_keep; /* seconds (0: none), snapshots kept */
  const char *snapshot_dir;                  /* NULL: <data>/snapshots */
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
  a->snapshot_interval = SNAPSHOT_DEFAULT_INTERVAL;
  a->snapshot_keep = SNAPSHOT_DEFAULT_KEEP;
  a->snapshot_dir = NULL;
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
    } else if (strcmp(flag, "--snapshot-interval") == 0) {
      ok = parse_number(value, UINT32_MAX, &n);
      a->snapshot_interval = (uint32_t)n;
    } else if (strcmp(flag, "--snapshot-keep") == 0) {
      ok = parse_number(value, 1000, &n) && n > 0;
      a->snapshot_keep = (uint32_t)n;
    } else if (strcmp(flag, "--snapshot-dir") == 0) {
      a->snapshot_dir = value;
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
  printf("qaxdbd: serving %s on %s:%d (PostgreSQL wire protocol): psql -h %s -p %d\n", a->data,
         host, port, host, port);
  printf("qaxdbd: metrics at http://%s:%d/metrics, health at /health\n", host,
         qx_server_http_port(srv));
}

/* The periodic snapshots, unless --snapshot-interval 0; a failure to start is logged and the
 * server goes on without them. */
static snapshot_timer *start_snapshots(const args *a, qx_db *db) {
  if (a->snapshot_interval == 0) return NULL;
  char dir[PATH_MAX];
  if (a->snapshot_dir)
    snprintf(dir, sizeof dir, "%s", a->snapshot_dir);
  else
    snprintf(dir, sizeof dir, "%s/snapshots", a->data);
  snapshot_timer *t = NULL;
  int rc = snapshot_timer_start(db, dir, a->snapshot_interval, a->snapshot_keep, &t);
  if (rc != QX_OK)
    fprintf(stderr, "qaxdbd: periodic snapshots did not start: %s: %s\n", qx_strerror(rc),
            qx_last_error());
  else
    fprintf(stderr, "qaxdbd: a snapshot every %u s into %s (keeping %u)\n", a->snapshot_interval,
            dir, a->snapshot_keep);
  return t;
}

int main(int argc, char **argv) {
  args a;
  int rc = parse_args(argc, argv, &a);
  if (rc != 0) return rc < 0 ? 0 : rc;
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
  snapshot_timer *snapshots = start_snapshots(&a, db);
  int sig = wait_for_stop(&stops);
  fprintf(stderr, "qaxdbd: %s: stopping\n", strsignal(sig));
  snapshot_timer_stop(snapshots);
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
