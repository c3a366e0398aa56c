/*
 * hello: the smallest useful guest. Prints a greeting and `count` numbered
 * lines with a busy delay between them, so several VMs' output interleaves.
 */
#include "guest.h"

/* 40 million instructions: about 40-80 ms per line under QEMU TCG, measured. */
#define DEFAULT_DELAY 20000000

void guest_main(uint32_t magic, const struct mb_info *mbi)
{
	const char *name;
	uint32_t count, delay;

	puts("hello: console output and busy delay");
	xtf_check_boot(magic, mbi);
	name = cmdline_get(mbi, "name", "guest");
	count = cmdline_get_u32(mbi, "count", 5);
	delay = cmdline_get_u32(mbi, "delay", DEFAULT_DELAY);

	printf("hello from %s\n", name);
	for (uint32_t i = 1; i <= count; i++) {
		delay_loop(delay);
		printf("%s: line %u of %u\n", name, i, count);
	}
	xtf_success("hello %s printed %u lines", name, count);
}
