/* The folder of a snapshot or a restore while it is built: it is filled under "<dest>.tmp" and
 * renamed to dest only when complete and synced, so dest is either absent or whole. Also the
 * SNAPSHOT marker file that says which LSN a snapshot holds and where it came from. */
#ifndef QX_LSM_SNAPSHOT_FOLDER_H
#define QX_LSM_SNAPSHOT_FOLDER_H

#include <stddef.h>
#include <stdint.h>

#define QX_SNAPSHOT_MARKER "SNAPSHOT"

/* Refuses a dest that exists and is not an empty folder, removes a "<dest>.tmp" left by an
 * interrupted attempt and creates it empty; its path goes to tmp. */
int qx_snapfolder_begin(const char *dest, char *tmp, size_t cap);
/* Fsyncs every folder under tmp, renames tmp to dest and fsyncs dest's parent. */
int qx_snapfolder_finish(const char *tmp, const char *dest);
/* Removes the tree at path (after a failure); missing is fine. */
void qx_snapfolder_remove(const char *path);

/* Writes dir/SNAPSHOT ("lsn=N", "checkpoint_lsn=N", "time=ISO-8601 UTC", "source=DIR", one a
 * line) and fsyncs it. */
int qx_snapfolder_write_marker(const char *dir, uint64_t lsn, uint64_t checkpoint_lsn,
                               const char *source);
/* Reads the LSN back from dir/SNAPSHOT: QX_ERR_NOT_FOUND if the file is missing (not a
 * snapshot), QX_ERR_CORRUPT if it has no lsn line. */
int qx_snapfolder_read_marker(const char *dir, uint64_t *lsn);

#endif
