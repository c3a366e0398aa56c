/*
 * oob: touches guest-physical memory outside the VM's RAM. Keel must stop the
 * VM at that access; reaching the RESULT line means it did not.
 */
#include "guest.h"

#define MiB (1024u * 1024u)

void guest_main(uint32_t magic, const struct mb_info *mbi)
{
	uint64_t end, def;
	uint32_t addr, v;
	const char *op;
	volatile uint32_t *p;

	puts("oob: access outside guest memory must stop the VM");
	xtf_check_boot(magic, mbi);
	if (!(mbi->flags & MB_INFO_MEM))
		xtf_error("no Multiboot memory information");
	end = (uint64_t)MiB + (uint64_t)mbi->mem_upper * 1024;
	printf("oob: memory lower %u KiB, upper %u KiB, RAM ends at 0x%llx\n", mbi->mem_lower,
	       mbi->mem_upper, (unsigned long long)end);

	/* Paging is off, so only the low 4 GiB are reachable. */
	def = end + 16 * MiB;
	if (def > 0xFFFFFFFCu && !cmdline_get(mbi, "addr", NULL))
		xtf_skip("16 MiB beyond the end of RAM is above 4 GiB");
	addr = cmdline_get_u32(mbi, "addr", (uint32_t)def);
	op = cmdline_get(mbi, "op", "read");
	p = (volatile uint32_t *)(uintptr_t)addr;

	if (!strcmp(op, "write")) {
		printf("oob: writing 0x%08x\n", addr);
		*p = 0xDEADBEEF;
		xtf_failure("write outside guest memory at 0x%08x completed", addr);
	}
	if (strcmp(op, "read"))
		xtf_error("op=%s: expected read or write", op);

	printf("oob: reading 0x%08x\n", addr);
	v = *p;
	/* Only reached if the read was let through; the write is a second chance. */
	printf("oob: read returned 0x%08x, writing it back\n", v);
	*p = v;
	xtf_failure("read outside guest memory at 0x%08x returned 0x%08x", addr, v);
}
