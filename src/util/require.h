/* Debug-build checks of the REQUIRES clauses that functions state in their comments: each
 * becomes an assert, compiled out under NDEBUG (release builds) and checked by the test
 * suite's AddressSanitizer build, which is a Debug build. */
#ifndef QX_UTIL_REQUIRE_H
#define QX_UTIL_REQUIRE_H

#include <assert.h>
#include <errno.h>
#include <pthread.h>

/* 1 if mu is locked (by any thread: POSIX does not say which; callers check their own). */
static inline int qx_mutex_is_locked(pthread_mutex_t *mu) {
  int rc = pthread_mutex_trylock(mu);
  if (rc == 0) pthread_mutex_unlock(mu);
  return rc == EBUSY;
}

#ifdef NDEBUG
#define QX_REQUIRE(cond) ((void)sizeof(!(cond))) /* not evaluated; its names count as used */
#else
#define QX_REQUIRE(cond) assert(cond)
#endif
#define QX_REQUIRE_HELD(mu) QX_REQUIRE(qx_mutex_is_locked(mu))

#endif
