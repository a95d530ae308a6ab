/* What the fuzz targets share (docs/fuzzing.md): a scratch directory made once per process for
 * inputs that must be files, writing them, and the rule every target checks: a reader rejects
 * hostile bytes with one of the statuses it documents and a message naming the file. */
#ifndef QX_TESTS_FUZZ_FUZZ_H
#define QX_TESTS_FUZZ_FUZZ_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

/* The entry point libFuzzer (or replay_main.c) calls with each input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reports a broken rule on stderr and aborts, so that libFuzzer keeps the input as a crash. */
void fuzz_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* Makes <scratch directory>/name empty (creating the scratch directory on first use, under
 * $TMPDIR, else /dev/shm, else /tmp; it is removed at exit) and writes its path to out. */
void fuzz_empty_dir(const char *name, char out[PATH_MAX]);

/* Writes size bytes to path, replacing it. */
void fuzz_write_file(const char *path, const void *data, size_t size);

/* Aborts unless rc is QX_OK, or is allowed or also_allowed and qx_last_error() names path. */
void fuzz_expect(int rc, const char *path, int allowed, int also_allowed);

#endif
