/*
 * spin: never exits, never halts, never yields, with interrupts off. Tests
 * that Keel can preempt, time out and destroy a VM that will not cooperate.
 */
#include "guest.h"

void guest_main(uint32_t magic, const struct mb_info *mbi)
{
	volatile uint32_t counter = 0;

	puts("spin: a VM that never exits or halts");
	xtf_check_boot(magic, mbi);
	puts("spinning with interrupts off");
	__asm__ volatile("cli");
	for (;;)
		counter++;
}
