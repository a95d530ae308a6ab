/* Recomputing the checksums of a file image in memory, so that a mutated input reaches the code
 * behind the checksum checks (mode bit 0 of the binary fuzz targets) and a crafted seed is a
 * file whose only defect is the one it was made to have (make_seeds.c). Each function walks
 * the structure only as far as it lies inside the image and leaves everything else alone. */
#ifndef QX_TESTS_FUZZ_FIX_CHECKSUMS_H
#define QX_TESTS_FUZZ_FIX_CHECKSUMS_H

#include <stddef.h>
#include <stdint.h>

/* Every data block's trailer CRC reachable through the index, then the index, bloom filter and
 * footer CRCs (docs/formats/sstable.md). */
void fuzz_fix_sstable(uint8_t *image, size_t size);

/* The segment header (its segment size set to size, then its CRC) and the CRC of each entry
 * of the chain from offset 64 while the entry sizes fit (docs/formats/wal.md). */
void fuzz_fix_wal_segment(uint8_t *image, size_t size);

/* The header CRC and the CRC of each framed edit while the lengths fit
 * (docs/formats/manifest.md). */
void fuzz_fix_manifest(uint8_t *image, size_t size);

#endif
