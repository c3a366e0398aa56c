/* CRC-32C (Castagnoli, reflected polynomial 0x82F63B78): the checksum of
 * the datastore's metadata. Pure; hosted and freestanding. */
#ifndef KEEL_CRC32C_H
#define KEEL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continue CRC (0 to start) over LEN bytes at P. */
uint32_t crc32c(uint32_t crc, const void *p, size_t len);

#endif
