/* WAL segment files: naming, listing, creating (preallocated and zero-filled), header checks.
 * Entries reach a segment through a shared read-write mapping or pwritev; see wal.c for who
 * touches it when. */
#ifndef QX_WAL_SEGMENT_H
#define QX_WAL_SEGMENT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "wal/format.h"

typedef struct wal_segment {
  char path[PATH_MAX];
  int fd;
  uint8_t *map; /* whole file, PROT_READ|PROT_WRITE, MAP_SHARED */
  uint64_t size;
  uint64_t first_lsn;
  uint64_t write_offset;           /* where the next entry goes */
  int needs_dir_sync;              /* renamed into place; the directory must be synced before the
                                      entries in this segment can be called durable */
  struct wal_segment *next_sealed; /* list of full segments the flusher has still to sync */
} wal_segment;

/* Sorted list of the segment files in a directory. */
typedef struct wal_segment_list {
  uint64_t *first_lsns;
  size_t count;
} wal_segment_list;

int qx_wal_list_segments(const char *dir, wal_segment_list *out);
void qx_wal_segment_list_free(wal_segment_list *list);
void qx_wal_segment_path(char *out, size_t cap, const char *dir, uint64_t first_lsn);

/* Creates path with size bytes, reserved with fallocate and zero-filled so that later
 * fdatasyncs write only data blocks (no extent conversions, no size changes), synced and
 * mapped. The header is not written yet: see qx_wal_segment_start. */
int qx_wal_segment_create(const char *path, uint64_t size, wal_segment **out);

/* Writes the header for first_lsn into a created segment, naming the segment it follows
 * (prev_first_lsn, 0 if none). Like every change to a segment other than an appended entry, it
 * goes through the file I/O layer, not the mapping. */
int qx_wal_segment_start(wal_segment *seg, uint64_t first_lsn, uint64_t prev_first_lsn);

/* Writes the segment's header again, unchanged, and syncs it: *ns_out is how long a sync of
 * one small write takes on this disk, which sizes the commit groups (sync_group.h). */
int qx_wal_segment_time_sync(wal_segment *seg, int64_t *ns_out);

/* Writes zeros over bytes [from, to) of a segment (a torn tail being cut). */
int qx_wal_segment_zero(wal_segment *seg, uint64_t from, uint64_t to);

/* Opens and maps an existing segment read-write after checking its header. */
int qx_wal_segment_open(const char *path, uint64_t expected_first_lsn, wal_segment **out);

/* Checks the header at the start of a segment file of file_size bytes named for
 * expected_first_lsn: magic, version, sizes, CRC, first LSN. Fails with QX_ERR_FORMAT naming path.
 */
int qx_wal_check_header(const void *header, uint64_t file_size, uint64_t expected_first_lsn,
                        const char *path);

/* Why the entry at offset off of a mapped segment of size bytes is not the valid entry with
 * LSN expected_lsn ("checksum mismatch", "unwritten space", ...); NULL if it is. */
const char *qx_wal_entry_problem(const uint8_t *map, uint64_t size, uint64_t off,
                                 uint64_t expected_lsn);
void qx_wal_segment_close(wal_segment *seg);

#endif
