/* Conflation: the newest record per key of a batch window (see conflate.c for the keys). */
#ifndef QX_DIST_CONFLATE_H
#define QX_DIST_CONFLATE_H

#include "qaxdb/wal.h"

typedef struct qx_conflator qx_conflator;

int qx_conflator_create(qx_conflator **out);
void qx_conflator_destroy(qx_conflator *c);
/* Adds a copy of e (records come in LSN order); an earlier record of its key is dropped. */
int qx_conflator_add(qx_conflator *c, const qx_wal_entry *e);
/* The next record kept, in LSN order: 1 and *e (valid until the next clear), 0 when done. */
int qx_conflator_next(qx_conflator *c, qx_wal_entry *e);
/* Forgets every record, for the next window. */
void qx_conflator_clear(qx_conflator *c);

#endif
