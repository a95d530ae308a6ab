/* The table function qx_scan(table [, day := D]) that lets DuckDB read buffered column chunks
 * in place: each DuckDB connection that may run it is first bound to a snapshot in a scan
 * registry, and the function reads that snapshot's rows of the table (only those of trading
 * day D if given). Used by the Parquet writer (COPY from the buffers) and by SQL views (the
 * rows not yet in Parquet), so both see the same column layout and types; the functions that
 * read records from the engine write them through qx_scan_put_record for the same reason. */
#ifndef QX_OLAP_DUCK_SCAN_H
#define QX_OLAP_DUCK_SCAN_H

#include <duckdb.h>
#include <pthread.h>

#include "olap/snapshot.h"

#define QX_SCAN_MAX_CONNECTIONS 64

typedef struct qx_scan_registry {
  pthread_mutex_t mu;
  struct {
    idx_t connection_id;
    const qx_olap_snapshot *snapshot;
  } bound[QX_SCAN_MAX_CONNECTIONS];
  int count;
} qx_scan_registry;

int qx_scan_registry_init(qx_scan_registry *r);
void qx_scan_registry_destroy(qx_scan_registry *r);
/* Binds (snapshot non-NULL) or unbinds (NULL) the connection. */
int qx_scan_bind(qx_scan_registry *r, duckdb_connection con, const qx_olap_snapshot *snapshot);

/* Registers qx_scan on con's database, reading through r (which must outlive it). */
int qx_scan_register(duckdb_connection con, qx_scan_registry *r);

/* A table function of that name taking varchar_parameters VARCHARs, with projection pushdown;
 * add any other parameter, then register it, which also destroys it. */
duckdb_table_function qx_table_function_create(const char *name, int varchar_parameters);
int qx_table_function_register(duckdb_connection con, duckdb_table_function f, void *extra_info,
                               duckdb_table_function_bind_t bind, duckdb_table_function_init_t init,
                               duckdb_table_function_t function);

/* For the table functions that read records from the engine (query/lookup.c, current.c): */
/* The snapshot the connection running bind reads (NULL: none). */
const qx_olap_snapshot *qx_scan_bound_snapshot(qx_scan_registry *r, duckdb_bind_info info);
/* Declares the result columns of schema's table: its columns, then lsn and date. */
void qx_scan_declare_columns(duckdb_bind_info info, const qx_schema *schema);
/* The columns DuckDB asks for, as ids into the declared columns; free columns. */
typedef struct qx_scan_projection {
  idx_t *columns;
  idx_t count;
} qx_scan_projection;
int qx_scan_projection_init(duckdb_init_info info, qx_scan_projection *p);
/* A fixed-layout record of a table with its first columns (an older schema version's), written
 * at lsn; time_column is qx_time_column(schema). */
typedef struct qx_scan_record {
  const qx_schema *schema;
  int time_column;
  const uint8_t *record;
  uint32_t columns;
  uint64_t lsn;
} qx_scan_record;
/* Writes r's projected fields into row at of output, as qx_scan would. */
void qx_scan_put_record(const qx_scan_projection *p, duckdb_data_chunk output, idx_t at,
                        const qx_scan_record *r);

/* The DuckDB type of a column (DECIMAL(18,scale), TIMESTAMP_NS, VARCHAR, ...); the caller
 * destroys it. */
duckdb_logical_type qx_duck_type(const qx_column *col);

#endif
