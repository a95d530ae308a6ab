/* OLTP keys: table id || primary key columns, encoded so that comparing two keys with memcmp
 * orders them exactly as their logical values. The byte layout is in docs/formats/keys.md. */
#ifndef QAXDB_KEY_H
#define QAXDB_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "qaxdb/schema.h"

#ifdef __cplusplus
extern "C" {
#endif

#define QX_KEY_MAX 64 /* longest key of any built-in table, with room to grow */

#define QX_KEY_TABLE_PREFIX                                                                        \
  2 /* bytes: the big-endian table id every key of a table starts with                             \
     */

/* Writes the prefix shared by every key of table table_id; returns its length. */
size_t qx_key_table_prefix(uint16_t table_id, uint8_t out[QX_KEY_TABLE_PREFIX]);
/* Writes the key of record (a record of schema's table) into out and returns its length. */
size_t qx_key_encode(const qx_schema *schema, const void *record, uint8_t out[QX_KEY_MAX]);

/* Big-endian and sign-flipped integer encodings used inside keys, exposed for range bounds. */
void qx_key_put_u64(uint8_t out[8], uint64_t v);
void qx_key_put_i64(uint8_t out[8], int64_t v);
uint64_t qx_key_get_u64(const uint8_t in[8]);
int64_t qx_key_get_i64(const uint8_t in[8]);

#ifdef __cplusplus
}
#endif
#endif
