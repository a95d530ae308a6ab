/* Rebuilding an engine's version from its MANIFEST at open (recover.c). */
#ifndef QX_LSM_RECOVER_H
#define QX_LSM_RECOVER_H

#include <stdint.h>

#include "lsm/db_impl.h"

/* The live files named by a MANIFEST, before any is opened. */
typedef struct qx_live_files {
  qx_version_edit all; /* one "add" per live file */
  uint64_t checkpoint_lsn;
  uint64_t next_file_number;
} qx_live_files;

/* Replays dir's MANIFEST into *out (empty if there is none); the caller frees out->all. */
int qx_read_live_files(const char *dir, qx_live_files *out, uint64_t *torn_manifest_bytes);

/* Sets db->current, db->next_file_number and db->manifest (a fresh MANIFEST). A torn last
 * MANIFEST edit is dropped and its size reported in *torn_manifest_bytes; table files no
 * version names are deleted and counted in *orphans. */
int qx_recover_version(qx_db *db, uint64_t *torn_manifest_bytes, uint64_t *orphans);

#endif
