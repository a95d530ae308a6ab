/* Benchmark output and scratch directories (see bench_report.h). */
#include "bench_report.h"

#include <arpa/inet.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct metric {
  const char *name;
  double (*value)(const bench_side *side);
  int higher_is_better;
} metric;

static double throughput(const bench_side *s) {
  return s->records_per_s;
}
static double p50(const bench_side *s) {
  return qx_histogram_quantile_us(&s->latency, 0.50);
}
static double p99(const bench_side *s) {
  return qx_histogram_quantile_us(&s->latency, 0.99);
}
static double p999(const bench_side *s) {
  return qx_histogram_quantile_us(&s->latency, 0.999);
}
static double max_latency(const bench_side *s) {
  return qx_histogram_max_us(&s->latency);
}

static const metric metrics[] = {
    {"throughput", throughput, 1},
    /* named <unit>_per_s in the output */ {"p50_us", p50, 0},
    {"p99_us", p99, 0},
    {"p999_us", p999, 0},
    {"max_us", max_latency, 0},
};
#define METRIC_COUNT (sizeof metrics / sizeof metrics[0])

static double advantage(const metric *m, double qaxdb, double peer) {
  if (m->higher_is_better) return peer > 0 ? qaxdb / peer : 0;
  return qaxdb > 0 ? peer / qaxdb : 0;
}

void bench_print(FILE *out, const char *bench, const char *peer, const char *unit,
                 const bench_case *cases, size_t count) {
  char unit_per_s[32], metric0[40];
  snprintf(unit_per_s, sizeof unit_per_s, "%s/s", unit);
  snprintf(metric0, sizeof metric0, "%s_per_s", unit);
  fprintf(out, "%-16s %-8s %14s %10s %10s %10s %10s\n", "case", "system", unit_per_s, "p50 us",
          "p99 us", "p999 us", "max us");
  for (size_t c = 0; c < count; c++) {
    const bench_side *sides[3] = {&cases[c].qaxdb, &cases[c].peer, NULL};
    const char *names[2] = {"qaxdb", peer};
    for (int s = 0; s < 2; s++) {
      fprintf(out, "%-16s %-8s", s ? "" : cases[c].name, names[s]);
      for (size_t m = 0; m < METRIC_COUNT; m++)
        fprintf(out, m ? " %10.2f" : " %14.0f", metrics[m].value(sides[s]));
      fputc('\n', out);
    }
    fprintf(out, "%-16s %-8s", "", "ratio");
    for (size_t m = 0; m < METRIC_COUNT; m++) {
      double r = advantage(&metrics[m], metrics[m].value(sides[0]), metrics[m].value(sides[1]));
      fprintf(out, m ? " %9.2fx" : " %13.2fx", r);
    }
    fputc('\n', out);
  }
  fputc('\n', out);
  for (size_t c = 0; c < count; c++)
    for (size_t m = 0; m < METRIC_COUNT; m++) {
      double q = metrics[m].value(&cases[c].qaxdb), p = metrics[m].value(&cases[c].peer);
      bench_print_metric(out, bench, cases[c].name, m ? metrics[m].name : metric0, q, peer, p,
                         advantage(&metrics[m], q, p));
    }
}

void bench_print_metric(FILE *out, const char *bench, const char *name, const char *metric_name,
                        double qaxdb, const char *peer, double peer_value, double ratio) {
  fprintf(out,
          "{\"bench\":\"%s\",\"case\":\"%s\",\"metric\":\"%s\",\"qaxdb\":%.6g,\"peer\":\"%s\","
          "\"peer_value\":%.6g,\"ratio\":%.3f}\n",
          bench, name, metric_name, qaxdb, peer, peer_value, ratio);
}

const char *bench_make_tmpdir(char buf[PATH_MAX], const char *tag) {
  const char *base = getenv("TMPDIR");
  snprintf(buf, PATH_MAX, "%s/qaxdb-bench-%s-XXXXXX", base && *base ? base : "/tmp", tag);
  if (!mkdtemp(buf)) {
    perror("qaxdb-bench: mkdtemp");
    exit(1);
  }
  return buf;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

void bench_remove_tree(const char *path) {
  nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int bench_free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  int port = -1;
  if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
      getsockname(fd, (struct sockaddr *)&a, &len) == 0)
    port = ntohs(a.sin_port);
  if (fd >= 0) close(fd);
  return port;
}

bench_cpu bench_sample_cpu(int who) {
  bench_cpu c = {0, 0, 0};
  unsigned long long v[8] = {0};
  FILE *f = fopen("/proc/stat", "r");
  if (f && fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                  &v[4], &v[5], &v[6], &v[7]) == 8) {
    c.busy = (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]); /* idle and iowait left out */
    c.total = c.busy + (double)(v[3] + v[4]);
  }
  if (f) fclose(f);
  struct rusage ru;
  getrusage(who, &ru);
  double s = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
             (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  c.ours = s * (double)sysconf(_SC_CLK_TCK);
  return c;
}

double bench_others_percent(bench_cpu a, bench_cpu b) {
  double total = b.total - a.total, others = (b.busy - a.busy) - (b.ours - a.ours);
  return total > 0 && others > 0 ? 100.0 * others / total : 0;
}
