/*
 * CRC-32 as zlib and PNG compute it (IEEE 802.3, reflected polynomial
 * 0xEDB88320, initial value and final XOR 0xFFFFFFFF), table-driven.
 */
#ifndef HASH_C_CRC32_H
#define HASH_C_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* Continue the CRC `crc` (0 to start) over data[0..len). */
uint32_t crc32_update(uint32_t crc, const uint8_t *data, size_t len);

#endif
