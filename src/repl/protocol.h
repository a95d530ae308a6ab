/* The replication stream's messages (docs/formats/replication.md). They travel inside the
 * PostgreSQL protocol's CopyData messages of a `QAXDB REPLICATE` or `QAXDB BASEBACKUP`
 * connection, so that logins, TLS and the listener are the server's own; each starts with a
 * type byte and holds big-endian integers. Every log entry carries a CRC-32C of its header and
 * payload: a replica never applies bytes the primary did not write. */
#ifndef QX_REPL_PROTOCOL_H
#define QX_REPL_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#include "qaxdb/wal.h"
#include "repl/epochs.h"
#include "util/grow.h"

/* primary -> replica */
#define QX_REPL_HELLO 'h'     /* u64 epoch, u32 n, n x (u64 epoch, u64 first_lsn): the history */
#define QX_REPL_ENTRIES 'w'   /* log entries, each as below, up to the message's end */
#define QX_REPL_KEEPALIVE 'k' /* u64 primary's last LSN, u64 epoch */
#define QX_REPL_FILE 'f'      /* base backup: u32 path length, path, u64 size; chunks follow */
#define QX_REPL_CHUNK 'c'     /* base backup: bytes of the current file */
#define QX_REPL_DONE 'e'      /* base backup: u64 LSN the copy holds every write up to */
/* replica -> primary */
#define QX_REPL_ACK 'a' /* u64 received, u64 flushed, u64 applied */

/* An entry: u64 lsn, i64 ts_ns, u16 table, u16 schema version, u32 size, u32 flags, u32 crc,
 * then size bytes. */
#define QX_REPL_ENTRY_HEADER 32
#define QX_REPL_MAX_MESSAGE (4u << 20) /* entries are packed into messages up to about this */

void qx_repl_put_u16(qx_buffer *b, uint16_t v);
void qx_repl_put_u32(qx_buffer *b, uint32_t v);
void qx_repl_put_u64(qx_buffer *b, uint64_t v);
void qx_repl_put_entry(qx_buffer *b, const qx_wal_entry *e);
void qx_repl_put_history(qx_buffer *b, const qx_epochs *h);

/* Reading a message: a cursor that fails (and stays failed) when the message is short. */
typedef struct qx_repl_reader {
  const uint8_t *p, *end;
  int short_read;
} qx_repl_reader;

uint16_t qx_repl_get_u16(qx_repl_reader *r);
uint32_t qx_repl_get_u32(qx_repl_reader *r);
uint64_t qx_repl_get_u64(qx_repl_reader *r);
const uint8_t *qx_repl_get_bytes(qx_repl_reader *r, size_t n);
/* The next entry into *e (data points into the message); QX_ERR_CORRUPT naming the LSN if its
 * checksum or length is wrong. */
int qx_repl_get_entry(qx_repl_reader *r, qx_wal_entry *e);
int qx_repl_get_history(qx_repl_reader *r, qx_epochs *h);

#endif
