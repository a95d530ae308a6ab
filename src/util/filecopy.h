/* Putting a file's bytes under a second name: a hard link where the file never changes, a
 * synced copy where it may change or where a link cannot cross filesystems. Used by database
 * snapshots and restores (src/lsm/snapshot.c, restore.c). */
#ifndef QX_UTIL_FILECOPY_H
#define QX_UTIL_FILECOPY_H

/* Copies from to a new file to (which must not exist) and fsyncs it. */
int qx_copy_file(const char *from, const char *to);
/* Hard-links from as to, or copies it (qx_copy_file) when they are on different filesystems
 * or the filesystem has no hard links. Only for files nobody writes again. */
int qx_link_or_copy(const char *from, const char *to);

#endif
