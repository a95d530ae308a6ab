/* Materialized views of the analytics path, kept as partial aggregates: each flush that writes
 * a table's rows for a trading day also writes each view's partial aggregate of exactly those
 * rows (same day, same LSN range, same MANIFEST edit), merges fold a day's partials into one,
 * and SQL combines the stored partials with a partial of the rows still buffered. So a view
 * is maintained as records commit, read at the query's LSN like the tables, costs a scan of
 * its own small files instead of the whole history, and survives a crash exactly as the
 * tables do.
 *
 * Every SQL text below is a template "WITH src AS (%s) ..." whose %s is a relation: the
 * source table's rows (partial) or partial rows (combine). Partial and combined rows have the
 * same columns, date included, so combining is associative and a merge is a combine. */
#ifndef QX_OLAP_MATERIALIZED_H
#define QX_OLAP_MATERIALIZED_H

#include <stdint.h>

#include "qaxdb/schema.h"

/* Parquet table ids of the views start here, above every table id. */
#define QX_MV_ID_BASE 100

typedef struct qx_mv {
  uint16_t id;         /* Parquet table id of the view's files */
  const char *name;    /* SQL view name and folder under olap/ */
  int source_table;    /* the table whose rows it aggregates */
  const char *partial; /* template: partial rows of source rows */
  const char *combine; /* template: partial rows combined, one per view key */
  const char *select;  /* the view's columns, selected from combined rows */
} qx_mv;

/* The view with Parquet table id id, or NULL. */
const qx_mv *qx_mv_by_id(uint16_t id);
/* Every view, *count of them. */
const qx_mv *qx_mv_all(int *count);

/* The folder name of a Parquet table id (a table's or a view's), or NULL. */
const char *qx_olap_table_name(uint16_t id);

#endif
