/* A minimal test harness: CHECK macros that report file:line and the failing expression, and
 * helpers for temporary directories. Each test program returns non-zero if any check failed. */
#ifndef QX_TESTS_CHECK_H
#define QX_TESTS_CHECK_H

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qaxdb/status.h"

extern int check_failures;

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);                     \
      check_failures++;                                                                            \
    }                                                                                              \
  } while (0)

#define CHECK_EQ_U64(a, b)                                                                         \
  do {                                                                                             \
    uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                                               \
    if (a_ != b_) {                                                                                \
      fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%" PRIu64 " vs %" PRIu64 ")\n", __FILE__,    \
              __LINE__, #a, #b, a_, b_);                                                           \
      check_failures++;                                                                            \
    }                                                                                              \
  } while (0)

#define CHECK_STR(a, b)                                                                            \
  do {                                                                                             \
    const char *a_ = (a), *b_ = (b);                                                               \
    if (strcmp(a_, b_) != 0) {                                                                     \
      fprintf(stderr, "%s:%d: CHECK failed: %s == %s (\"%s\" vs \"%s\")\n", __FILE__, __LINE__,    \
              #a, #b, a_, b_);                                                                     \
      check_failures++;                                                                            \
    }                                                                                              \
  } while (0)

/* Checks a qaxdb status; prints qx_last_error() when it is not the expected one. */
#define CHECK_RC(expr, expected)                                                                   \
  do {                                                                                             \
    int rc_ = (expr);                                                                              \
    if (rc_ != (expected)) {                                                                       \
      fprintf(stderr, "%s:%d: %s returned %d (%s), expected %d; detail: %s\n", __FILE__, __LINE__, \
              #expr, rc_, qx_strerror(rc_), (expected), qx_last_error());                          \
      check_failures++;                                                                            \
    }                                                                                              \
  } while (0)

#define CHECK_OK(expr) CHECK_RC(expr, QX_OK)

/* Creates a fresh empty directory under $TMPDIR (or /tmp) and writes its path to out. */
void test_tmpdir(char out[PATH_MAX], const char *tag);
/* Writes dir/name to out; a path too long is a check failure. */
void test_join(char out[PATH_MAX], const char *dir, const char *name);
/* Removes a directory tree (best effort). */
void test_rmtree(const char *path);

/* The size of a file in bytes, or -1 if it cannot be read. */
long test_file_size(const char *path);
/* Flips bit 6 of the byte at offset in path (simulated media damage); a failure is a check
 * failure. */
void test_flip_byte(const char *path, long offset);

/* Ends a test program: prints a summary line and returns the exit code. */
int test_finish(const char *name);

#endif
