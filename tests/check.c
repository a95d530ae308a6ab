/* The test harness helpers declared in check.h. */
#include "check.h"

#include <ftw.h>
#include <unistd.h>

int check_failures;

void test_tmpdir(char out[PATH_MAX], const char *tag) {
  const char *base = getenv("TMPDIR");
  snprintf(out, PATH_MAX, "%s/qaxdb-test-%s-XXXXXX", base && *base ? base : "/tmp", tag);
  if (!mkdtemp(out)) {
    perror("mkdtemp");
    exit(2);
  }
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

void test_rmtree(const char *path) {
  nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int test_finish(const char *name) {
  if (check_failures) {
    fprintf(stderr, "%s: %d check(s) failed\n", name, check_failures);
    return 1;
  }
  printf("%s: all checks passed\n", name);
  return 0;
}
