/* The whole public API of libqaxdb in one include. */
#ifndef QAXDB_QAXDB_H
#define QAXDB_QAXDB_H

#include "qaxdb/key.h"
#include "qaxdb/log.h"
#include "qaxdb/records.h"
#include "qaxdb/schema.h"
#include "qaxdb/status.h"
#include "qaxdb/wal.h"

#endif
