/*
 * spin: never exits, never halts, never yields, with interrupts off (or on,
 * with irqs=on). Tests that Keel can preempt, time out and destroy a VM that
 * will not cooperate.
 */
#include "guest.h"

void guest_main(uint32_t magic, const struct mb_info *mbi)
{
	volatile uint32_t counter = 0;
	/* Interrupts on: nothing is ever sent to this guest, so it needs no
	 * IDT; it is for tests that need a busy guest, not an uncooperative
	 * one (Bochs 2.7's AMD-V never preempts a guest entered with IF clear:
	 * see tests/run.py). */
	int irqs_on = strcmp(cmdline_get(mbi, "irqs", "off"), "on") == 0;

	puts("spin: a VM that never exits or halts");
	xtf_check_boot(magic, mbi);
	printf("spinning with interrupts %s\n", irqs_on ? "on" : "off");
	if (irqs_on)
		__asm__ volatile("sti");
	else
		__asm__ volatile("cli");
	for (;;)
		counter++;
}
