/* Base64 (RFC 4648, the standard alphabet with '=' padding), as SCRAM and its verifiers write
 * salts, keys and proofs. */
#ifndef QX_UTIL_BASE64_H
#define QX_UTIL_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* The length of n bytes encoded, without the terminating NUL. */
#define QX_BASE64_LEN(n) (((n) + 2) / 3 * 4)

/* Writes data as base64 into out (QX_BASE64_LEN(len) + 1 bytes), NUL-terminated. */
void qx_base64_encode(const uint8_t *data, size_t len, char *out);

/* Decodes the len characters of text into out (at most cap bytes) and sets *out_len. Returns
 * 0, or -1 for anything but padded base64 that fits: a bad character, a length that
 * is not a multiple of 4, padding in the middle. */
int qx_base64_decode(const char *text, size_t len, uint8_t *out, size_t cap, size_t *out_len);

#endif
