/* Reading the live files a MANIFEST names (recover.c), for opening a version set and for
 * qx_db_verify. */
#ifndef QX_LSM_RECOVER_H
#define QX_LSM_RECOVER_H

#include <stdint.h>

#include "lsm/version_set.h"

/* The live files named by a MANIFEST, before any is opened. */
typedef struct qx_live_files {
  qx_version_edit all; /* one "add" per live file */
  uint64_t checkpoint_lsn;
  uint64_t next_file_number;
  qx_totals totals; /* as of the last edit that carried them */
} qx_live_files;

/* Replays dir's MANIFEST into *out; QX_ERR_NOT_FOUND if dir has no CURRENT. The caller frees
 * out->all. */
int qx_read_live_files(const char *dir, qx_live_files *out, uint64_t *torn_manifest_bytes);

#endif
