/*
 * flat: a raw binary entered at its first byte. flat_entry.S has already
 * checked that it runs where it was linked, so absolute addresses are valid.
 */
#include "guest.h"

void flat_main(uint32_t running_at);

void flat_main(uint32_t running_at)
{
	printf("flat binary guest running at 0x%x\n", running_at);
	xtf_success("flat");
}
