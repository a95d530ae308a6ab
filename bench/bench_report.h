/* What every qaxdb benchmark prints: a human-readable table per case (qaxdb, the peer, and
 * the ratio), then one JSON line per measurement in the format later runs are compared by:
 * {"bench":B,"case":C,"metric":M,"qaxdb":X,"peer":P,"peer_value":Y,"ratio":R}
 * where ratio is qaxdb's advantage (> 1 is better): X/Y for throughput, Y/X for latency. */
#ifndef QX_BENCH_REPORT_H
#define QX_BENCH_REPORT_H

#include <limits.h>
#include <stddef.h>
#include <stdio.h>

#include "util/histogram.h"

typedef struct bench_side {
  double records_per_s;
  histogram latency;
} bench_side;

typedef struct bench_case {
  const char *name;
  bench_side qaxdb, peer;
} bench_case;

/* unit names what one operation is ("records", "ops"): the throughput is <unit>_per_s. */
void bench_print(FILE *out, const char *bench, const char *peer, const char *unit,
                 const bench_case *cases, size_t count);

/* One JSON line for a measurement outside the latency/throughput table (a size, a ratio). */
void bench_print_metric(FILE *out, const char *bench, const char *name, const char *metric_name,
                        double qaxdb, const char *peer, double peer_value, double ratio);

/* Creates a fresh directory under $TMPDIR (or /tmp) into buf and returns it; exits on failure. */
const char *bench_make_tmpdir(char buf[PATH_MAX], const char *tag);
void bench_remove_tree(const char *path);
/* A loopback TCP port that was free a moment ago (the kernel's pick for port 0), or -1. */
int bench_free_port(void);

/* The machine's busy and total CPU time (/proc/stat, all CPUs) and the CPU time of who
 * (RUSAGE_SELF, or RUSAGE_CHILDREN for the reaped children), in clock ticks: on a shared
 * machine, what other processes took during a run explains many outliers. */
typedef struct bench_cpu {
  double busy, total, ours;
} bench_cpu;
bench_cpu bench_sample_cpu(int who);
/* Percent of the machine's CPU time that went to other processes between a and b. */
double bench_others_percent(bench_cpu a, bench_cpu b);

#endif
