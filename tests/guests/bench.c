/*
 * bench: cost of the operations that exit to the hypervisor, in TSC ticks per
 * iteration. Run under plain QEMU with -icount it gives the native baseline.
 */
#include "guest.h"

#define UART_LSR 0x3FD
#define UART_SCR 0x3FF /* scratch register: a write with no side effects */

static uint64_t time_empty(uint32_t n)
{
	uint64_t t0 = rdtsc_fenced();

	for (uint32_t i = n; i; i--)
		__asm__ volatile("");
	return rdtsc_fenced() - t0;
}

static uint64_t time_cpuid(uint32_t n)
{
	uint64_t t0 = rdtsc_fenced();

	for (uint32_t i = n; i; i--) {
		uint32_t a = 0, b, c = 0, d;

		__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	}
	return rdtsc_fenced() - t0;
}

static uint64_t time_pio_in(uint32_t n)
{
	uint64_t t0 = rdtsc_fenced();

	for (uint32_t i = n; i; i--)
		(void)inb(UART_LSR);
	return rdtsc_fenced() - t0;
}

static uint64_t time_pio_out(uint32_t n)
{
	uint64_t t0 = rdtsc_fenced();

	for (uint32_t i = n; i; i--)
		outb(UART_SCR, 0);
	return rdtsc_fenced() - t0;
}

static const struct {
	const char *name;
	uint64_t (*fn)(uint32_t n);
} benches[] = {
    {"empty", time_empty},
    {"cpuid", time_cpuid},
    {"pio_in", time_pio_in},
    {"pio_out", time_pio_out},
};

void guest_main(uint32_t magic, const struct mb_info *mbi)
{
	uint32_t iters;

	puts("bench: cost of hypervisor exits in TSC ticks");
	xtf_check_boot(magic, mbi);
	iters = cmdline_get_u32(mbi, "iters", 10000);
	if (!iters)
		xtf_error("iters must be at least 1");
	printf("bench: %u iterations each\n", iters);

	for (unsigned int i = 0; i < sizeof(benches) / sizeof(benches[0]); i++) {
		/* A short warm-up first, so first-touch costs do not skew small runs. */
		benches[i].fn(iters < 16 ? iters : 16);
		printf("BENCH %s %llu ticks/iter\n", benches[i].name,
		       div64_32(benches[i].fn(iters), iters, NULL));
	}
	xtf_success("bench %u iterations", iters);
}
