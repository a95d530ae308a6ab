/* Bytes as lowercase hexadecimal text and back: how qaxdb's own wire commands carry keys and
 * records between the CLI and the server (docs/server.md). */
#ifndef QX_UTIL_HEX_H
#define QX_UTIL_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Writes 2 * len digits and a NUL into out (2 * len + 1 bytes). */
void qx_hex_encode(const void *data, size_t len, char *out);

/* Decodes text (an even number of hex digits) into out, at most cap bytes; the length, or -1 if
 * text is not hex or does not fit. */
long qx_hex_decode(const char *text, uint8_t *out, size_t cap);

#endif
