/* The log ring: the head of the log in shared memory, written by the WAL writer and read in place
 * by subscribers in other processes. docs/formats/ring.md is the reference for the layout and
 * for the lock-free protocol between the writer and its readers; keep the two in step. */
#ifndef QX_DIST_RING_H
#define QX_DIST_RING_H

#include <limits.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "qaxdb/wal.h"

#define QX_RING_MAGIC "QAXDBRNG"
#define QX_RING_FORMAT_VERSION 1u
#define QX_RING_HEADER_SIZE 4096u
#define QX_RING_MIN_CAPACITY (4u << 20)      /* room for the largest frame, four times */
#define QX_RING_INDEX_EVERY 64u              /* LSNs between index slots */
#define QX_RING_BYTES_PER_SLOT 2048u         /* capacity / this = index slots */
#define QX_RING_HEARTBEAT_NS 100000000       /* the writer's heartbeat period */
#define QX_RING_WRITER_TIMEOUT_NS 1000000000 /* a heartbeat older than this: writer stalled */

typedef struct qx_ring_header {
  char magic[8];
  uint32_t format_version;
  uint32_t header_size;
  uint64_t capacity;
  uint64_t index_slots;
  uint64_t generation;
  uint64_t first_lsn;
  uint32_t writer_pid;
  uint32_t crc;       /* of bytes 0..51 */
  uint64_t wal_inode; /* offset 56: the WAL folder's inode, so a recreated folder is not taken
                         for the one whose ring this is */
  _Atomic uint64_t reserved; /* offset 64 */
  uint8_t pad1[56];
  _Atomic uint64_t published; /* offset 128 */
  _Atomic uint64_t published_lsn;
  uint8_t pad2[48];
  _Atomic int64_t heartbeat_ns; /* offset 192 */
  _Atomic uint32_t closed;
  uint32_t pad3;
  _Atomic uint64_t flushed_lsn;      /* offset 208: every LSN up to it is in the segment files */
  _Atomic uint64_t flushed_position; /* offset 216: where the frame after flushed_lsn starts */
  uint8_t pad4[32];
  char wal_dir[1024]; /* offset 256 */
} qx_ring_header;
_Static_assert(offsetof(qx_ring_header, reserved) == 64, "ring layout");
_Static_assert(offsetof(qx_ring_header, published) == 128, "ring layout");
_Static_assert(offsetof(qx_ring_header, heartbeat_ns) == 192, "ring layout");
_Static_assert(offsetof(qx_ring_header, flushed_lsn) == 208, "ring layout");
_Static_assert(offsetof(qx_ring_header, wal_dir) == 256, "ring layout");
_Static_assert(sizeof(qx_ring_header) <= QX_RING_HEADER_SIZE, "ring header fits its page");

typedef struct qx_ring_slot {
  uint64_t lsn;
  uint64_t position;
} qx_ring_slot;

/* A mapped ring, the writer's or a reader's. */
typedef struct qx_ring {
  qx_ring_header *header;
  uint8_t *frames; /* capacity bytes */
  qx_ring_slot *index;
  size_t map_size;
  char path[PATH_MAX];
  int writer;
  uint64_t write_position; /* writer only: where the next frame goes */
} qx_ring;

/* The ring's file name for the WAL folder wal_dir (which must exist). */
int qx_ring_path(const char *wal_dir, char *out, size_t out_size);

/* Writer. Creates a ring of capacity bytes (rounded up to a power of two, at least
 * QX_RING_MIN_CAPACITY) whose first frame will carry first_lsn, paged in, and puts it in place
 * of any earlier ring of the folder. */
int qx_ring_create(const char *wal_dir, uint64_t capacity, uint64_t first_lsn, qx_ring **out);
/* Copies one WAL entry (header and payload, as in a segment) into the ring, unpublished. The
 * first entry of a batch must be preceded by qx_ring_reserve. */
void qx_ring_put(qx_ring *ring, const void *entry_header, const void *payload, uint32_t size);
/* Announces that the writer is about to write bytes more bytes (see the protocol). */
void qx_ring_reserve(qx_ring *ring, uint64_t bytes);
/* Bytes a batch of entries with these payload sizes takes at the current position. */
uint64_t qx_ring_batch_span(const qx_ring *ring, const qx_wal_record *records, size_t count);
/* Makes everything put so far visible; last_lsn is the batch's last LSN. */
void qx_ring_publish(qx_ring *ring, uint64_t last_lsn);
void qx_ring_heartbeat(qx_ring *ring);
/* The writer's flusher has written every frame up to last_lsn, which end at position, to the
 * segment files. The writer never overwrites a frame from there on. */
void qx_ring_set_flushed(qx_ring *ring, uint64_t last_lsn, uint64_t position);
/* Writer: marks the ring closed and removes its name, unless keep_name (the ring holds records
 * the files do not). Both: unmaps and frees. */
void qx_ring_close(qx_ring *ring, int keep_name);

/* Reader. Maps the folder's ring read-only; QX_ERR_NOT_FOUND if no writer has one. */
int qx_ring_attach(const char *wal_dir, qx_ring **out);
/* 1 if the file now at ring's name is another writer's ring (or gone). */
int qx_ring_replaced(const qx_ring *ring);
/* 1 if the writer is alive: not closed, its process exists, its heartbeat is recent. */
int qx_ring_writer_alive(const qx_ring *ring, int64_t now_ns);

/* What a reader found at a position. */
typedef enum qx_ring_read {
  QX_RING_FRAME,   /* a whole frame: *entry and *next are set */
  QX_RING_NOTHING, /* nothing published at or after the position yet */
  QX_RING_LAPPED,  /* the writer has overwritten the position */
} qx_ring_read;

/* Reads the frame at *position expecting LSN lsn, skipping padding (which moves *position).
 * entry->data points into the ring. QX_ERR_CORRUPT (returned through *status) names the ring,
 * the position and the LSN of a damaged frame. */
qx_ring_read qx_ring_read_frame(const qx_ring *ring, uint64_t *position, uint64_t lsn,
                                qx_wal_entry *entry, uint64_t *next, int *status);
/* Where the frame at position starts: past the padding to the end of the area if position is
 * at padding (or too near the end for a frame header), else position itself. */
uint64_t qx_ring_skip_padding(const qx_ring *ring, uint64_t position);
/* 1 if the bytes from position on may have been overwritten since they were read. */
int qx_ring_overwritten(const qx_ring *ring, uint64_t position);
/* The position of LSN lsn's frame if the ring still holds it, else UINT64_MAX. */
uint64_t qx_ring_find(const qx_ring *ring, uint64_t lsn);

#endif
