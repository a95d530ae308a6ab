/* The typed tables of qaxdb: table ids, column types and the schema descriptor of each table.
 * Parts that handle records generically (CSV import, WAL dump, Parquet, SQL) walk these
 * descriptors instead of naming fields, so a table is described in exactly one place. */
#ifndef QAXDB_SCHEMA_H
#define QAXDB_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Table ids are stored in every WAL entry and key; never renumber them. */
enum qx_table_id {
  QX_TABLE_ORDERS = 1,
  QX_TABLE_TRADES = 2,
  QX_TABLE_ACCOUNTS = 3,
  QX_TABLE_POSITIONS = 4,
  QX_TABLE_TICKS = 5,
  QX_TABLE_ORDERBOOK_SNAPSHOTS = 6,
  QX_TABLE_KLINES = 7,
  QX_TABLE_INSTRUMENTS = 8,
};
#define QX_TABLE_MIN QX_TABLE_ORDERS
#define QX_TABLE_MAX QX_TABLE_INSTRUMENTS

enum qx_column_type {
  QX_COL_U8,        /* unsigned 8-bit integer */
  QX_COL_U32,       /* unsigned 32-bit integer */
  QX_COL_U64,       /* unsigned 64-bit integer */
  QX_COL_I64,       /* signed 64-bit integer */
  QX_COL_DECIMAL,   /* int64 fixed point: value = raw / 10^scale */
  QX_COL_TIMESTAMP, /* int64 nanoseconds since the Unix epoch, UTC */
  QX_COL_CHAR,      /* fixed-width byte string, NUL-padded, not necessarily NUL-terminated */
  QX_COL_ENUM,      /* uint8 whose values are named by enum_names */
};

typedef struct qx_column {
  const char *name;
  enum qx_column_type type;
  uint16_t offset;               /* byte offset inside the record */
  uint16_t width;                /* bytes occupied: 1, 4, 8, or the CHAR width */
  uint8_t scale;                 /* decimal digits after the point (QX_COL_DECIMAL only) */
  const char *const *enum_names; /* value i is named enum_names[i] (QX_COL_ENUM only) */
  uint8_t enum_count;
  uint16_t since_version; /* the schema version that added the column (1: always there) */
} qx_column;

/* A table's columns in version order: a new schema version appends its columns after the last
 * one and lays them out from the previous version's record size, so the columns of version v
 * are a prefix of the array and a version-v record is a prefix of the current record. */
typedef struct qx_schema {
  enum qx_table_id table_id;
  const char *name;     /* "orders", "trades", ... */
  uint16_t version;     /* current schema version, written into each new WAL entry */
  uint32_t record_size; /* sizeof the fixed-layout record of the current version */
  const qx_column *columns;
  uint32_t column_count;
  const uint16_t *key_columns; /* indexes into columns, in key order */
  uint32_t key_column_count;
  int latest_state; /* 1: newest version of a key wins; 0: append-only events */
} qx_schema;

/* The schema of a table, or NULL if the id or name is unknown. */
const qx_schema *qx_schema_by_id(int table_id);
const qx_schema *qx_schema_by_name(const char *name);

/* The number of columns a record of schema version version has (a prefix of columns), or 0 if
 * the table has no such version. */
uint32_t qx_schema_column_count(const qx_schema *schema, unsigned version);

/* The size of a record of schema version version, or 0 if the table has no such version. */
uint32_t qx_schema_record_size(const qx_schema *schema, unsigned version);

/* The schema version whose records are size bytes long, or 0 if none is. */
unsigned qx_schema_version_of_size(const qx_schema *schema, uint32_t size);

/* Index of the column called name in schema, or -1. */
int qx_schema_column_index(const qx_schema *schema, const char *name);

/* The value of enum column col named by name, or -1 if the name is not one of its values. */
int qx_column_enum_value(const qx_column *col, const char *name);

#ifdef __cplusplus
}
#endif
#endif
