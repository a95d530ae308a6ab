/* The main linked with each fuzz target when it is not built for libFuzzer: runs
 * LLVMFuzzerTestOneInput once over every file of the directories (or files) named on the
 * command line, in name order, so that the checked-in corpus is a regression test
 * (ctest fuzz_regress_<target>, also under the sanitizers). A real libFuzzer run reports any
 * single allocation above -malloc_limit_mb; here the address space (or, under ASan, the largest
 * allocation) is capped instead, so a reader that sizes a buffer from a hostile length fails
 * here too rather than getting gigabytes of untouched virtual memory. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "fuzz.h"

#define ALLOCATION_CAP_MB 512
#define TEXT_OF(x) #x
#define AS_TEXT(x) TEXT_OF(x)

/* A sanitizer's runtime owns the address space: no rlimit then. */
#if defined(__SANITIZE_ADDRESS__)
#define REPLAY_UNDER_ASAN 1
#elif defined(__SANITIZE_THREAD__)
#define REPLAY_UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REPLAY_UNDER_ASAN 1
#elif __has_feature(thread_sanitizer)
#define REPLAY_UNDER_TSAN 1
#endif
#endif

#ifdef REPLAY_UNDER_ASAN
/* Read by the ASan runtime at start-up; ASAN_OPTIONS can still override it. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) {
  return "max_allocation_size_mb=" AS_TEXT(ALLOCATION_CAP_MB);
}
#endif

/* Without a sanitizer: at most ALLOCATION_CAP_MB more address space than the process has. */
static void cap_memory(void) {
#if !defined(REPLAY_UNDER_ASAN) && !defined(REPLAY_UNDER_TSAN)
  unsigned long pages = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f) return;
  int ok = fscanf(f, "%lu", &pages) == 1;
  fclose(f);
  rlim_t cap = (rlim_t)pages * 4096 + ((rlim_t)ALLOCATION_CAP_MB << 20);
  struct rlimit limit = {cap, cap};
  if (ok) setrlimit(RLIMIT_AS, &limit);
#endif
}

static void run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) fuzz_fail("cannot open %s", path);
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  rewind(f);
  /* An exact-size copy, so that ASan catches a read past the end of the input. */
  uint8_t *data = malloc(size > 0 ? (size_t)size : 1);
  if (!data || size < 0 || fread(data, 1, (size_t)size, f) != (size_t)size)
    fuzz_fail("cannot read %s", path);
  fclose(f);
  LLVMFuzzerTestOneInput(data, (size_t)size);
  free(data);
}

static int regular_file(const struct dirent *de) {
  return de->d_name[0] != '.';
}

/* Runs every file of dir; returns how many. */
static int run_dir(const char *dir) {
  struct dirent **names;
  int n = scandir(dir, &names, regular_file, alphasort);
  if (n < 0) fuzz_fail("cannot list %s", dir);
  for (int i = 0; i < n; i++) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
    run_file(path);
    free(names[i]);
  }
  free(names);
  return n;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
    return 2;
  }
  cap_memory();
  int inputs = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) fuzz_fail("no such corpus: %s", argv[i]);
    if (S_ISDIR(st.st_mode)) {
      inputs += run_dir(argv[i]);
    } else {
      run_file(argv[i]);
      inputs++;
    }
  }
  printf("%s: %d inputs replayed without a finding\n", argv[0], inputs);
  return inputs > 0 ? 0 : 2;
}
