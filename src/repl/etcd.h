/* Internal: a small etcd v3 client for the failover controller, over etcd's JSON gateway
 * (POST /v3/...) with libcurl and jansson: leases, get/put/delete, create-if-absent,
 * compare-and-swap on a key's mod revision, and listing a prefix. */
#ifndef QX_REPL_ETCD_H
#define QX_REPL_ETCD_H

#include <stddef.h>
#include <stdint.h>

#include "qaxdb/status.h"

/* A connection to an etcd cluster. It keeps one HTTP connection alive between requests and is
 * not thread-safe: use one qx_etcd from one thread at a time (one per thread if several). */
typedef struct qx_etcd qx_etcd;

/* endpoints: a comma-separated list of "http://host:port"; requests go to the endpoint that
 * last answered (the first at the start) and move on to the next on a connection error, so a
 * dead member costs one failed connect. timeout_ms bounds each request, connect included.
 * Errors of every call: QX_ERR_IO when no endpoint can be reached (naming each and curl's
 * message), QX_ERR_TIMEOUT when the request timed out, QX_ERR_FORMAT when an answer is not
 * what the gateway sends, and etcd's own errors with etcd's message (QX_ERR_NOT_FOUND for
 * gRPC's NOT_FOUND, QX_ERR_INVALID_ARG for INVALID_ARGUMENT, QX_ERR_IO otherwise). */
int qx_etcd_open(const char *endpoints, int timeout_ms, qx_etcd **out);
void qx_etcd_close(qx_etcd *etcd);

/* Grants a lease of ttl_s seconds; granted_ttl_s (may be NULL) is what etcd granted. */
int qx_etcd_lease_grant(qx_etcd *etcd, int ttl_s, int64_t *lease_id, int *granted_ttl_s);
/* Renews the lease once and sets *ttl_s (may be NULL) to its new TTL. QX_ERR_NOT_FOUND when
 * the lease has expired or was revoked (etcd answers TTL 0 or no ID). */
int qx_etcd_lease_keepalive(qx_etcd *etcd, int64_t lease_id, int *ttl_s);
/* Revokes the lease, deleting its keys. QX_ERR_NOT_FOUND if it has already expired. */
int qx_etcd_lease_revoke(qx_etcd *etcd, int64_t lease_id);

/* Reads key: the value is copied into buf (cap bytes) and NUL-terminated when there is room;
 * *len is its length. QX_ERR_TOO_LARGE (with *len the length needed) when it does not fit,
 * QX_ERR_NOT_FOUND if the key is absent. mod_revision and lease_id (0: none) may be NULL. */
int qx_etcd_get(qx_etcd *etcd, const char *key, char *buf, size_t cap, size_t *len,
                int64_t *mod_revision, int64_t *lease_id);
/* Writes key; lease_id 0 writes it without a lease. */
int qx_etcd_put(qx_etcd *etcd, const char *key, const void *value, size_t len, int64_t lease_id);
/* Writes key only if it is absent (the leader key of an election): QX_ERR_EXISTS if it is
 * there. */
int qx_etcd_create(qx_etcd *etcd, const char *key, const void *value, size_t len, int64_t lease_id);
/* Writes key only if its mod revision is still expected_mod_revision (0: the key must be
 * absent): QX_ERR_EXISTS when it changed (or appeared, or is gone). */
int qx_etcd_cas(qx_etcd *etcd, const char *key, int64_t expected_mod_revision, const void *value,
                size_t len, int64_t lease_id);
/* Deletes key; deleting an absent key is not an error. */
int qx_etcd_delete(qx_etcd *etcd, const char *key);

/* Called with each key and its value (NUL-terminated, len bytes before the NUL); a non-zero
 * return stops the listing and is what qx_etcd_get_prefix returns. */
typedef int (*qx_etcd_kv_fn)(const char *key, const char *value, size_t len, void *ctx);
/* Calls fn for every key starting with prefix, in key order, from one consistent read (the
 * whole answer is held in memory: for the controller's handful of keys, not for bulk data). */
int qx_etcd_get_prefix(qx_etcd *etcd, const char *prefix, qx_etcd_kv_fn fn, void *ctx);

#endif
