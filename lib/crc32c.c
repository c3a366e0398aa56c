/* CRC-32C, a byte at a time with a 256-entry table built on first use (the
 * datastore checksums a few KiB per metadata update: no need for more). */
#include <keel/crc32c.h>

static uint32_t table[256];
static volatile int table_ready;

static void build_table(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		table[i] = c;
	}
	table_ready = 1; /* building twice at once is harmless: same values */
}

uint32_t crc32c(uint32_t crc, const void *p, size_t len)
{
	const uint8_t *b = p;

	if (!table_ready)
		build_table();
	crc = ~crc;
	while (len--)
		crc = table[(crc ^ *b++) & 0xFF] ^ (crc >> 8);
	return ~crc;
}
