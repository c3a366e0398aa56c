/*
 * triple: forces a triple fault. With an IDT limit of 0, int3 cannot be
 * delivered (#GP), neither can the #GP (#DF), nor the #DF: shutdown.
 * With idt=unmapped, paging is on (one 4 MiB page at 0) and the IDT lies
 * in unmapped memory: int3 and then each fault's delivery page-fault.
 */
#include "guest.h"

struct __attribute__((packed)) idtr {
	uint16_t limit;
	uint32_t base;
};

#define UNMAPPED_IDT 0x800000u /* above the one 4 MiB page mapped */
#define PDE_4M (1u << 0 | 1u << 1 | 1u << 7) /* present, writable, 4 MiB */
#define CR4_PSE (1u << 4)
#define CR0_PG (1u << 31)

static uint32_t page_dir[1024] __attribute__((aligned(4096)));

static void paging_on(void)
{
	uint32_t cr0, cr4;

	page_dir[0] = 0 | PDE_4M;
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	__asm__ volatile("mov %0, %%cr4" ::"r"(cr4 | CR4_PSE));
	__asm__ volatile("mov %0, %%cr3" ::"r"(page_dir) : "memory");
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	__asm__ volatile("mov %0, %%cr0" ::"r"(cr0 | CR0_PG) : "memory");
}

void guest_main(uint32_t magic, const struct mb_info *mbi)
{
	static const struct idtr empty = {0, 0};
	static const struct idtr unmapped = {0xfff, UNMAPPED_IDT};
	int unmapped_idt = !strcmp(cmdline_get(mbi, "idt", ""), "unmapped");

	puts("triple: a triple fault must stop the VM");
	xtf_check_boot(magic, mbi);
	if (unmapped_idt)
		paging_on();
	puts("about to triple fault");
	__asm__ volatile("lidt %0; int3" : : "m"(unmapped_idt ? unmapped : empty) : "memory");
	xtf_failure("int3 with an empty IDT returned");
}
