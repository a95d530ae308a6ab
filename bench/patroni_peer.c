/* PostgreSQL 15 + Patroni 3 (etcd3 DCS) as the peer of qaxdb-bench-repl: starts 3 nodes on
 * loopback from generated nodeN.yml files, drives Patroni over its REST API (libcurl) and
 * PostgreSQL over libpq, and measures commit latency, replica lag and kill -9 failover. */
#include "patroni_peer.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_report.h"

#define NODES 3
#define PG_BIN "/usr/lib/postgresql/15/bin"
#define PATRONI_EXE "/usr/bin/patroni"
#define SUPER_PW "superpass"
#define MAX_VICTIMS 256

typedef struct node {
  int pg_port, rest_port;
  pid_t pid; /* patroni, our child */
  char yml[PATH_MAX], data[PATH_MAX], log[PATH_MAX];
} node;

struct patroni_cluster {
  char root[PATH_MAX / 2]; /* room for the file names under it */
  char etcd[256];
  char scope[64];
  int ttl, loop_wait, retry_timeout;
  int drop; /* running as root: everything runs as uid/gid */
  uid_t uid;
  gid_t gid;
  node n[NODES];
};

/* ---- small helpers ---- */

static void fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "patroni_peer: ");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* Every cluster that is running, so that an exit or a signal in the middle of a measurement
 * still stops Patroni and PostgreSQL (they run in their own sessions and would outlive us). */
static patroni_cluster *live[8];
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;

static void stop_nodes(patroni_cluster *c);

static void stop_all_live(void) {
  pthread_mutex_lock(&live_lock);
  for (size_t i = 0; i < sizeof live / sizeof live[0]; i++)
    if (live[i]) {
      stop_nodes(live[i]);
      live[i] = NULL;
    }
  pthread_mutex_unlock(&live_lock);
}

/* Best effort: not async-signal-safe, but a bench interrupted by ^C must not leave 3 postgres
 * instances behind; exit() then runs the atexit hook as well. */
static void on_signal(int sig) {
  (void)sig;
  stop_all_live();
  _exit(130);
}

static void track(patroni_cluster *c, int add) {
  static int hooked;
  pthread_mutex_lock(&live_lock);
  if (!hooked) {
    hooked = 1;
    atexit(stop_all_live);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
  }
  for (size_t i = 0; i < sizeof live / sizeof live[0]; i++)
    if (add ? !live[i] : live[i] == c) {
      live[i] = add ? c : NULL;
      break;
    }
  pthread_mutex_unlock(&live_lock);
}

/* ---- HTTP (Patroni REST, etcd gateway) ---- */

typedef struct body {
  char buf[65536];
  size_t len;
} body;

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  body *b = ud;
  size_t k = size * n;
  size_t room = sizeof b->buf - 1 - b->len;
  size_t take = k < room ? k : room;
  memcpy(b->buf + b->len, p, take);
  b->len += take;
  b->buf[b->len] = 0;
  return k;
}

/* One request; the HTTP status (0 when unreachable). method NULL = GET, or POST when data. */
static long http(const char *method, const char *url, const char *data, body *out,
                 long timeout_ms) {
  static body scratch;
  body *b = out ? out : &scratch;
  b->len = 0;
  b->buf[0] = 0;
  CURL *h = curl_easy_init();
  if (!h) return 0;
  struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
  if (method) curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
  if (data) curl_easy_setopt(h, CURLOPT_POSTFIELDS, data);
  long code = 0;
  if (curl_easy_perform(h) == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
  curl_slist_free_all(hdr);
  curl_easy_cleanup(h);
  return code;
}

static long rest(const patroni_cluster *c, int i, const char *method, const char *path,
                 const char *data, body *out) {
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d%s", c->n[i].rest_port, path);
  return http(method, url, data, out, 1000);
}

/* The node whose Patroni says it holds the leader lock, or -1. */
static int find_leader(const patroni_cluster *c) {
  for (int i = 0; i < NODES; i++)
    if (c->n[i].pid > 0 && rest(c, i, NULL, "/leader", NULL, NULL) == 200) return i;
  return -1;
}

/* The quoted string value of "key": in a JSON text (etcd returns int64 as strings). */
static int json_string(const char *json, const char *key, char *out, size_t cap) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\":\"", key);
  const char *p = strstr(json, pat);
  if (!p) return 0;
  p += strlen(pat);
  size_t k = 0;
  while (p[k] && p[k] != '"' && k + 1 < cap)
    k++;
  memcpy(out, p, k);
  out[k] = 0;
  return 1;
}

static void base64(const char *in, char *out) {
  static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t n = strlen(in), o = 0;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)(unsigned char)in[i] << 16;
    if (i + 1 < n) v |= (uint32_t)(unsigned char)in[i + 1] << 8;
    if (i + 2 < n) v |= (unsigned char)in[i + 2];
    out[o++] = t[v >> 18 & 63];
    out[o++] = t[v >> 12 & 63];
    out[o++] = i + 1 < n ? t[v >> 6 & 63] : '=';
    out[o++] = i + 2 < n ? t[v & 63] : '=';
  }
  out[o] = 0;
}

/* The TTL etcd granted the lease of the leader key, or -1 (no leader key / unreachable). */
static int leader_lease_ttl(const patroni_cluster *c) {
  char key[128], k64[200], url[300], req[400], lease[32], ttl[32];
  body b;
  snprintf(key, sizeof key, "/service/%s/leader", c->scope);
  base64(key, k64);
  snprintf(url, sizeof url, "%s/v3/kv/range", c->etcd);
  snprintf(req, sizeof req, "{\"key\":\"%s\"}", k64);
  if (http(NULL, url, req, &b, 2000) != 200 || !json_string(b.buf, "lease", lease, sizeof lease))
    return -1;
  snprintf(url, sizeof url, "%s/v3/lease/timetolive", c->etcd);
  snprintf(req, sizeof req, "{\"ID\":\"%s\"}", lease);
  if (http(NULL, url, req, &b, 2000) != 200 || !json_string(b.buf, "grantedTTL", ttl, sizeof ttl))
    return -1;
  return atoi(ttl);
}

/* ---- libpq ---- */

static PGconn *pg_connect(const patroni_cluster *c, int i) {
  char ci[200];
  snprintf(ci, sizeof ci,
           "host=127.0.0.1 port=%d user=postgres password=" SUPER_PW
           " dbname=postgres connect_timeout=1 options=-cclient_min_messages=warning",
           c->n[i].pg_port);
  PGconn *k = PQconnectdb(ci);
  if (PQstatus(k) != CONNECTION_OK) {
    PQfinish(k);
    return NULL;
  }
  return k;
}

static int pg_ok(PGconn *k, const char *sql, int quiet) {
  PGresult *r = PQexec(k, sql);
  ExecStatusType s = PQresultStatus(r);
  int ok = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
  if (!ok && !quiet) fail("%.80s: %s", sql, PQresultErrorMessage(r));
  PQclear(r);
  return ok;
}

/* The first column of the first row as an integer, or -1. */
static long long pg_int(PGconn *k, const char *sql) {
  PGresult *r = PQexec(k, sql);
  long long v = -1;
  if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
    v = atoll(PQgetvalue(r, 0, 0));
  PQclear(r);
  return v;
}

/* ---- processes ---- */

static pid_t spawn_patroni(const patroni_cluster *c, const node *nd) {
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid != 0) return pid;
  setsid(); /* our ^C must reach Patroni only through stop, which orders the shutdown */
  int fd = open(nd->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
  int in = open("/dev/null", O_RDONLY);
  if (fd < 0 || in < 0 || dup2(in, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) _exit(126);
  if (c->drop && (fchown(fd, c->uid, c->gid) != 0 || setgroups(0, NULL) != 0 ||
                  setgid(c->gid) != 0 || setuid(c->uid) != 0)) {
    fprintf(stderr, "cannot switch to uid %u: %s\n", (unsigned)c->uid, strerror(errno));
    _exit(126);
  }
  /* SIGTERM (Patroni then stops its PostgreSQL) when the bench dies even by SIGKILL, where no
   * atexit hook or signal handler runs. Set after setuid, which clears it; the signal follows
   * the forking thread, hence the main-thread rule in the header. */
  if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent) _exit(126);
  if (chdir(c->root) != 0) _exit(126);
  setenv("HOME", c->root, 1);
  char *argv[] = {PATRONI_EXE, (char *)nd->yml, NULL};
  execv(argv[0], argv);
  fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
  _exit(127);
}

static int is_postgres(pid_t pid) {
  char path[64], comm[64] = "";
  snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  if (!fgets(comm, sizeof comm, f)) comm[0] = 0;
  fclose(f);
  return strncmp(comm, "postgres", 8) == 0;
}

static pid_t postmaster_of(const node *nd) {
  char path[PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/postmaster.pid", nd->data);
  FILE *f = fopen(path, "r");
  long pid = 0;
  if (f) {
    if (fscanf(f, "%ld", &pid) != 1) pid = 0;
    fclose(f);
  }
  return pid > 0 && is_postgres((pid_t)pid) ? (pid_t)pid : 0;
}

/* Children of parent, from /proc: PostgreSQL's backends call setsid(), so neither the process
 * group of Patroni nor that of the postmaster reaches them. Collected before the kill, as they
 * are reparented once the postmaster is gone. */
static int children_of(pid_t parent, pid_t *out, int cap) {
  DIR *d = opendir("/proc");
  int n = 0;
  for (struct dirent *e; d && (e = readdir(d)) && n < cap;) {
    char *end;
    long pid = strtol(e->d_name, &end, 10);
    if (*end || pid <= 0) continue;
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    size_t k = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[k] = 0;
    const char *p = strrchr(buf, ')');
    long ppid = 0;
    char st;
    if (p && sscanf(p + 1, " %c %ld", &st, &ppid) == 2 && ppid == parent) out[n++] = (pid_t)pid;
  }
  if (d) closedir(d);
  return n;
}

/* SIGKILL of Patroni, the postmaster and every child of the postmaster; the kill time. */
static int64_t kill_node(node *nd) {
  pid_t v[MAX_VICTIMS];
  int n = 0;
  pid_t pm = postmaster_of(nd);
  if (nd->pid > 0) v[n++] = nd->pid;
  if (pm > 0) {
    v[n++] = pm;
    n += children_of(pm, v + n, MAX_VICTIMS - n);
  }
  int64_t t = now_ns();
  for (int i = 0; i < n; i++)
    kill(v[i], SIGKILL);
  if (nd->pid > 0) waitpid(nd->pid, NULL, 0);
  nd->pid = 0;
  return t;
}

/* SIGTERM to every Patroni (each stops its PostgreSQL), up to 30 s, then SIGKILL for the rest. */
static void stop_nodes(patroni_cluster *c) {
  for (int i = 0; i < NODES; i++)
    if (c->n[i].pid > 0) kill(c->n[i].pid, SIGTERM);
  for (int t = 0; t < 300; t++) {
    int left = 0;
    for (int i = 0; i < NODES; i++) {
      node *nd = &c->n[i];
      if (nd->pid > 0 && waitpid(nd->pid, NULL, WNOHANG) == nd->pid) nd->pid = 0;
      left += nd->pid > 0 || postmaster_of(nd) > 0;
    }
    if (!left) return;
    sleep_ms(100);
  }
  for (int i = 0; i < NODES; i++)
    kill_node(&c->n[i]);
}

/* ---- setup ---- */

static int make_dir(const patroni_cluster *c, const char *path, mode_t mode) {
  if (mkdir(path, mode) != 0 && errno != EEXIST) {
    fail("mkdir %s: %s", path, strerror(errno));
    return 0;
  }
  if (c->drop && chown(path, c->uid, c->gid) != 0) {
    fail("chown %s: %s", path, strerror(errno));
    return 0;
  }
  return 1;
}

/* pg_hba is replaced (postgresql.pg_hba) rather than appended to initdb's trust lines, so that
 * the passwords are checked as in a real deployment. Replicas and the rewind user connect over
 * TCP; Patroni itself uses the socket. watchdog off: there is no /dev/watchdog (Patroni 3.0.2
 * still logs "Watchdog not supported because leader TTL ..." each loop at short TTLs; harmless). */
static int write_yml(const patroni_cluster *c, int i) {
  const node *nd = &c->n[i];
  FILE *f = fopen(nd->yml, "w");
  if (!f) {
    fail("%s: %s", nd->yml, strerror(errno));
    return 0;
  }
  const char *host = strstr(c->etcd, "://") ? strstr(c->etcd, "://") + 3 : c->etcd;
  fprintf(f,
          "scope: %s\n"
          "namespace: /service/\n"
          "name: node%d\n"
          "restapi:\n"
          "  listen: 127.0.0.1:%d\n"
          "  connect_address: 127.0.0.1:%d\n"
          "etcd3:\n"
          "  hosts: %s\n"
          "watchdog:\n"
          "  mode: 'off'\n"
          "bootstrap:\n"
          "  dcs:\n"
          "    ttl: %d\n"
          "    loop_wait: %d\n"
          "    retry_timeout: %d\n"
          "    maximum_lag_on_failover: 1048576\n"
          "    synchronous_mode: false\n"
          "    postgresql:\n"
          "      use_pg_rewind: true\n"
          "      parameters:\n"
          "        wal_level: replica\n"
          "        hot_standby: 'on'\n"
          "        max_wal_senders: 10\n"
          "        max_replication_slots: 10\n"
          "        wal_log_hints: 'on'\n"
          "  initdb:\n"
          "    - encoding: UTF8\n"
          "    - data-checksums\n"
          "    - auth-host: md5\n"
          "    - auth-local: trust\n"
          "postgresql:\n"
          "  listen: 127.0.0.1:%d\n"
          "  connect_address: 127.0.0.1:%d\n"
          "  data_dir: %s\n"
          "  bin_dir: " PG_BIN "\n"
          "  pgpass: %s/pgpass%d\n"
          "  authentication:\n"
          "    replication:\n"
          "      username: replicator\n"
          "      password: replpass\n"
          "    superuser:\n"
          "      username: postgres\n"
          "      password: " SUPER_PW "\n"
          "    rewind:\n"
          "      username: rewind_user\n"
          "      password: rewindpass\n"
          "  pg_hba:\n"
          "    - local all all trust\n"
          "    - host replication replicator 127.0.0.1/32 md5\n"
          "    - host all all 127.0.0.1/32 md5\n"
          "  parameters:\n"
          "    unix_socket_directories: %s/sock%d\n"
          "    shared_buffers: 32MB\n"
          "tags:\n"
          "  nofailover: false\n"
          "  noloadbalance: false\n"
          "  clonefrom: false\n"
          "  nosync: false\n",
          c->scope, i + 1, nd->rest_port, nd->rest_port, host, c->ttl, c->loop_wait,
          c->retry_timeout, nd->pg_port, nd->pg_port, nd->data, c->root, i + 1, c->root, i + 1);
  int ok = fclose(f) == 0;
  if (ok && c->drop && chown(nd->yml, c->uid, c->gid) != 0) ok = 0;
  return ok;
}

static void print_tail(const char *log) {
  FILE *f = fopen(log, "r");
  if (!f) return;
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, size > 4000 ? size - 4000 : 0, SEEK_SET);
  char line[1024];
  fprintf(stderr, "--- end of %s ---\n", log);
  while (fgets(line, sizeof line, f))
    fputs(line, stderr);
  fclose(f);
}

/* Replicas streaming from the leader per pg_stat_replication, or -1 (no leader / no answer). */
static int streaming_replicas(const patroni_cluster *c, int leader) {
  PGconn *k = pg_connect(c, leader);
  if (!k) return -1;
  long long n = pg_int(k, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'");
  PQfinish(k);
  return (int)n;
}

/* Waits up to timeout_s for a leader with `want` streaming replicas; the leader or -1. */
static int wait_healthy(const patroni_cluster *c, int want, int timeout_s) {
  int64_t end = now_ns() + (int64_t)timeout_s * 1000000000;
  while (now_ns() < end) {
    int l = find_leader(c);
    if (l >= 0 && streaming_replicas(c, l) >= want) return l;
    sleep_ms(200);
  }
  return -1;
}

/* Patroni 3.0.2 (etcd3) takes integer seconds, and its update_leader gives up ("update_leader
 * timeout") when less than 1 s of retry_timeout is left after refreshing the lease: with
 * retry_timeout 1 the leader demotes itself at the first lease re-grant and the cluster stays
 * leaderless. etcd raises lease TTLs below 2 s (1.5 election timeouts) to 2. */
static int timing_ok(int ttl, int loop_wait, int retry_timeout) {
  if (ttl >= 2 && loop_wait >= 1 && retry_timeout >= 2) return 1;
  fail("ttl %d, loop_wait %d, retry_timeout %d: Patroni 3.0.2 with etcd3 needs ttl >= 2, "
       "loop_wait >= 1, retry_timeout >= 2",
       ttl, loop_wait, retry_timeout);
  return 0;
}

int patroni_cluster_start(const char *root_dir, const char *etcd_endpoint, int ttl, int loop_wait,
                          int retry_timeout, patroni_cluster **out) {
  static atomic_int seq;
  *out = NULL;
  if (!timing_ok(ttl, loop_wait, retry_timeout)) return -1;
  if (access(PATRONI_EXE, X_OK) != 0 || access(PG_BIN "/postgres", X_OK) != 0) {
    fail("need " PATRONI_EXE " and " PG_BIN "/postgres (Debian patroni, postgresql-15)");
    return -1;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  patroni_cluster *c = calloc(1, sizeof *c);
  if (!c) return -1;
  if (strlen(root_dir) >= sizeof c->root) {
    fail("root_dir too long: %s", root_dir);
    free(c);
    return -1;
  }
  snprintf(c->root, sizeof c->root, "%s", root_dir);
  snprintf(c->etcd, sizeof c->etcd, "%s", etcd_endpoint);
  /* A scope of its own: etcd may hold the keys of an earlier (killed) run of the bench. */
  snprintf(c->scope, sizeof c->scope, "qaxbench-%d-%d-%lld", (int)getpid(),
           atomic_fetch_add(&seq, 1), (long long)time(NULL));
  c->ttl = ttl;
  c->loop_wait = loop_wait;
  c->retry_timeout = retry_timeout;
  if (geteuid() == 0) {
    struct passwd *pw = getpwnam("postgres");
    if (!pw) {
      fail("running as root, and PostgreSQL refuses root; there is no user postgres");
      free(c);
      return -1;
    }
    c->drop = 1;
    c->uid = pw->pw_uid;
    c->gid = pw->pw_gid;
  }
  char path[PATH_MAX + 32];
  if (!make_dir(c, c->root, 0755)) {
    free(c);
    return -1;
  }
  for (int i = 0; i < NODES; i++) {
    node *nd = &c->n[i];
    snprintf(nd->yml, sizeof nd->yml, "%s/node%d.yml", c->root, i + 1);
    snprintf(nd->data, sizeof nd->data, "%s/data%d", c->root, i + 1);
    snprintf(nd->log, sizeof nd->log, "%s/node%d.log", c->root, i + 1);
    snprintf(path, sizeof path, "%s/sock%d", c->root, i + 1);
    nd->pg_port = bench_free_port();
    nd->rest_port = bench_free_port();
    if (!make_dir(c, path, 0755) || nd->pg_port <= 0 || nd->rest_port <= 0 || !write_yml(c, i)) {
      free(c);
      return -1;
    }
  }
  snprintf(path, sizeof path, "%s/health", c->etcd);
  if (http(NULL, path, NULL, NULL, 2000) != 200) {
    fail("etcd does not answer at %s", c->etcd);
    free(c);
    return -1;
  }
  track(c, 1);
  /* node1 bootstraps (initdb) alone, so that it is the one to take the initialize key and
   * the others clone it with pg_basebackup instead of racing to initdb. */
  c->n[0].pid = spawn_patroni(c, &c->n[0]);
  int64_t end = now_ns() + 90 * (int64_t)1000000000;
  while (find_leader(c) != 0 && now_ns() < end) {
    if (waitpid(c->n[0].pid, NULL, WNOHANG) == c->n[0].pid) {
      c->n[0].pid = 0;
      break;
    }
    sleep_ms(200);
  }
  if (find_leader(c) != 0) {
    fail("node1 did not become leader within 90 s");
    print_tail(c->n[0].log);
    patroni_cluster_stop(c);
    return -1;
  }
  for (int i = 1; i < NODES; i++)
    c->n[i].pid = spawn_patroni(c, &c->n[i]);
  if (wait_healthy(c, NODES - 1, 120) < 0) {
    fail("no leader with %d streaming replicas within 120 s", NODES - 1);
    for (int i = 0; i < NODES; i++)
      print_tail(c->n[i].log);
    patroni_cluster_stop(c);
    return -1;
  }
  *out = c;
  return 0;
}

void patroni_cluster_stop(patroni_cluster *c) {
  if (!c) return;
  track(c, 0);
  stop_nodes(c);
  free(c);
}

/* PATCH of the dynamic configuration in etcd through any node's REST API. */
static int patch_config(const patroni_cluster *c, const char *json) {
  for (int tries = 0; tries < 50; tries++) {
    for (int i = 0; i < NODES; i++) {
      body b;
      if (c->n[i].pid > 0 && rest(c, i, "PATCH", "/config", json, &b) == 200) return 1;
    }
    sleep_ms(200);
  }
  fail("PATCH /config %s failed", json);
  return 0;
}

int patroni_cluster_set_timing(patroni_cluster *c, int ttl, int loop_wait, int retry_timeout) {
  char json[128];
  snprintf(json, sizeof json, "{\"ttl\":%d,\"loop_wait\":%d,\"retry_timeout\":%d}", ttl, loop_wait,
           retry_timeout);
  int old_loop = c->loop_wait;
  if (!timing_ok(ttl, loop_wait, retry_timeout) || !patch_config(c, json)) return -1;
  c->ttl = ttl;
  c->loop_wait = loop_wait;
  c->retry_timeout = retry_timeout;
  /* Patroni drops its lease when the TTL changes and grants a new one on its next loop, which
   * is up to the old loop_wait away (PATCH wakes the leader's loop, but not always in time). */
  int64_t end = now_ns() + (int64_t)(2 * old_loop + 30) * 1000000000;
  int got = -1;
  while (now_ns() < end) {
    got = leader_lease_ttl(c);
    if (got == ttl) return 0;
    sleep_ms(100);
  }
  fail("leader lease still has TTL %d, not %d", got, ttl);
  return -1;
}

/* ---- measurements ---- */

/* Switches Patroni's synchronous_mode and waits until the leader has (on) exactly one sync
 * standby, or (off) none, in pg_stat_replication. */
static int set_sync(patroni_cluster *c, int on) {
  if (!patch_config(c, on ? "{\"synchronous_mode\":true,\"synchronous_node_count\":1}"
                          : "{\"synchronous_mode\":false}"))
    return 0;
  int64_t end = now_ns() + (int64_t)(2 * c->loop_wait + 30) * 1000000000;
  while (now_ns() < end) {
    int l = find_leader(c);
    PGconn *k = l >= 0 ? pg_connect(c, l) : NULL;
    long long n =
        k ? pg_int(k, "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'") : -1;
    long long a =
        k ? pg_int(k, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'") : -1;
    PQfinish(k);
    if (on ? n == 1 && a == NODES - 1 : n == 0 && a == NODES - 1) return 1;
    sleep_ms(200);
  }
  fail("synchronous_mode %s: the leader did not get to %s sync standby", on ? "on" : "off",
       on ? "one" : "no");
  return 0;
}

int patroni_commit_latency(patroni_cluster *c, const char *mode, int n, histogram *out) {
  if (!set_sync(c, 1)) return -1;
  int rc = -1;
  int l = find_leader(c);
  PGconn *k = l >= 0 ? pg_connect(c, l) : NULL;
  char sql[128];
  snprintf(sql, sizeof sql, "SET synchronous_commit = '%s'", mode);
  if (k &&
      pg_ok(k, "CREATE TABLE IF NOT EXISTS pp_commit (id bigserial PRIMARY KEY, v bigint)", 0) &&
      pg_ok(k, sql, 0)) {
    rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
      char v[24];
      snprintf(v, sizeof v, "%d", i);
      const char *p[1] = {v};
      int64_t t0 = now_ns();
      PGresult *r =
          PQexecParams(k, "INSERT INTO pp_commit (v) VALUES ($1)", 1, NULL, p, NULL, NULL, 0);
      int64_t dt = now_ns() - t0;
      if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fail("INSERT: %s", PQresultErrorMessage(r));
        rc = -1;
      } else {
        qx_histogram_record(out, (uint64_t)dt);
      }
      PQclear(r);
    }
  } else if (!k) {
    fail("no connection to the leader");
  }
  PQfinish(k);
  if (!set_sync(c, 0)) rc = -1;
  return rc;
}

typedef struct lag_run {
  const patroni_cluster *c;
  int replica;
  long long rows;
  int64_t *visible;     /* per id: when the poller first saw it on the replica */
  _Atomic int64_t done; /* when the writer finished, 0 before */
  atomic_int failed;
} lag_run;

/* Polls max(id) on the replica as fast as one connection allows (a round trip is ~50-100 us on
 * loopback, which bounds the resolution); every id up to the max is visible from then on. */
static void *lag_poller(void *arg) {
  lag_run *r = arg;
  PGconn *k = pg_connect(r->c, r->replica);
  if (!k) {
    r->failed = 1;
    return NULL;
  }
  long long seen = 0;
  while (seen < r->rows) {
    long long m = pg_int(k, "SELECT coalesce(max(id), 0) FROM pp_lag");
    int64_t t = now_ns();
    if (m < 0) {
      r->failed = 1;
      break;
    }
    for (; seen < m && seen < r->rows; seen++)
      r->visible[seen] = t;
    int64_t done = atomic_load(&r->done);
    if (done && t - done > 10000000000) { /* the writer is done: a bounded wait for the rest */
      fail("replication_lag: replica saw %lld of %lld rows 10 s after the last commit", seen,
           r->rows);
      r->failed = 1;
      break;
    }
  }
  PQfinish(k);
  return NULL;
}

/* A node other than leader whose walreceiver is streaming, asked over libpq: Patroni's /replica
 * answers 503 for a while after a (re)start even when the replica already streams. */
static int streaming_replica(const patroni_cluster *c, int leader) {
  for (int i = 0; i < NODES; i++) {
    if (i == leader || c->n[i].pid <= 0) continue;
    PGconn *k = pg_connect(c, i);
    long long n =
        k ? pg_int(k, "SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'") : -1;
    PQfinish(k);
    if (n == 1) return i;
  }
  return -1;
}

int patroni_replication_lag(patroni_cluster *c, int rate_per_s, int seconds, histogram *out) {
  int l = -1, replica = -1;
  for (int64_t end = now_ns() + 30 * (int64_t)1000000000; now_ns() < end; sleep_ms(200))
    if ((l = find_leader(c)) >= 0 && (replica = streaming_replica(c, l)) >= 0) break;
  PGconn *w = l >= 0 && replica >= 0 ? pg_connect(c, l) : NULL;
  if (!w) {
    fail("replication_lag: no leader connection or no streaming replica within 30 s");
    return -1;
  }
  if (!pg_ok(w, "DROP TABLE IF EXISTS pp_lag", 0) ||
      !pg_ok(w, "CREATE TABLE pp_lag (id bigint PRIMARY KEY)", 0)) {
    PQfinish(w);
    return -1;
  }
  /* The poller's query fails until the CREATE has been replayed. */
  PGconn *rk = pg_connect(c, replica);
  for (int i = 0; rk && i < 200 && !pg_ok(rk, "SELECT 1 FROM pp_lag LIMIT 1", 1); i++)
    sleep_ms(50);
  PQfinish(rk);
  long long rows = (long long)rate_per_s * seconds;
  lag_run r = {.c = c, .replica = replica, .rows = rows};
  int64_t *acked = calloc((size_t)rows, sizeof *acked);
  r.visible = calloc((size_t)rows, sizeof *r.visible);
  pthread_t th;
  if (!acked || !r.visible || pthread_create(&th, NULL, lag_poller, &r) != 0) {
    free(acked);
    free(r.visible);
    PQfinish(w);
    return -1;
  }
  int rc = 0;
  int64_t t0 = now_ns();
  for (long long i = 0; i < rows && rc == 0 && !r.failed; i++) {
    int64_t due = t0 + i * 1000000000 / rate_per_s;
    struct timespec ts = {(time_t)(due / 1000000000), (long)(due % 1000000000)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
    char v[24];
    snprintf(v, sizeof v, "%lld", i + 1);
    const char *p[1] = {v};
    PGresult *res =
        PQexecParams(w, "INSERT INTO pp_lag (id) VALUES ($1)", 1, NULL, p, NULL, NULL, 0);
    acked[i] = now_ns();
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
      fail("INSERT: %s", PQresultErrorMessage(res));
      rc = -1;
    }
    PQclear(res);
  }
  atomic_store(&r.done, now_ns());
  /* The poller ends when it has seen every row, or 10 s after the last commit. */
  pthread_join(th, NULL);
  if (r.failed) rc = -1;
  for (long long i = 0; rc == 0 && i < rows; i++)
    qx_histogram_record(out, r.visible[i] > acked[i] ? (uint64_t)(r.visible[i] - acked[i]) : 0);
  free(acked);
  free(r.visible);
  PQfinish(w);
  return rc;
}

/* An INSERT of id on node i over *k (connecting first if needed); 1 when acknowledged. Any
 * error, "read-only transaction" included, drops the connection: a node that was a replica a
 * moment ago may be the leader on the next attempt, and a broken connection is never reused. */
static int try_insert(const patroni_cluster *c, int i, PGconn **k, long long id) {
  if (!*k) *k = pg_connect(c, i);
  if (!*k) return 0;
  char v[24];
  snprintf(v, sizeof v, "%lld", id);
  const char *p[1] = {v};
  PGresult *r = PQexecParams(*k, "INSERT INTO pp_fo (id) VALUES ($1)", 1, NULL, p, NULL, NULL, 0);
  int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  if (!ok) {
    PQfinish(*k);
    *k = NULL;
  }
  return ok;
}

int patroni_failover(patroni_cluster *c, double *failover_s, uint64_t *acked_lost) {
  *failover_s = -1;
  *acked_lost = 0;
  int l = find_leader(c);
  PGconn *k = l >= 0 ? pg_connect(c, l) : NULL;
  if (!k || !pg_ok(k, "DROP TABLE IF EXISTS pp_fo", 0) ||
      !pg_ok(k, "CREATE TABLE pp_fo (id bigint PRIMARY KEY)", 0)) {
    fail("failover: no leader");
    PQfinish(k);
    return -1;
  }
  size_t cap = 1 << 16, n = 0;
  long long *acked = malloc(cap * sizeof *acked);
  long long id = 1;
  /* Two seconds of load first, so that the kill lands in a steady stream of commits. */
  int64_t end = now_ns() + 2000000000;
  while (acked && now_ns() < end && k) {
    if (try_insert(c, l, &k, id)) {
      if (n == cap) {
        long long *g = realloc(acked, 2 * cap * sizeof *acked);
        if (!g) break;
        acked = g;
        cap *= 2;
      }
      acked[n++] = id;
    }
    id++;
  }
  PQfinish(k);
  if (!acked || n == 0) {
    free(acked);
    fail("failover: no writes before the kill");
    return -1;
  }
  int64_t t_kill = kill_node(&c->n[l]);
  PGconn *conns[NODES] = {0};
  int winner = -1;
  int64_t t_ack = 0;
  end = t_kill + (int64_t)(3 * c->ttl + 120) * 1000000000;
  while (winner < 0 && now_ns() < end) {
    for (int i = 0; i < NODES && winner < 0; i++) {
      if (i == l) continue;
      /* A fresh id per attempt: an INSERT that failed may still have committed. */
      if (try_insert(c, i, &conns[i], id)) {
        t_ack = now_ns();
        winner = i;
        if (n < cap) acked[n++] = id;
      }
      id++;
    }
    if (winner < 0) sleep_ms(20);
  }
  int rc = -1;
  if (winner < 0) {
    fail("failover: no new leader acknowledged an INSERT");
  } else {
    *failover_s = (double)(t_ack - t_kill) / 1e9;
    /* Acked ids are ascending, the array literal is fine at this size (a few 10k ids). */
    size_t len = n * 21 + 4;
    char *arr = malloc(len);
    if (arr) {
      size_t o = 0;
      arr[o++] = '{';
      for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(arr + o, len - o, "%s%lld", i ? "," : "", acked[i]);
      snprintf(arr + o, len - o, "}");
      const char *p[1] = {arr};
      PGresult *r =
          PQexecParams(conns[winner], "SELECT count(*) FROM pp_fo WHERE id = ANY($1::bigint[])", 1,
                       NULL, p, NULL, NULL, 0);
      if (PQresultStatus(r) == PGRES_TUPLES_OK) {
        *acked_lost = n - (uint64_t)atoll(PQgetvalue(r, 0, 0));
        rc = 0;
      } else {
        fail("failover: counting acked rows: %s", PQresultErrorMessage(r));
      }
      PQclear(r);
      free(arr);
    }
  }
  for (int i = 0; i < NODES; i++)
    PQfinish(conns[i]);
  free(acked);
  /* The killed node rejoins as a replica (pg_rewind onto the new timeline if needed). */
  c->n[l].pid = spawn_patroni(c, &c->n[l]);
  if (wait_healthy(c, NODES - 1, 180) < 0) {
    fail("failover: node%d did not rejoin as a streaming replica within 180 s", l + 1);
    print_tail(c->n[l].log);
    rc = -1;
  }
  return rc;
}
