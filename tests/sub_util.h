/* Helpers shared by the subscriber tests: a private folder for log rings, a WAL writer with a
 * small ring over a data folder, and appends and reads of records whose payload names their LSN
 * (so that a reader can tell a gap, a duplicate or a torn record). */
#ifndef QX_TESTS_SUB_UTIL_H
#define QX_TESTS_SUB_UTIL_H

#include <limits.h>
#include <stdint.h>

#include "qaxdb/sub.h"
#include "qaxdb/wal.h"
#include "wal_util.h"

/* Rings of this process and its children go to a new folder under /dev/shm (QAXDB_SHM_DIR);
 * sub_test_remove_shm removes it with whatever rings killed writers left there. */
void sub_test_private_shm(void);
void sub_test_remove_shm(void);

/* A new data folder in dir with a WAL (1 MiB segments, the smallest ring) open for writing. */
qx_wal *sub_test_open_writer(char dir[PATH_MAX], const char *tag);
qx_wal *sub_test_reopen_writer(const char *dir);
/* The same with segments of segment_size bytes, in an existing folder. */
qx_wal *sub_test_open_writer_sized(const char *dir, uint64_t segment_size);

/* Appends count records at `none`, one per call; the record with LSN n (first_lsn, first_lsn+1,
 * ...) carries test_payload(0, n) and table 1 if n is odd, 2 if even. Checks the LSNs given. */
int sub_test_append(qx_wal *wal, uint64_t first_lsn, uint64_t count);

/* Reads up to count records, expecting LSNs first_lsn.. with intact payloads that name them;
 * returns how many came right, stopping at the first that did not (or a wait over 10 s). A
 * record whose payload the writer overwrote before it was checked counts in held_overwritten
 * if qx_sub_held_valid says so. */
extern uint64_t held_overwritten;
uint64_t sub_test_read(qx_sub *sub, uint64_t first_lsn, uint64_t count);

/* 1 if e is a record sub_test_append wrote (its payload names its LSN). */
int sub_test_record_ok(const qx_wal_entry *e);

/* How many records of sub_test_append from LSN 1 on fill at least bytes of a ring. */
uint64_t sub_test_records_for(uint64_t bytes);

#endif
