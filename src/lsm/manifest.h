/* The MANIFEST: the log of version edits that says which table files are live at which level
 * and up to which LSN they hold every write (docs/formats/manifest.md).
 *
 * CURRENT names the live MANIFEST-<n> file and is replaced atomically (write a temporary file,
 * fsync, rename, fsync the directory). Each edit is one framed record: u32 length, u32 CRC32C
 * of the payload, payload; it is fsynced before the files it adds are used or the files it
 * removes are deleted. A torn last record is a crash during an edit that was never acted on:
 * it is dropped and reported. A bad checksum before the last record is corruption. */
#ifndef QX_LSM_MANIFEST_H
#define QX_LSM_MANIFEST_H

#include <stdint.h>

#include "lsm/version.h"

typedef struct qx_manifest qx_manifest;

/* Called for each edit read back, in order; return non-zero to stop with that status. */
typedef int (*qx_edit_visit_fn)(const qx_version_edit *edit, void *ctx);

/* Reads the MANIFEST named by dir/CURRENT. Returns QX_ERR_NOT_FOUND if there is no CURRENT
 * (a new database). *torn_bytes receives the size of a dropped torn tail (0 if none). */
int qx_manifest_read(const char *dir, qx_edit_visit_fn visit, void *ctx, uint64_t *torn_bytes);

/* Starts MANIFEST-<number> holding one edit that describes v, next_file_number and the
 * folder's totals, fsyncs it, points CURRENT at it and deletes older MANIFEST files. */
int qx_manifest_create(const char *dir, uint64_t number, const qx_version *v,
                       uint64_t next_file_number, const qx_totals *totals, qx_manifest **out);
/* Appends an edit and fsyncs. */
int qx_manifest_append(qx_manifest *m, const qx_version_edit *edit);
void qx_manifest_close(qx_manifest *m);

/* The path of the MANIFEST named by CURRENT (for qaxdb check). */
int qx_manifest_current_path(const char *dir, char *out, size_t cap);

#endif
