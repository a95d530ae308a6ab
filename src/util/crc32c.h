/* CRC32C (Castagnoli), the checksum of every qaxdb file format. Uses the SSE4.2 crc32
 * instruction when the CPU has it, a table otherwise; both give identical results. */
#ifndef QX_UTIL_CRC32C_H
#define QX_UTIL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extends crc (0 to start) over n bytes of data. */
uint32_t qx_crc32c(uint32_t crc, const void *data, size_t n);

/* The table implementation, exposed so a test can check the fast path against it. */
uint32_t qx_crc32c_portable(uint32_t crc, const void *data, size_t n);

#endif
