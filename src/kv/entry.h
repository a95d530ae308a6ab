/* Internal entries: the unit the MemTable, the table files and the LSM engine store and order
 * (LevelDB's dbformat.h). This folder is the floor under memtable/, sstable/ and lsm/: it
 * includes nothing of theirs.
 *
 * An internal entry is (user key, LSN, kind, value). Entries are ordered by user key ascending
 * (memcmp; a key that is a prefix of another sorts first), then by LSN descending, so that the
 * first entry at or after (key, snapshot_lsn) is the newest version of key visible at that
 * snapshot. A delete is an entry of kind QX_KIND_DELETE with an empty value (a tombstone). */
#ifndef QX_KV_ENTRY_H
#define QX_KV_ENTRY_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "qaxdb/db.h" /* QX_DB_MAX_KEY, QX_DB_MAX_VALUE */

enum qx_entry_kind { QX_KIND_DELETE = 0, QX_KIND_PUT = 1 };

typedef struct qx_ientry {
  const uint8_t *key;
  uint32_t key_len;
  uint8_t kind; /* enum qx_entry_kind */
  uint64_t lsn;
  const void *value; /* 8-byte aligned; valid until the iterator moves or is destroyed */
  uint32_t value_len;
} qx_ientry;

/* Compares user keys as bytes. */
static inline int qx_user_key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen) {
  int c = memcmp(a, b, alen < blen ? alen : blen);
  if (c != 0) return c;
  return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/* Compares internal keys: user key ascending, then LSN descending. */
static inline int qx_ikey_cmp(const uint8_t *a, size_t alen, uint64_t alsn, const uint8_t *b,
                              size_t blen, uint64_t blsn) {
  int c = qx_user_key_cmp(a, alen, b, blen);
  if (c != 0) return c;
  return alsn > blsn ? -1 : alsn < blsn ? 1 : 0;
}

#endif
