/* Status codes returned by every qaxdb call, and the per-thread detail of the last failure.
 * Every function that can fail returns an int: QX_OK (0) or one of the negative codes below.
 * qx_strerror names the code; qx_last_error says what exactly went wrong (file, offset, line). */
#ifndef QAXDB_STATUS_H
#define QAXDB_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

enum qx_status {
  QX_OK = 0,
  QX_ERR_INVALID_ARG = -1, /* a caller passed something the call does not accept */
  QX_ERR_IO = -2,          /* the operating system refused a read, write, sync or open */
  QX_ERR_CORRUPT = -3,     /* a checksum or structural check failed; data is damaged */
  QX_ERR_NOMEM = -4,       /* an allocation failed */
  QX_ERR_LOCKED = -5,      /* another process holds the data directory */
  QX_ERR_NOT_FOUND = -6,   /* the requested item does not exist */
  QX_ERR_FORMAT = -7,      /* a file is not a qaxdb file or has an unsupported version */
  QX_ERR_TIMEOUT = -8,     /* a wait ended before its condition held */
  QX_ERR_CLOSED = -9,      /* the handle is closing or has failed and takes no more work */
  QX_ERR_PARSE = -10,      /* text input (CSV, a number, a timestamp) is malformed */
  QX_ERR_TOO_LARGE = -11,  /* a record or batch exceeds a size limit */
  QX_ERR_SQL = -12,        /* the SQL engine rejected or failed a query (message in detail) */
  QX_ERR_DENIED = -13,     /* the statement or access is not permitted to user SQL */
  QX_ERR_LAPPED = -14,     /* a record read in place was overwritten while the caller held it */
  QX_ERR_EXISTS = -15,     /* the item exists, or changed since it was read (a lost compare-and-set) */
};

/* A short, static description of a status code ("corruption detected", ...). */
const char *qx_strerror(int status);

/* The detail of the last failure reported on the calling thread, e.g.
 * "wal/00000000000000000001.wal: checksum mismatch at offset 40960 (lsn 812)".
 * Empty string when nothing has failed. Valid until the thread's next failing call. */
const char *qx_last_error(void);

#ifdef __cplusplus
}
#endif
#endif
