/*
 * triple: forces a triple fault. With an IDT limit of 0, int3 cannot be
 * delivered (#GP), neither can the #GP (#DF), nor the #DF: shutdown.
 */
#include "guest.h"

struct __attribute__((packed)) idtr {
	uint16_t limit;
	uint32_t base;
};

void guest_main(uint32_t magic, const struct mb_info *mbi)
{
	static const struct idtr empty = {0, 0};

	puts("triple: a triple fault must stop the VM");
	xtf_check_boot(magic, mbi);
	puts("about to triple fault");
	__asm__ volatile("lidt %0; int3" : : "m"(empty) : "memory");
	xtf_failure("int3 with an empty IDT returned");
}
