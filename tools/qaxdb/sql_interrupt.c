/* Ctrl-C in qaxdb sql (see sql_shell.h): it cancels the running query, and at the shell's
 * prompt it abandons the line being typed; it does not end the process (but one pressed while
 * the data folder opens ends qaxdb sql once it is open).
 *
 * SIGINT is blocked in every thread but the main one (the engine's and DuckDB's threads start
 * after cli_sigint_block and inherit the mask), so the handler always runs on the main thread:
 * there it can interrupt the read of the prompt. qx_sql_interrupt is not async-signal-safe, so
 * the handler only sets a flag and writes a byte to a pipe; a thread of ours reads the pipe and
 * calls qx_sql_interrupt, which cancels the query if one runs and does nothing otherwise. */
#include "sql_shell.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static volatile sig_atomic_t pressed;
static int wake[2] = {-1, -1}; /* the handler writes to wake[1], the canceller reads wake[0] */
static pthread_t canceller;
static int canceller_running;

static void on_sigint(int signo) {
  (void)signo;
  int saved = errno;
  pressed = 1;
  ssize_t n = write(wake[1], "", 1); /* non-blocking: a full pipe already has a wake-up */
  (void)n;
  errno = saved;
}

static void *cancel_queries(void *arg) {
  qx_sql *sql = arg;
  char byte;
  ssize_t n;
  while ((n = read(wake[0], &byte, 1)) > 0 || (n < 0 && errno == EINTR))
    if (n == 1) qx_sql_interrupt(sql);
  return NULL; /* the write end closed: cli_sigint_stop */
}

static void set_handler(int restart_reads) {
  struct sigaction sa = {0};
  sa.sa_handler = on_sigint;
  sa.sa_flags = restart_reads ? SA_RESTART : 0;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
}

static void mask_sigint(int how) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  pthread_sigmask(how, &set, NULL);
}

void cli_sigint_block(void) {
  mask_sigint(SIG_BLOCK);
}

int cli_sigint_start(qx_sql *sql) {
  sigset_t pending;
  if (sigpending(&pending) == 0 && sigismember(&pending, SIGINT)) {
    fprintf(stderr, "qaxdb sql: interrupted (Ctrl-C) while opening the data folder\n");
    return -1; /* the signal stays blocked and pending until the process exits */
  }
  if (pipe(wake) != 0 || fcntl(wake[1], F_SETFL, O_NONBLOCK) != 0 ||
      pthread_create(&canceller, NULL, cancel_queries, sql) != 0) {
    perror("qaxdb sql: cannot set up Ctrl-C");
    cli_sigint_stop();
    return -1;
  }
  canceller_running = 1;
  set_handler(1);
  mask_sigint(SIG_UNBLOCK);
  return 0;
}

void cli_sigint_stop(void) {
  mask_sigint(SIG_BLOCK);
  signal(SIGINT, SIG_DFL);
  if (wake[1] >= 0) close(wake[1]); /* ends the canceller's read */
  if (canceller_running) pthread_join(canceller, NULL);
  if (wake[0] >= 0) close(wake[0]);
  wake[0] = wake[1] = -1;
  canceller_running = 0; /* SIGINT stays blocked: a late Ctrl-C must not cut the closing short */
}

void cli_sigint_break_reads(int yes) {
  set_handler(!yes);
}

int cli_sigint_take(void) {
  int was = pressed;
  pressed = 0;
  return was;
}
