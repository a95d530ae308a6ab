/* A thread at idle CPU priority (SCHED_IDLE) that runs one job at a time for another thread.
 * The SQL engine runs DuckDB on it when asked to stay out of the writer's way: an idle-policy
 * thread gets a core only when no normal thread wants it, and the threads it creates (DuckDB's
 * workers) inherit the policy, so queries use only the CPU the writer leaves. */
#ifndef QX_QUERY_IDLE_RUNNER_H
#define QX_QUERY_IDLE_RUNNER_H

typedef struct qx_idle_runner qx_idle_runner;
typedef int (*qx_idle_job)(void *arg);

/* Starts the thread and runs first(arg) on it before anything else; fails with its status. */
int qx_idle_runner_start(qx_idle_job first, void *arg, qx_idle_runner **out);
/* Runs job(arg) on the thread and waits for it; a failure's message reaches qx_last_error()
 * of the caller. */
int qx_idle_runner_run(qx_idle_runner *r, qx_idle_job job, void *arg);
void qx_idle_runner_stop(qx_idle_runner *r);

#endif
