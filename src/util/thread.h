/* Names for the engine's own threads, as `top -H`, perf and gdb show them. */
#ifndef QX_UTIL_THREAD_H
#define QX_UTIL_THREAD_H

/* Names the calling thread; name has at most 15 characters. */
void qx_thread_name(const char *name);

#endif
