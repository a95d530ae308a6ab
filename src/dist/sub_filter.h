/* A subscriber's filters (qx_sub_options): table, instrument and account. */
#ifndef QX_DIST_SUB_FILTER_H
#define QX_DIST_SUB_FILTER_H

#include "qaxdb/sub.h"

/* 1 if record e passes every filter of o. */
int qx_sub_filter_match(const qx_sub_options *o, const qx_wal_entry *e);

#endif
