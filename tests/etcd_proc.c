/* Starting and stopping a real etcd for tests (etcd_proc.h). The health check speaks plain
 * HTTP over a socket so that the helper needs nothing from the client under test. */
#include "etcd_proc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/error.h"

extern char **environ;

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, ms % 1000 * 1000000L};
  nanosleep(&ts, NULL);
}

static struct sockaddr_in loopback(int port) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

/* Binds a socket to a port of the kernel's choosing and returns the port; *fd stays open so
 * that a second call cannot be handed the same port. */
static int bind_free(int *fd) {
  *fd = socket(AF_INET, SOCK_STREAM, 0);
  if (*fd < 0) return -1;
  struct sockaddr_in a = loopback(0);
  socklen_t len = sizeof a;
  if (bind(*fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      getsockname(*fd, (struct sockaddr *)&a, &len) != 0) {
    close(*fd);
    *fd = -1;
    return -1;
  }
  return ntohs(a.sin_port);
}

int etcd_proc_free_port(void) {
  int fd;
  int port = bind_free(&fd);
  if (fd >= 0) close(fd);
  return port;
}

/* Whether GET /health on the port answers {"health":"true"}. */
static bool healthy(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  struct timeval tv = {1, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct sockaddr_in a = loopback(port);
  char buf[1024];
  size_t got = 0;
  if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
    int n = snprintf(buf, sizeof buf, "GET /health HTTP/1.0\r\nHost: 127.0.0.1:%d\r\n\r\n", port);
    if (write(fd, buf, (size_t)n) == n) {
      ssize_t r;
      while (got < sizeof buf - 1 && (r = read(fd, buf + got, sizeof buf - 1 - got)) > 0)
        got += (size_t)r;
    }
  }
  close(fd);
  buf[got] = '\0';
  return strstr(buf, "\"health\":\"true\"") != NULL;
}

static int spawn_etcd(etcd_proc *p, int client_port, int peer_port, bool fast) {
  char data[PATH_MAX + 8], log[PATH_MAX + 16], peer[64], initial[80];
  snprintf(data, sizeof data, "%s/data", p->dir);
  snprintf(log, sizeof log, "%s/etcd.log", p->dir);
  snprintf(p->endpoint, sizeof p->endpoint, "http://127.0.0.1:%d", client_port);
  snprintf(peer, sizeof peer, "http://127.0.0.1:%d", peer_port);
  snprintf(initial, sizeof initial, "n1=%s", peer);
  const char *prog = getenv("ETCD") ? getenv("ETCD") : "etcd";
  char *argv[] = {(char *)prog, "--name",
                  "n1",         "--data-dir",
                  data,         "--listen-client-urls",
                  p->endpoint,  "--advertise-client-urls",
                  p->endpoint,  "--listen-peer-urls",
                  peer,         "--initial-advertise-peer-urls",
                  peer,         "--initial-cluster",
                  initial,      "--initial-cluster-state",
                  "new",        "--heartbeat-interval",
                  "10",         "--election-timeout",
                  "100",        NULL};
  if (!fast) argv[sizeof argv / sizeof *argv - 5] = NULL; /* cut off the four timing arguments */
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
  int e = posix_spawnp(&p->pid, prog, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (e != 0) p->pid = 0;
  return e == 0 ? QX_OK : qx_fail_errno(QX_ERR_IO, e, "spawn %s", prog);
}

int etcd_proc_start(const char *parent_dir, bool fast_timings, etcd_proc *out) {
  memset(out, 0, sizeof *out);
  if (snprintf(out->dir, sizeof out->dir, "%s/etcd", parent_dir) >= (int)sizeof out->dir)
    return qx_fail(QX_ERR_INVALID_ARG, "etcd folder path too long");
  if (mkdir(out->dir, 0755) != 0) return qx_fail_errno(QX_ERR_IO, errno, "mkdir %s", out->dir);
  int fd1, fd2;
  int client_port = bind_free(&fd1), peer_port = bind_free(&fd2);
  if (fd1 >= 0) close(fd1);
  if (fd2 >= 0) close(fd2);
  if (client_port < 0 || peer_port < 0) return qx_fail(QX_ERR_IO, "no free loopback port");
  int rc = spawn_etcd(out, client_port, peer_port, fast_timings);
  for (int i = 0; rc == QX_OK && i < 200; i++) {
    if (healthy(client_port)) return QX_OK;
    int status;
    if (waitpid(out->pid, &status, WNOHANG) == out->pid) {
      out->pid = 0;
      return qx_fail(QX_ERR_IO, "etcd exited at start (status %d); see %s/etcd.log", status,
                     out->dir);
    }
    sleep_ms(100);
  }
  if (rc == QX_OK) {
    etcd_proc_stop(out);
    rc = qx_fail(QX_ERR_TIMEOUT, "etcd not healthy after 20 s; see %s/etcd.log", out->dir);
  }
  return rc;
}

void etcd_proc_stop(etcd_proc *proc) {
  if (proc->pid <= 0) return;
  kill(proc->pid, SIGTERM);
  for (int i = 0; i < 100; i++) {
    if (waitpid(proc->pid, NULL, WNOHANG) == proc->pid) {
      proc->pid = 0;
      return;
    }
    sleep_ms(100);
  }
  kill(proc->pid, SIGKILL);
  waitpid(proc->pid, NULL, 0);
  proc->pid = 0;
}
