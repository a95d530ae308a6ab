/* The test harness helpers declared in check.h. */
#include "check.h"

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
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

void test_join(char out[PATH_MAX], const char *dir, const char *name) {
  if (snprintf(out, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX) CHECK(!"path too long");
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

long test_file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

void test_flip_byte(const char *path, long offset) {
  int fd = open(path, O_RDWR);
  unsigned char c = 0;
  CHECK(fd >= 0 && pread(fd, &c, 1, offset) == 1);
  c ^= 0x40;
  CHECK(fd >= 0 && pwrite(fd, &c, 1, offset) == 1);
  if (fd >= 0) close(fd);
}

int test_finish(const char *name) {
  if (check_failures) {
    fprintf(stderr, "%s: %d check(s) failed\n", name, check_failures);
    return 1;
  }
  printf("%s: all checks passed\n", name);
  return 0;
}
