/* qx_thread_name (thread.h). */
#include "util/thread.h"

#include <pthread.h>

void qx_thread_name(const char *name) {
  pthread_setname_np(pthread_self(), name);
}
