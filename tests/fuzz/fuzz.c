/* The helpers the fuzz targets share (see fuzz.h). */
#include "fuzz.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qaxdb/status.h"

static char scratch[PATH_MAX];

void fuzz_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("fuzz rule broken: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  abort();
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static void remove_tree(const char *path) {
  nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void remove_scratch(void) {
  remove_tree(scratch);
}

static const char *scratch_dir(void) {
  if (scratch[0]) return scratch;
  const char *base = getenv("TMPDIR");
  if (!base || !*base) base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  snprintf(scratch, sizeof scratch, "%s/qaxdb-fuzz-XXXXXX", base);
  if (!mkdtemp(scratch)) fuzz_fail("mkdtemp %s: %s", scratch, strerror(errno));
  atexit(remove_scratch);
  return scratch;
}

void fuzz_empty_dir(const char *name, char out[PATH_MAX]) {
  if (snprintf(out, PATH_MAX, "%s/%s", scratch_dir(), name) >= PATH_MAX)
    fuzz_fail("path too long: %s/%s", scratch, name);
  remove_tree(out);
  if (mkdir(out, 0755) != 0) fuzz_fail("mkdir %s: %s", out, strerror(errno));
}

void fuzz_write_file(const char *path, const void *data, size_t size) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fuzz_fail("create %s: %s", path, strerror(errno));
  for (size_t done = 0; done < size;) {
    ssize_t n = write(fd, (const char *)data + done, size - done);
    if (n <= 0) fuzz_fail("write %s: %s", path, strerror(errno));
    done += (size_t)n;
  }
  close(fd);
}

void fuzz_expect(int rc, const char *path, int allowed, int also_allowed) {
  if (rc == QX_OK) return;
  if (rc != allowed && rc != also_allowed)
    fuzz_fail("unexpected status %d (%s): %s", rc, qx_strerror(rc), qx_last_error());
  if (!strstr(qx_last_error(), path))
    fuzz_fail("the message does not name %s: %s", path, qx_last_error());
}
