/* The MemTable: the newest writes of the LSM engine, held in a skiplist in an arena.
 *
 * Thread-safety contract (as LevelDB's skiplist):
 *   1. Writes (qx_memtable_add) need external synchronisation: one writer at a time.
 *   2. Reads (get, iterators) need no lock at all and may run concurrently with the writer;
 *      they need only that the memtable outlives them, which a reference (ref/unref, or the
 *      reference an iterator holds) guarantees.
 * Invariants:
 *   1. Nodes are never deleted or moved until the memtable is destroyed; the arena frees them
 *      all at once.
 *   2. A node is fully written before it is published with a release store into its
 *      predecessor's next pointer; readers follow pointers with acquire loads, so a reader
 *      that sees a node sees all of it.
 *   3. The level-0 list holds every node in internal-key order (user key asc, LSN desc);
 *      higher levels are sub-lists used only to skip ahead.
 * An update or delete of a key is a new node with a higher LSN; nothing is overwritten. */
#ifndef QX_MEMTABLE_MEMTABLE_H
#define QX_MEMTABLE_MEMTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "kv/iter.h"

typedef struct qx_memtable qx_memtable;

/* Creates an empty memtable with one reference. size_limit is the size at which the owner
 * should switch to a fresh table (qx_memtable_full); adds never fail for lack of room. */
int qx_memtable_create(size_t size_limit, qx_memtable **out);
void qx_memtable_ref(qx_memtable *mt);
void qx_memtable_unref(qx_memtable *mt); /* frees everything at the last reference */

/* Adds an entry. REQUIRES: external synchronisation among writers; (key, lsn) not present;
 * key_len <= QX_DB_MAX_KEY, value_len <= QX_DB_MAX_VALUE. Returns QX_OK or QX_ERR_NOMEM. */
int qx_memtable_add(qx_memtable *mt, const uint8_t *key, size_t key_len, uint64_t lsn, uint8_t kind,
                    const void *value, size_t value_len);

/* Finds the newest entry of key with LSN <= snapshot_lsn. Returns 1 and fills *out (value
 * points into the arena, 8-byte aligned, valid while the memtable lives) or 0 if none. */
int qx_memtable_get(const qx_memtable *mt, const uint8_t *key, size_t key_len,
                    uint64_t snapshot_lsn, qx_ientry *out);

/* An iterator over all entries; it holds a reference to mt until destroyed. */
int qx_memtable_iter_create(qx_memtable *mt, qx_iter **out);

size_t qx_memtable_memory_usage(const qx_memtable *mt); /* bytes taken from the system */
int qx_memtable_full(const qx_memtable *mt);            /* usage >= size_limit */
uint64_t qx_memtable_entry_count(const qx_memtable *mt);
uint64_t qx_memtable_max_lsn(const qx_memtable *mt); /* highest LSN added, 0 if empty */

#endif
