/* The WebSocket server's shared window (src/web/web_window.c) under its two threads: a feeder
 * appending records, which refills the oldest slot outside the lock, while a reader takes
 * batches as the service thread does. Every record read must be whole (its bytes name its
 * LSN) and in LSN order with no gap inside the window, and a position the window overwrote
 * must be reported as left behind, never read. Runs under ThreadSanitizer. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "web/web_impl.h"

#define CAPACITY 64
#define RECORDS 200000

static web_window window;

static void *feed(void *arg) {
  (void)arg;
  for (uint64_t lsn = 1; lsn <= RECORDS; lsn++) {
    uint64_t payload[4];
    for (int i = 0; i < 4; i++)
      payload[i] = lsn * 4 + (uint64_t)i;
    qx_wal_entry e = {.lsn = lsn, .size = sizeof payload, .data = payload};
    CHECK_OK(qx_web_window_append(&window, &e, 1));
  }
  return NULL;
}

/* Reads what the window holds from next_lsn on, as a subscription's batch does; returns the
 * next LSN to read. A position the feeder overwrote goes on from the oldest slot (where a
 * subscription would read the WAL instead). */
static uint64_t read_batch(uint64_t next_lsn, uint64_t *left_behind) {
  pthread_mutex_lock(&window.mu);
  uint64_t seq = qx_web_window_find(&window, next_lsn);
  if (seq == UINT64_MAX && window.head > window.tail) {
    (*left_behind)++;
    seq = window.tail;
    next_lsn = window.slots[seq % window.capacity].entry.lsn;
  }
  for (; seq < window.head; seq++) {
    const web_slot *slot = &window.slots[seq % window.capacity];
    CHECK_EQ_U64(slot->entry.lsn, next_lsn);
    const uint64_t *words = slot->entry.data;
    for (int i = 0; i < 4; i++)
      CHECK_EQ_U64(words[i], next_lsn * 4 + (uint64_t)i);
    next_lsn++;
  }
  pthread_mutex_unlock(&window.mu);
  return next_lsn;
}

int main(void) {
  CHECK_OK(qx_web_window_init(&window, CAPACITY));
  window.next_lsn = 1;
  pthread_t feeder;
  pthread_create(&feeder, NULL, feed, NULL);
  uint64_t next_lsn = 1, left_behind = 0;
  for (int rounds = 0; next_lsn <= RECORDS && rounds < 100000000; rounds++)
    next_lsn = read_batch(next_lsn, &left_behind);
  pthread_join(feeder, NULL);
  CHECK_EQ_U64(next_lsn, RECORDS + 1);
  printf("read to LSN %d, left behind %llu times\n", RECORDS, (unsigned long long)left_behind);
  pthread_mutex_lock(&window.mu);
  CHECK_EQ_U64(window.head - window.tail, CAPACITY); /* full, and only the newest kept */
  CHECK_EQ_U64(window.slots[(window.head - 1) % CAPACITY].entry.lsn, RECORDS);
  CHECK_EQ_U64(qx_web_window_find(&window, 1), UINT64_MAX);
  pthread_mutex_unlock(&window.mu);
  qx_web_window_free(&window);
  return test_finish("test_web_window");
}
