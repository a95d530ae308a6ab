/* Delayed and conflated subscriptions: a window's records are handed out once it has closed,
 * every delay_ms; a conflated subscriber hands out only the newest per key of them. */
#include <time.h>

#include "dist/sub_impl.h"
#include "util/clock.h"
#include "util/error.h"

/* Starts the next window: its records are those the writer had published when it began. */
static void open_window(qx_sub *s, int64_t now) {
  s->window_end_ns = now + (int64_t)s->opt.delay_ms * 1000000;
  s->limit_lsn = s->ring
                     ? atomic_load_explicit(&s->ring->header->published_lsn, memory_order_acquire)
                     : UINT64_MAX;
}

/* Copies the window's records into the conflator, which keeps the newest per key. */
static int conflate_window(qx_sub *s, int64_t deadline) {
  qx_conflator_clear(s->conflator);
  qx_wal_entry e;
  int rc;
  while ((rc = qx_sub_next_record(s, &e, deadline)) == QX_OK)
    if ((rc = qx_conflator_add(s->conflator, &e)) != QX_OK) return rc;
  s->holding = 0; /* the copies are handed out, not the ring's frames */
  return rc == QX_ERR_TIMEOUT ? QX_OK : rc;
}

int qx_sub_next_delayed(qx_sub *s, qx_wal_entry *record, int64_t deadline) {
  for (;;) {
    if (s->opt.conflate && qx_conflator_next(s->conflator, record)) return QX_OK;
    if (!s->opt.conflate && s->next_lsn <= s->limit_lsn) {
      int rc = qx_sub_next_record(s, record, qx_monotonic_ns());
      if (rc != QX_ERR_TIMEOUT) return rc;
    }
    int64_t now = qx_monotonic_ns();
    if (now < s->window_end_ns) {
      if (now >= deadline) return qx_fail(QX_ERR_TIMEOUT, "no window of records closed in time");
      int64_t until = s->window_end_ns < deadline ? s->window_end_ns : deadline;
      struct timespec ts = {(until - now) / 1000000000, (until - now) % 1000000000};
      nanosleep(&ts, NULL);
      continue;
    }
    open_window(s, now);
    int rc = s->opt.conflate ? conflate_window(s, now) : QX_OK;
    if (rc != QX_OK) return rc;
  }
}
